package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// buildOptguard compiles this command into a temporary directory.
func buildOptguard(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "optguard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess runs bin with args and returns the first line of its standard
// output that satisfies find, turned into a value by it.
func startProcess(t *testing.T, bin string, find func(line string) (string, bool), args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := find(sc.Text()); ok {
				found <- v
				break
			}
		}
		io.Copy(io.Discard, stdout) // keep the pipe drained
	}()
	select {
	case v := <-found:
		return cmd, v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %v: did not start", bin, args)
	}
	return nil, ""
}

// rssBytes reads a process's resident set size from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestIdleBindsAndSignalShutdown runs optguard sim and optguard serve as
// processes, holds 1,000 idle binds through the proxy and checks its memory,
// then sends SIGTERM: the proxy unbinds every ESME and exits 0.
func TestIdleBindsAndSignalShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and opens 1,000 binds")
	}
	const binds = 1000
	const maxRSS = 200 << 20
	bin := buildOptguard(t)
	sim, simAddr := startProcess(t, bin, func(line string) (string, bool) {
		a, ok := strings.CutPrefix(line, "SMSC simulator listening on ")
		return a, ok
	}, "sim", "-listen", "127.0.0.1:0")
	serveCmd, addr := startProcess(t, bin, func(line string) (string, bool) {
		var rec struct{ Message, Address string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "accepting ESME connections" {
			return rec.Address, true
		}
		return "", false
	}, "serve", "-listen", "127.0.0.1:0", "-upstream", simAddr, "-admin", "off", "-data", t.TempDir())

	ctx := testenv.Context(t, 60*time.Second)
	esmes := make([]*testenv.ESME, binds)
	var g errgroup.Group
	g.SetLimit(32)
	for i := range esmes {
		g.Go(func() error {
			e, err := testenv.DialESME(ctx, addr, testenv.ESMEConfig{})
			if err != nil {
				return err
			}
			esmes[i] = e
			st, err := e.Bind(ctx, pdu.BindTransceiver, fmt.Sprintf("esme%d", i%50), "secret")
			if err == nil && st != pdu.ESME_ROK {
				err = fmt.Errorf("bind %d: %s", i, st)
			}
			return err
		})
	}
	defer func() {
		for _, e := range esmes {
			if e != nil {
				e.Close()
			}
		}
	}()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let buffers of the bind burst shrink back
	rss := rssBytes(t, serveCmd.Process.Pid)
	t.Logf("optguard serve with %d idle binds: RSS %.1f MiB", binds, float64(rss)/(1<<20))
	if rss > maxRSS {
		t.Errorf("RSS %.1f MiB with %d idle binds, want under %d MiB", float64(rss)/(1<<20), binds, maxRSS>>20)
	}

	start := time.Now()
	if err := serveCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- serveCmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("optguard serve exited with %v after SIGTERM, want exit 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("optguard serve did not exit within 20 s of SIGTERM")
	}
	t.Logf("SIGTERM → exit 0 in %s with %d binds", time.Since(start).Round(time.Millisecond), binds)
	var unbound sync.WaitGroup
	notUnbound := 0
	var mu sync.Mutex
	for _, e := range esmes {
		unbound.Add(1)
		go func() {
			defer unbound.Done()
			select {
			case <-e.Done():
			case <-time.After(5 * time.Second):
			}
			got := false
			for _, r := range e.Received() {
				got = got || r.Header.ID == pdu.Unbind
			}
			if !got {
				mu.Lock()
				notUnbound++
				mu.Unlock()
			}
		}()
	}
	unbound.Wait()
	if notUnbound > 0 {
		t.Errorf("%d of %d ESMEs were not sent an unbind at shutdown", notUnbound, binds)
	}
	if err := sim.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := sim.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("optguard sim exited with %v after SIGTERM", err)
	}
}
