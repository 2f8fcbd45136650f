package testenv

import (
	"bytes"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

func TestRunLoad(t *testing.T) {
	timing(t, 3, func(a *attempt) {
		s := startSMSC(t, SMSCConfig{Accounts: map[string]string{"load": "pw"}})
		defer s.Close()
		res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
			Addr: s.Addr(), Binds: 2, Window: 64, Duration: time.Second, Warmup: 100 * time.Millisecond,
			SystemID: "load", Password: "pw", VaryDest: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res.Format(&out)
		t.Logf("\n%s", out.String())
		for _, want := range []string{"submit_sm/s", "p50", "p999", "ESME_ROK"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("Format output lacks %q", want)
			}
		}
		if res.Responses == 0 || res.Sent == 0 {
			a.Errorf("no traffic: sent %d, responses %d", res.Sent, res.Responses)
			return
		}
		if len(res.ByStatus) != 1 || res.ByStatus[pdu.ESME_ROK] != res.Responses {
			t.Errorf("statuses %v, want all %d ESME_ROK", res.ByStatus, res.Responses)
		}
		if len(res.Errors) != 0 {
			a.Errorf("errors: %v", res.Errors)
		}
		// Every measured request was answered (drain), and none twice.
		if res.Responses != res.Sent {
			a.Errorf("sent %d, responses %d", res.Sent, res.Responses)
		}
		// The simulator saw the warmup too, and the unbinds.
		if got := uint64(s.Count(pdu.SubmitSM)); got <= res.Sent {
			a.Errorf("simulator counted %d submit_sm, load measured %d (warmup excluded?)", got, res.Sent)
		}
		if s.Count(pdu.BindTransmitter) != 2 || s.Count(pdu.Unbind) != 2 {
			a.Errorf("binds %d unbinds %d", s.Count(pdu.BindTransmitter), s.Count(pdu.Unbind))
		}
		if res.Elapsed != time.Second {
			t.Errorf("elapsed %s for a 1 s run", res.Elapsed)
		}
		if math.Abs(res.PerSecond-float64(res.Responses)/res.Elapsed.Seconds()) > 1 {
			t.Errorf("per second %.0f", res.PerSecond)
		}
		l := &res.Latency
		p50, p99, p999, mx := l.Quantile(0.5), l.Quantile(0.99), l.Quantile(0.999), l.Max()
		if l.Count() != res.Responses || p50 <= 0 || p50 > p99 || p99 > p999 || p999 > mx {
			t.Errorf("latency %s", l.String())
		}
		if mx > time.Second {
			a.Errorf("latency %s", l.String())
		}
	})
}

func TestRunLoadVaryDest(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Binds: 1, Window: 8, Duration: 300 * time.Millisecond, Rate: 500, VaryDest: true,
	})
	if err != nil {
		t.Fatal(res, err)
	}
	dests := map[string]bool{}
	var m pdu.Message
	sent := 0
	for _, r := range s.Received() {
		if r.Header.ID != pdu.SubmitSM {
			continue
		}
		sent++
		if err := pdu.Scan(r.Raw, &m); err != nil {
			t.Fatal(err)
		}
		d := string(m.Dest.Addr)
		if len(d) != len("+15550002222") || !strings.HasPrefix(d, "+1555000") || dests[d] {
			t.Fatalf("destination %q (seen before: %v)", d, dests[d])
		}
		dests[d] = true
		if string(m.ShortMessage) != defaultLoadText || string(m.Source.Addr) != "+15550000001" {
			t.Fatalf("message %q from %s", m.ShortMessage, m.Source.Addr)
		}
	}
	if sent == 0 || uint64(sent) < res.Sent {
		t.Errorf("simulator got %d submit_sm, load sent %d", sent, res.Sent)
	}
}

func TestRunLoadRate(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	timing(t, 3, func(a *attempt) {
		res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
			Addr: s.Addr(), Binds: 3, Window: 128, Duration: 2 * time.Second, Rate: 2000,
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res.Format(&out)
		t.Logf("\n%s", out.String())
		if res.Responses < 3600 || res.Responses > 4400 {
			a.Errorf("%d responses at 2000/s for 2 s, want 4000±10%%", res.Responses)
		}
		if len(res.Errors) != 0 {
			a.Errorf("errors: %v", res.Errors)
		}
	})
}

func TestRunLoadRateIsSmooth(t *testing.T) {
	// 5000/s for 2 s, counted by the simulator in 100 ms slots: a limiter that
	// released each second's tokens at once would put half of them in one slot;
	// a smooth one puts about 5 % in each.
	timing(t, 3, func(a *attempt) {
		s := startSMSC(t, SMSCConfig{Record: true})
		defer s.Close()
		res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
			Addr: s.Addr(), Binds: 2, Window: 256, Duration: 2 * time.Second, Rate: 5000,
		})
		if err != nil {
			t.Fatal(err)
		}
		slots := map[int64]int{}
		var first time.Time
		total := 0
		for _, r := range s.Received() {
			if r.Header.ID != pdu.SubmitSM {
				continue
			}
			if first.IsZero() {
				first = r.At
			}
			slots[int64(r.At.Sub(first)/(100*time.Millisecond))]++
			total++
		}
		worst := 0
		for _, n := range slots {
			worst = max(worst, n)
		}
		t.Logf("%d submit_sm (%d measured responses), busiest 100 ms slot %d", total, res.Responses, worst)
		if total < 9000 || worst > total/8 {
			a.Errorf("%d submit_sm, %d in the busiest 100 ms slot", total, worst)
		}
	})
}

func TestLimiterSlots(t *testing.T) {
	// Without a stall, one writer asking for everything gets small batches
	// at about the rate, numbered in order.
	timing(t, 3, func(a *attempt) {
		l := newLimiter(newSchedule(0, []LoadPhase{{Duration: time.Minute, Rate: 5000}}))
		l.start = time.Now()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		var got, calls, biggest int64
		for time.Since(l.start) < 200*time.Millisecond {
			k, first := l.take(1000, nil, timer)
			if first != got {
				a.Errorf("batch starts at request %d, want %d", first, got)
			}
			got += k
			calls++
			biggest = max(biggest, k)
		}
		t.Logf("%d tokens in %d takes, biggest %d", got, calls, biggest)
		if got < 900 || got > 1100 || biggest > 50 {
			a.Errorf("%d tokens in 200 ms at 5000/s (biggest batch %d)", got, biggest)
		}
	})
	// After a stall, everything due is granted: the schedule does not bend
	// to the system under test (the window bounds what goes out).
	l := newLimiter(newSchedule(0, []LoadPhase{{Duration: time.Minute, Rate: 1000}}))
	l.start = time.Now().Add(-10 * time.Second)
	if k, first := l.take(1_000_000, nil, nil); k < 10000 || k > 10100 || first != 0 {
		t.Errorf("after a 10 s stall at 1000/s: %d requests from %d, want about 10,000 from 0", k, first)
	}
	// In a closed-loop phase the writer takes its whole window.
	l = newLimiter(newSchedule(0, []LoadPhase{{Duration: time.Minute}}))
	l.start = time.Now()
	if k, first := l.take(64, nil, nil); k != 64 || first != -1 {
		t.Errorf("closed loop: %d requests from %d, want 64 from -1", k, first)
	}
}

// TestScheduleRamp: the requests due over a ramp are the rate's integral,
// and timeOf inverts it.
func TestScheduleRamp(t *testing.T) {
	s := newSchedule(time.Second, []LoadPhase{
		{Duration: 10 * time.Second, Rate: 100, RateTo: 300}, // 2000 requests
		{Duration: 5 * time.Second},                          // closed loop: none due
		{Duration: 2 * time.Second, Rate: 50},                // 100 more
	})
	// The warmup runs at the first phase's starting rate: 100 requests.
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{
		{0, 0}, {time.Second, 100}, {6 * time.Second, 100 + 5*100 + 100*5*5/10.0},
		{11 * time.Second, 2100}, {14 * time.Second, 2100}, {17 * time.Second, 2150}, {time.Hour, 2200},
	} {
		if got := s.due(c.at); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("due(%s) = %g, want %g", c.at, got, c.want)
		}
		if c.at > 0 && c.at < 11*time.Second {
			if back := s.timeOf(c.want); (back - c.at).Abs() > time.Microsecond {
				t.Errorf("timeOf(%g) = %s, want %s", c.want, back, c.at)
			}
		}
	}
	if got := s.timeOf(2150); got != 17*time.Second {
		t.Errorf("request 2150 is due at %s, want 17s (in the last phase, after the closed one)", got)
	}
	if got := s.phases[s.at(12*time.Second)]; got.result != 1 || got.open() {
		t.Errorf("at 12 s: phase %+v, want the closed second phase", got)
	}
}

func TestRunLoadBindFailure(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Accounts: map[string]string{"load": "pw"}})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Binds: 2, Window: 4, Duration: 100 * time.Millisecond, SystemID: "load", Password: "bad",
	})
	// One reason, once, with the binds it stopped.
	if err == nil || !strings.Contains(err.Error(), "bind refused: ESME_RINVPASWD (all 2 binds)") || strings.Count(err.Error(), "ESME_RINVPASWD") != 1 {
		t.Fatalf("error %v", err)
	}
	if len(res.Errors) != 2 || res.Sent != 0 {
		t.Errorf("result %+v", res)
	}
	if _, err := RunLoad(Context(t, 5*time.Second), LoadConfig{Addr: s.Addr(), BindID: pdu.BindReceiver}); err == nil {
		t.Error("load on a receiver bind accepted")
	}
}

// TestRunLoadOverTLS: a bind group with TLS loads a simulator that accepts
// TLS only.
func TestRunLoadOverTLS(t *testing.T) {
	server, client := SelfSignedTLS(t)
	s := startSMSC(t, SMSCConfig{TLS: server})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Duration: 300 * time.Millisecond,
		BindGroups: []LoadBindGroup{{Count: 2, BindID: pdu.BindTransceiver, SystemID: "tls", Window: 16, TLS: client}},
	})
	if err != nil || len(res.Errors) > 0 || res.Responses == 0 || res.ByStatus[pdu.ESME_ROK] != res.Responses {
		t.Fatalf("over TLS: %v %v, %d responses %v", err, res.Errors, res.Responses, res.ByStatus)
	}
	// Without TLS the handshake-only listener gives the bind nothing.
	_, err = RunLoad(Context(t, 30*time.Second), LoadConfig{Addr: s.Addr(), Binds: 1, Duration: 100 * time.Millisecond})
	if err == nil {
		t.Error("a plain bind to a TLS-only simulator succeeded")
	}
}

func TestRunLoadStatusesAndLoss(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	s.SetSubmitStatus(pdu.ESME_RTHROTTLED)
	ctx := Context(t, 60*time.Second)
	res, err := RunLoad(ctx, LoadConfig{Addr: s.Addr(), Binds: 1, Window: 16, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Responses == 0 || res.ByStatus[pdu.ESME_RTHROTTLED] != res.Responses {
		t.Errorf("statuses %v", res.ByStatus)
	}

	// Connections dropped in the middle: reported once per bind, and the run
	// still ends on time.
	s.SetSubmitStatus(pdu.ESME_ROK)
	go func() {
		time.Sleep(200 * time.Millisecond)
		s.DropConnections()
	}()
	start := time.Now()
	res, err = RunLoad(ctx, LoadConfig{Addr: s.Addr(), Binds: 2, Window: 16, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 2 || !strings.Contains(res.Errors[0], "connection lost") {
		t.Errorf("errors %v", res.Errors)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("run took %s", el)
	}

	// Responses held: the run ends within its drain limit.
	s.HoldResponses(true)
	start = time.Now()
	res, err = RunLoad(ctx, LoadConfig{Addr: s.Addr(), Binds: 1, Window: 4, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Responses != 0 || res.Sent != 4 || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "unanswered") {
		t.Errorf("held: %+v", res)
	}
	if el := time.Since(start); el > 100*time.Millisecond+loadDrain+loadUnbindWait+3*time.Second {
		t.Errorf("held run took %s", el)
	}
}

func TestRunLoadCanceled(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	ctx := Context(t, 2*time.Second)
	start := time.Now()
	res, err := RunLoad(ctx, LoadConfig{Addr: s.Addr(), Binds: 1, Window: 16, Duration: time.Minute})
	if err == nil {
		t.Errorf("canceled run: no error, %d responses", res.Responses)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("canceled run took %s", el)
	}
}

// BenchmarkLoadDirect measures the load tools' own ceiling: RunLoad against
// the in-process simulator, 4 binds × window 256. Each iteration is a 1 s run
// after a 200 ms warmup.
func BenchmarkLoadDirect(b *testing.B) {
	s, err := StartSMSC(SMSCConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var total, responses float64
	var lat Histogram
	for b.Loop() {
		res, err := RunLoad(b.Context(), LoadConfig{
			Addr: s.Addr(), Binds: 4, Window: 256, Duration: time.Second, Warmup: 200 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
		total += res.Elapsed.Seconds()
		responses += float64(res.Responses)
		lat.Merge(&res.Latency)
	}
	b.ReportMetric(responses/total, "submit_sm/s")
	b.ReportMetric(float64(lat.Quantile(0.5))/1e3, "p50-µs")
	b.ReportMetric(float64(lat.Quantile(0.99))/1e3, "p99-µs")
	b.ReportMetric(0, "ns/op")
}

func TestLoadSteadyStateDoesNotAllocate(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	res, perMsg, err := allocsPerResponse(t, LoadConfig{
		Addr: s.Addr(), Binds: 2, Window: 128, Duration: 500 * time.Millisecond, VaryDest: true,
	})
	if err != nil || res.Responses < 10000 {
		t.Skipf("too little traffic to judge (%d responses, %v)", res.Responses, err)
	}
	if perMsg > 0.05 {
		t.Errorf("%.3f allocations per submit_sm", perMsg)
	}
}

// allocsPerResponse runs cfg and returns its result and the allocations
// the process made per response during it. Both the simulator and the load
// generator run here: whatever they allocate per run (connections,
// buffers, goroutines) is spread over many thousands of requests, while an
// allocation per PDU would show as 1 or more.
func allocsPerResponse(t *testing.T, cfg LoadConfig) (LoadResult, float64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := RunLoad(Context(t, 30*time.Second), cfg)
	runtime.ReadMemStats(&after)
	perMsg := float64(after.Mallocs-before.Mallocs) / float64(max(res.Responses, 1))
	t.Logf("%d allocations for %d requests (%d receipts): %.4f per request", after.Mallocs-before.Mallocs, res.Responses, res.Receipts, perMsg)
	return res, perMsg, err
}
