package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The 1 M consent record measurement (docs/BENCHMARKS.md):
//
//	OPTGUARD_STORE_MILLION=1 go test -run TestMillionConsents -v -timeout 30m ./store/
//
// The parent imports 1 000 000 records through Import (the operator's
// consent-list import) and closes the store; a fresh child process then
// opens it, so that its open time and resident memory are not muddied by
// the import's garbage. OPTGUARD_STORE_MILLION_DIR keeps the data (default:
// a temp dir).

const (
	millionEnv      = "OPTGUARD_STORE_MILLION"
	millionDirEnv   = "OPTGUARD_STORE_MILLION_DIR"
	millionChildEnv = "OPTGUARD_STORE_MILLION_CHILD"
	millionN        = 1_000_000
	rssLimitMiB     = 300
)

func millionScope(i int) Scope {
	return OrgScope(fmt.Sprintf("org-%d", i%100), fmt.Sprintf("+1%03d%07d", 200+i/10_000_000, i%10_000_000))
}

func TestMillionConsents(t *testing.T) {
	if os.Getenv(millionEnv) == "" {
		t.Skip("set " + millionEnv + "=1 to measure 1 M consent records")
	}
	dir := os.Getenv(millionDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := OpenBadger(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if seq, _, _ := s.Head(ctx); seq < millionN {
		start := time.Now()
		states := []State{StateOptedIn, StateOptedOut, StatePending}
		const chunk = 100_000
		changes := make([]Change, 0, chunk)
		for i := int(seq); i < millionN; i++ {
			ch := Change{
				Scope: millionScope(i), Type: EventStateImported, State: states[i%3], Mode: ModeConsent,
				OccurredAt: start.Add(-time.Duration(millionN-i) * time.Second), Method: MethodImport,
				Actor: "import", Note: "crm export 2024-05",
			}
			changes = append(changes, ch)
			if len(changes) == chunk || i == millionN-1 {
				if _, err := s.Import(ctx, changes); err != nil {
					t.Fatal(err)
				}
				changes = changes[:0]
			}
		}
		t.Logf("imported %d records in %v (peak RSS of the importing process %d MiB)",
			millionN-seq, time.Since(start).Round(time.Millisecond), procStatus("VmHWM")/1024)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	size, _ := dirSize(dir)
	t.Logf("data dir %s: %s", dir, humanBytes(size))

	cmd := exec.Command(os.Args[0], "-test.run=^TestMillionOpenChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), millionChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && strings.HasPrefix(k, "million.") {
			res[strings.TrimPrefix(k, "million.")] = v
		}
	}
	t.Logf("child: %v", res)
	rss, err := strconv.Atoi(res["rss_kib"])
	if err != nil {
		t.Fatalf("no RSS from child: %q", out)
	}
	if res["consents"] != strconv.Itoa(millionN) {
		t.Fatalf("child saw %s consents", res["consents"])
	}
	if rss/1024 >= rssLimitMiB {
		t.Fatalf("RSS %d MiB with 1 M records, limit %d MiB", rss/1024, rssLimitMiB)
	}
}

// TestMillionOpenChild opens the store TestMillionConsents built and prints
// its measurements as million.key=value lines.
func TestMillionOpenChild(t *testing.T) {
	dir := os.Getenv(millionChildEnv)
	if dir == "" {
		t.Skip("runs only as TestMillionConsents' child")
	}
	start := time.Now()
	s, err := OpenBadger(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	open := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := procStatus("VmRSS"), procStatus("VmHWM")
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// State lookups over the full index, in random order.
	order := make([]Scope, 1<<20)
	for i := range order {
		order[i] = millionScope(rand.IntN(millionN))
	}
	const lookups = 5_000_000
	start = time.Now()
	found := 0
	for i := 0; i < lookups; i++ {
		if s.State(order[i&(len(order)-1)]) != StateUnknown {
			found++
		}
	}
	lookupRate := float64(lookups) / time.Since(start).Seconds()
	if found != lookups {
		t.Fatalf("%d of %d lookups found nothing", lookups-found, lookups)
	}
	// The same through StateBytes, as the relay would: organization from
	// config, handset formatted into a reused buffer.
	orgs := make([]string, 100)
	for i := range orgs {
		orgs[i] = fmt.Sprint("org-", i)
	}
	idx := make([]int32, 1<<20)
	for i := range idx {
		idx[i] = int32(rand.IntN(millionN))
	}
	buf := make([]byte, 0, 32)
	start = time.Now()
	found = 0
	for i := 0; i < lookups; i++ {
		k := int(idx[i&(len(idx)-1)])
		buf = strconv.AppendInt(append(buf[:0], "+1200"...), int64(10_000_000+k%10_000_000), 10)
		copy(buf[5:], buf[6:])
		if s.StateBytes(orgs[k%100], nil, buf[:len(buf)-1]) != StateUnknown {
			found++
		}
	}
	bytesRate := float64(lookups) / time.Since(start).Seconds()
	if found != lookups {
		t.Fatalf("StateBytes: %d of %d lookups found nothing", lookups-found, lookups)
	}
	start = time.Now()
	if _, err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	verify := time.Since(start)

	fmt.Printf("million.open_ms=%d\n", open.Milliseconds())
	fmt.Printf("million.rss_kib=%d\n", rss)
	fmt.Printf("million.hwm_kib=%d\n", hwm)
	fmt.Printf("million.go_heap_inuse_mib=%d\n", ms.HeapInuse>>20)
	fmt.Printf("million.consents=%d\n", st.Consents)
	fmt.Printf("million.events=%d\n", st.Events)
	fmt.Printf("million.consent_db_bytes=%d\n", st.ConsentBytes)
	fmt.Printf("million.state_lookups_per_s=%.0f\n", lookupRate)
	fmt.Printf("million.state_bytes_lookups_per_s=%.0f\n", bytesRate)
	fmt.Printf("million.verify_ms=%d\n", verify.Milliseconds())
}

// procStatus reads a kB field of /proc/self/status (0 if unavailable).
func procStatus(field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
