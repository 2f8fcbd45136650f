package ratelog

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/testenv"
)

func TestBurstThenOneSummaryPerKindAndHost(t *testing.T) {
	var sink testenv.LogBuffer
	l := New(zerolog.New(&sink), Options{Interval: time.Hour, Burst: 3})
	allowed := map[string]int{}
	for i := 0; i < 1000; i++ {
		for _, remote := range []string{fmt.Sprintf("10.0.0.1:%d", 1000+i), "10.0.0.2:5000"} {
			if l.Allow("connection_limit", remote) {
				allowed[Host(remote)]++
			}
		}
		if l.Allow("unframeable_input", "10.0.0.1:1") {
			allowed["garbage"]++
		}
	}
	if allowed["10.0.0.1"] != 3 || allowed["10.0.0.2"] != 3 || allowed["garbage"] != 3 {
		t.Fatalf("allowed %v, want the first 3 of each kind and host (the port does not count)", allowed)
	}
	l.Close()
	got := map[string]float64{}
	for _, m := range sink.Lines(t) {
		if m["message"] != "repeated warnings suppressed" || m["level"] != "warn" || m["events"] != float64(1000) {
			t.Errorf("summary %v", m)
		}
		got[fmt.Sprint(m["kind"], " ", m["remote_host"])] = m["suppressed"].(float64)
	}
	want := map[string]float64{"connection_limit 10.0.0.1": 997, "connection_limit 10.0.0.2": 997, "unframeable_input 10.0.0.1": 997}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("summaries %v, want %v", got, want)
	}
}

// Beyond MaxHosts, new hosts share one entry: a flood from many addresses
// still yields a bounded number of lines.
func TestManyHostsShareOneEntry(t *testing.T) {
	var sink testenv.LogBuffer
	l := New(zerolog.New(&sink), Options{Interval: time.Hour, Burst: 1, MaxHosts: 10})
	logged := 0
	for i := 0; i < 5000; i++ {
		if l.Allow("connection_limit", fmt.Sprintf("10.1.%d.%d:4000", i/256, i%256)) {
			logged++
		}
	}
	l.Close()
	if logged != 11 { // one per tracked host, one for "*"
		t.Fatalf("%d lines allowed, want 11", logged)
	}
	s := sink.Lines(t)
	if len(s) != 1 || s[0]["remote_host"] != "*" || s[0]["suppressed"] != float64(5000-11) {
		t.Fatalf("summaries %v, want one for \"*\" with %d suppressed", s, 5000-11)
	}
}

// A new interval lets the burst through again, the summary of the last one
// is written when it ends, and the goroutine ends once an interval passes
// without events.
func TestIntervalsAndIdleEnd(t *testing.T) {
	var sink testenv.LogBuffer
	before := runtime.NumGoroutine()
	l := New(zerolog.New(&sink), Options{Interval: 50 * time.Millisecond, Burst: 2})
	for i := 0; i < 10; i++ {
		l.Allow("bind_refused", "10.0.0.9:1")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.Lines(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := sink.Lines(t); len(s) != 1 || s[0]["suppressed"] != float64(8) {
		t.Fatalf("after the interval: %v, want one summary of 8 suppressed", s)
	}
	if !l.Allow("bind_refused", "10.0.0.9:1") {
		t.Fatal("the first event of a new interval was suppressed")
	}
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines, %d before: the summary goroutine did not end when idle", n, before)
	}
	l.Close()
}
