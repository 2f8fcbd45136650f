//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestBindsAllowed(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{{0, 0}, {1024, 0}, {1025, 0}, {1026, 1}, {20000, 9488}, {65536, 32256}} {
		if got := bindsAllowed(tc.limit); got != tc.want {
			t.Errorf("bindsAllowed(%d) = %d; want %d", tc.limit, got, tc.want)
		}
	}
	if got := filesNeeded(10000); got != 21024 {
		t.Errorf("filesNeeded(10000) = %d; want 21024", got)
	}
	if got := bindsAllowed(filesNeeded(10000)); got != 10000 {
		t.Errorf("bindsAllowed(filesNeeded(10000)) = %d", got)
	}
}

// fdlimitChildEnv makes the test binary run TestFileLimitInChild: the check
// changes the process's limits, so it runs in a process of its own.
const fdlimitChildEnv = "OPTGUARD_FDLIMIT_CHILD"

func TestFileLimitCheck(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileLimitInChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), fdlimitChildEnv+"=1")
	done := make(chan struct{})
	timer := time.AfterFunc(time.Minute, func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	timer.Stop()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestFileLimitInChild") {
		t.Fatalf("the check in a child process: %v\n%s", err, out)
	}
}

// TestFileLimitInChild lowers its own limits to soft 1500, hard 3000, then
// checks that checkFileLimit raises the soft limit to 3000 and warns (once)
// that 3000 allows 988 binds when listen.max_connections wants 5000, and
// says nothing when 900 are wanted.
func TestFileLimitInChild(t *testing.T) {
	if os.Getenv(fdlimitChildEnv) == "" {
		t.Skip("run by TestFileLimitCheck in a process of its own")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1500, Max: 3000}); err != nil {
		t.Fatalf("lowering the open-file limit: %v", err)
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.InfoLevel) // as serve logs by default
	if got := checkFileLimit(log, 5000, 0); got != 3000 {
		t.Errorf("checkFileLimit returned %d; want the raised limit 3000", got)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != 3000 || lim.Max != 3000 {
		t.Errorf("limits after the check: soft %d, hard %d; want 3000 both", lim.Cur, lim.Max)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines; want one warning:\n%s", len(lines), buf.String())
	}
	var ev struct {
		Level          string `json:"level"`
		Message        string `json:"message"`
		Limit          uint64 `json:"open_file_limit"`
		Hard           uint64 `json:"hard_limit"`
		Allowed        int    `json:"binds_allowed"`
		MaxConnections int    `json:"max_connections"`
		Needed         uint64 `json:"open_files_needed"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	if ev.Level != "warn" || ev.Limit != 3000 || ev.Hard != 3000 || ev.Allowed != 988 || ev.MaxConnections != 5000 || ev.Needed != 11024 {
		t.Errorf("warning %+v; want warn, limit 3000, hard 3000, 988 binds allowed, max_connections 5000, 11024 needed", ev)
	}
	for _, want := range []string{"allows about 988 binds", "listen.max_connections (5000)", "ulimit -n 11024", "LimitNOFILE=11024"} {
		if !strings.Contains(ev.Message, want) {
			t.Errorf("warning %q does not say %q", ev.Message, want)
		}
	}

	// The idle bench refuses what the limit cannot hold, saying how many fit.
	var out, errOut bytes.Buffer
	if code := run([]string{"bench", "-idle-binds", "2000"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "-idle-binds 2000 needs about 4080 open files") ||
		!strings.Contains(errOut.String(), "the open-file limit is 3000") ||
		!strings.Contains(errOut.String(), "give -idle-binds 1460 at most") {
		t.Errorf("bench -idle-binds 2000 under a limit of 3000: exit %d, %q", code, errOut.String())
	}

	buf.Reset()
	if got := checkFileLimit(log, 900, 0); got != 3000 {
		t.Errorf("checkFileLimit(900) returned %d; want 3000", got)
	}
	if buf.Len() != 0 {
		t.Errorf("a limit that suffices logged: %s", buf.String())
	}

	// A large store's files count against the same limit: 900 binds and
	// 1,500 store files need 4,324 descriptors, and 3,000 leave room for 238
	// binds.
	if got := checkFileLimit(log, 900, 1500); got != 3000 {
		t.Errorf("checkFileLimit(900, 1500 store files) returned %d; want 3000", got)
	}
	ev.Message = ""
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if ev.Level != "warn" || ev.Allowed != 238 || ev.Needed != 4324 ||
		!strings.Contains(ev.Message, "2524 kept for the store's 1500 files") || !strings.Contains(ev.Message, "ulimit -n 4324") {
		t.Errorf("with 1500 store files: %+v; want a warning allowing 238 binds, 4324 needed, naming the store's files", ev)
	}
}
