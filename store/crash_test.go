package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs this test binary again as a child that writes to the
// store as fast as it can and prints each item only after the call that
// committed it returned; the parent SIGKILLs it at a random moment, reopens
// the store and checks that everything printed is there.

const (
	crashDirEnv   = "OPTGUARD_STORE_CRASH_DIR"
	crashRoundEnv = "OPTGUARD_STORE_CRASH_ROUND"
)

// TestCrashChild is the child's body; it only runs under the parent.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the crash test's child")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := OpenBadger(Options{Dir: dir})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		outMu.Lock()
		os.Stdout.WriteString(line) // one write per line: atomic on a pipe
		outMu.Unlock()
	}
	say("ready\n")
	types := []EventType{EventConsentRequested, EventOptedIn, EventOptedOut, EventHelpSent}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				sc := OrgScope("crash", num(g*100+i%7))
				ch := change(sc, types[(i+g)%len(types)], time.Now())
				a, err := s.Apply(ctx, ch)
				if err != nil {
					say("error %v\n", err)
					continue
				}
				say("event %d %s %s\n", a.Event.Seq, sc.Number, a.Event.NewState)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := 0; ; j++ {
			sc := OrgScope("crash-hold", num(500+j%5))
			id := fmt.Sprintf("r%s-h%d", round, j)
			if _, err := s.Hold(ctx, HeldMessage{ID: id, Scope: sc, SystemID: "esme", PDU: pdu(j)}); err == nil {
				say("hold %s\n", id)
			} else if j%5 == 0 {
				// The queue is full or the scope settled: release it,
				// acknowledge part of the outbox, and reset the scope.
				ch := change(sc, EventOptedIn, time.Now())
				ch.Holds = ReleaseHeld
				if a, err := s.Apply(ctx, ch); err == nil {
					say("event %d %s %s\n", a.Event.Seq, sc.Number, a.Event.NewState)
					for k, m := range a.Released {
						if k%2 == 0 {
							say("acking %s\n", m.ID)
							s.Ack(ctx, m.ID)
						}
					}
				}
				reset := change(sc, EventReset, time.Now())
				if a, err := s.Apply(ctx, reset); err == nil {
					say("event %d %s %s\n", a.Event.Seq, sc.Number, a.Event.NewState)
				}
			}
		}
	}()
	wg.Wait()
}

type crashLog struct {
	events map[uint64][2]string // seq → number, new state
	holds  []string
	acking map[string]bool
	ready  bool
}

func runCrashChild(t *testing.T, dir string, round int, kill time.Duration) crashLog {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := crashLog{events: map[uint64][2]string{}, acking: map[string]bool{}}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "ready":
				log.ready = true
				close(ready)
			case len(f) == 4 && f[0] == "event":
				seq, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Errorf("bad line %q", sc.Text())
				}
				log.events[seq] = [2]string{f[2], f[3]}
			case len(f) == 2 && f[0] == "hold":
				log.holds = append(log.holds, f[1])
			case len(f) == 2 && f[0] == "acking":
				log.acking[f[1]] = true
			case len(f) > 0 && (f[0] == "error" || f[0] == "open-error"):
				t.Errorf("child: %s", sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child did not start")
	}
	time.Sleep(kill)
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	cmd.Wait()
	return log
}

func TestCrashRecovery(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	start := time.Now()
	var totalEvents, totalHolds int
	for round := 0; round < rounds; round++ {
		log := runCrashChild(t, dir, round, time.Duration(rand.IntN(250))*time.Millisecond)
		if t.Failed() {
			return
		}
		s, err := OpenBadger(Options{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
		}
		for seq, want := range log.events {
			ev, err := s.Event(ctx, seq)
			if err != nil {
				t.Fatalf("round %d: acknowledged event %d lost: %v", round, seq, err)
			}
			if ev.Scope.Number != want[0] || ev.NewState.String() != want[1] {
				t.Fatalf("round %d: event %d is %s %s, child saw %v", round, seq, ev.Scope.Number, ev.NewState, want)
			}
		}
		for _, id := range log.holds {
			if log.acking[id] {
				continue
			}
			if _, err := s.GetHeld(ctx, id); err != nil {
				t.Fatalf("round %d: acknowledged held message %s lost: %v", round, id, err)
			}
		}
		if _, err := s.Verify(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rep, err := s.CheckIndex(ctx)
		if err != nil || !rep.Agrees() || rep.PrevStateMismatches != 0 {
			t.Fatalf("round %d: index vs ledger: %+v %v", round, rep, err)
		}
		totalEvents += len(log.events)
		totalHolds += len(log.holds)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds in %v: %d acknowledged events and %d holds checked", rounds, time.Since(start).Round(time.Millisecond), totalEvents, totalHolds)
	if totalEvents == 0 || totalHolds == 0 {
		t.Fatal("the child never got anything acknowledged; the test proved nothing")
	}
}
