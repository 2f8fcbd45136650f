package testenv

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// within fails unless got is within four standard deviations of a binomial
// count of share out of n.
func within(t *testing.T, what string, got, n int, share float64) {
	t.Helper()
	want := float64(n) * share
	sd := math.Sqrt(float64(n) * share * (1 - share))
	if math.Abs(float64(got)-want) > 4*sd+1 {
		t.Errorf("%s: %d of %d, want about %.0f (±%.0f)", what, got, n, want, 4*sd)
	}
}

// TestLoadProfileOnTheWire sends submit_sm asking for receipts to a
// simulator with refusal, drop and receipt-state shares, and counts what
// came back: every request is answered once or not at all, the statuses
// and the receipts' states in their shares.
func TestLoadProfileOnTheWire(t *testing.T) {
	const n = 4000
	prof := &LoadProfile{
		Errors:   []StatusShare{{pdu.ESME_RTHROTTLED, 0.05}, {pdu.ESME_RSUBMITFAIL, 0.02}},
		Drop:     0.03,
		Receipts: []ReceiptShare{{"DELIVRD", 0.85}, {"UNDELIV", 0.1}, {"EXPIRED", 0.05}},
		Seed:     42,
	}
	s := startSMSC(t, SMSCConfig{Load: prof, AutoReceipts: true})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	m := sm("load")
	m.RegisteredDelivery = 1
	raw, err := pdu.AppendSubmitSM(nil, 0, m)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make(map[uint32]bool, n)
	for range n {
		seq, err := e.Send(raw)
		if err != nil {
			t.Fatal(err)
		}
		seqs[seq] = false
	}
	Eventually(t, 10*time.Second, func() bool { return s.Count(pdu.SubmitSM) == n }, "submit_sm not all received")
	byStatus := map[pdu.Status]int{}
	answered := 0
	ctx := Context(t, 10*time.Second)
	idle := time.NewTimer(time.Second) // once the simulator has read them all, what is not answered by now never will be
	defer idle.Stop()
collect:
	for {
		select {
		case r := <-e.Responses():
			h, _ := pdu.ParseHeader(r)
			if done, ok := seqs[h.Seq]; !ok || done {
				t.Fatalf("a response to seq %d that was not asked for or came twice", h.Seq)
			}
			seqs[h.Seq] = true
			byStatus[h.Status]++
			answered++
			idle.Reset(time.Second)
		case <-idle.C:
			break collect
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	within(t, "unanswered", n-answered, n, prof.Drop)
	within(t, "ESME_RTHROTTLED", byStatus[pdu.ESME_RTHROTTLED], n, 0.05)
	within(t, "ESME_RSUBMITFAIL", byStatus[pdu.ESME_RSUBMITFAIL], n, 0.02)
	ok := byStatus[pdu.ESME_ROK]
	if ok+byStatus[pdu.ESME_RTHROTTLED]+byStatus[pdu.ESME_RSUBMITFAIL] != answered {
		t.Errorf("statuses %v: some not in the profile", byStatus)
	}

	// A receipt for each submission accepted, none for the others.
	stats := map[string]int{}
	for range ok {
		d, err := e.NextDeliver(ctx)
		if err != nil {
			t.Fatalf("%d receipts of %d: %v", len(stats), ok, err)
		}
		var dm pdu.Message
		if err := pdu.Scan(d, &dm); err != nil {
			t.Fatal(err)
		}
		text := string(dm.UserData())
		i := strings.Index(text, "stat:")
		if i < 0 {
			t.Fatalf("receipt without stat: %q", text)
		}
		stats[strings.Fields(text[i+5:])[0]]++
	}
	within(t, "UNDELIV receipts", stats["UNDELIV"], ok, 0.1)
	within(t, "EXPIRED receipts", stats["EXPIRED"], ok, 0.05)
	if stats["DELIVRD"]+stats["UNDELIV"]+stats["EXPIRED"] != ok {
		t.Errorf("receipt states %v", stats)
	}
	if extra, err := e.NextDeliver(Context(t, 200*time.Millisecond)); err == nil {
		t.Errorf("a receipt beyond the %d accepted: % x", ok, extra)
	}

	// The simulator's own counts say the same.
	st := s.Stats()
	if st.Received[pdu.SubmitSM] != n || st.Dropped != uint64(n-answered) || len(st.Answered) != len(byStatus) {
		t.Errorf("Stats %+v: %d submit_sm, %d unanswered, answers %v", st, n, n-answered, byStatus)
	}
	for code, c := range byStatus {
		if st.Answered[code] != uint64(c) {
			t.Errorf("Stats: %d answers %s, the client got %d", st.Answered[code], code, c)
		}
	}
	for stat, c := range stats {
		if st.Receipts[stat] != uint64(c) {
			t.Errorf("Stats: %d receipts %s, the client got %d", st.Receipts[stat], stat, c)
		}
	}
}

// TestLoadLatencyOnTheWire: a fixed latency holds every answer back by it.
func TestLoadLatencyOnTheWire(t *testing.T) {
	const lat = 60 * time.Millisecond
	s := startSMSC(t, SMSCConfig{Load: &LoadProfile{Latency: Latency{Kind: LatencyFixed, Base: lat}}})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	for range 3 {
		start := time.Now()
		r, err := e.Submit(Context(t, 5*time.Second), sm("slow"))
		if err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("submit: %+v %v", r, err)
		}
		if took := time.Since(start); took < lat {
			t.Errorf("answered after %v, want at least %v", took, lat)
		}
	}
}

func TestLatencyDraws(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	draw := func(l Latency, n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = l.draw(r)
		}
		slices.Sort(d)
		return d
	}
	if d := draw(Latency{Kind: LatencyFixed, Base: 7 * time.Millisecond}, 100); d[0] != d[99] || d[0] != 7*time.Millisecond {
		t.Errorf("fixed: %v … %v", d[0], d[99])
	}
	u := draw(Latency{Kind: LatencyUniform, Base: time.Millisecond, Max: 9 * time.Millisecond}, 20000)
	if u[0] < time.Millisecond || u[len(u)-1] > 9*time.Millisecond {
		t.Errorf("uniform 1ms-9ms: %v … %v", u[0], u[len(u)-1])
	}
	if med := u[len(u)/2]; med < 4800*time.Microsecond || med > 5200*time.Microsecond {
		t.Errorf("uniform 1ms-9ms: median %v, want about 5ms", med)
	}
	l := draw(Latency{Kind: LatencyLogNormal, Base: 5 * time.Millisecond, Sigma: 0.5, Max: 40 * time.Millisecond}, 20000)
	if med := l[len(l)/2]; med < 4800*time.Microsecond || med > 5200*time.Microsecond {
		t.Errorf("log-normal median 5ms: median %v", med)
	}
	// exp(0.5 × 1.2816) ≈ 1.90: the 90th percentile of sigma 0.5.
	if p90 := l[len(l)*9/10]; p90 < 9*time.Millisecond || p90 > 10*time.Millisecond {
		t.Errorf("log-normal sigma 0.5: p90 %v, want about 9.5ms", p90)
	}
	if l[len(l)-1] > 40*time.Millisecond {
		t.Errorf("log-normal capped at 40ms: max %v", l[len(l)-1])
	}
	// Cap is the longest any draw can be.
	for _, c := range []struct {
		l    Latency
		want time.Duration
	}{
		{Latency{}, 0},
		{Latency{Kind: LatencyFixed, Base: 7 * time.Millisecond}, 7 * time.Millisecond},
		{Latency{Kind: LatencyUniform, Base: time.Millisecond, Max: 9 * time.Millisecond}, 9 * time.Millisecond},
		{Latency{Kind: LatencyLogNormal, Base: 5 * time.Millisecond, Max: 40 * time.Millisecond}, 40 * time.Millisecond},
		{Latency{Kind: LatencyLogNormal, Base: 5 * time.Millisecond}, 500 * time.Millisecond},
	} {
		if got := c.l.Cap(); got != c.want {
			t.Errorf("%+v: cap %s, want %s", c.l, got, c.want)
		}
	}
}

func TestParseLoadSpecs(t *testing.T) {
	for in, want := range map[string]Latency{
		"":                        {},
		"fixed:5ms":               {Kind: LatencyFixed, Base: 5 * time.Millisecond},
		"uniform:1ms-20ms":        {Kind: LatencyUniform, Base: time.Millisecond, Max: 20 * time.Millisecond},
		"lognormal:5ms,0.5":       {Kind: LatencyLogNormal, Base: 5 * time.Millisecond, Sigma: 0.5},
		"lognormal:5ms,0.5,200ms": {Kind: LatencyLogNormal, Base: 5 * time.Millisecond, Sigma: 0.5, Max: 200 * time.Millisecond},
	} {
		if got, err := ParseLatency(in); err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"5ms", "fixed:", "uniform:1ms", "lognormal:5ms", "gamma:1ms"} {
		if _, err := ParseLatency(bad); err == nil {
			t.Errorf("ParseLatency(%q) accepted", bad)
		}
	}
	names, shares, err := ParseShares("ESME_RTHROTTLED=1%, ESME_RSUBMITFAIL=0.005")
	if err != nil || !slices.Equal(names, []string{"ESME_RTHROTTLED", "ESME_RSUBMITFAIL"}) || len(shares) != 2 ||
		math.Abs(shares[0]-0.01) > 1e-12 || shares[1] != 0.005 {
		t.Errorf("ParseShares = %v %v %v", names, shares, err)
	}
	for _, bad := range []string{"ESME_RTHROTTLED", "=1%", "X=-1%", "X=a"} {
		if _, _, err := ParseShares(bad); err == nil {
			t.Errorf("ParseShares(%q) accepted", bad)
		}
	}
	for _, p := range []LoadProfile{
		{Drop: 1.5},
		{Errors: []StatusShare{{pdu.ESME_ROK, 0.1}}},
		{Errors: []StatusShare{{pdu.ESME_RTHROTTLED, 0.6}}, Drop: 0.5},
		{Receipts: []ReceiptShare{{"DELIVRD", 0.5}}},
		{Latency: Latency{Kind: LatencyUniform, Base: 2 * time.Millisecond, Max: time.Millisecond}},
		{ReceiptDelay: Latency{Kind: LatencyUniform, Base: 2 * time.Second, Max: time.Second}},
		{ReceiptDelay: Latency{Kind: LatencyLogNormal, Base: time.Second, Sigma: -1}},
	} {
		if _, err := StartSMSC(SMSCConfig{Load: &p}); err == nil {
			t.Errorf("StartSMSC accepted the load profile %+v", p)
		}
	}
}

// TestLoadPathDoesNotAllocate: under a load profile a submission's answer,
// delayed through the scheduler's heap, and its receipt, after a drawn
// delay, allocate nothing once the buffers are warm.
func TestLoadPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the buffers come from a sync.Pool, which drops some on purpose under -race")
	}
	for _, tc := range []struct {
		name    string
		cfg     SMSCConfig
		receipt byte
	}{
		{"answers", SMSCConfig{Load: &LoadProfile{
			Latency: Latency{Kind: LatencyLogNormal, Base: time.Millisecond, Sigma: 0.5},
			Errors:  []StatusShare{{pdu.ESME_RTHROTTLED, 0.1}},
			// No drops: every run must schedule an answer, or an allocation
			// in each one could hide under AllocsPerRun's rounding down.
			Seed: 7,
		}}, 0},
		// No refusals, for the same reason: every run queues a receipt.
		{"receipts", SMSCConfig{AutoReceipts: true, Load: &LoadProfile{
			Latency:      Latency{Kind: LatencyFixed, Base: time.Millisecond},
			Receipts:     []ReceiptShare{{"DELIVRD", 0.9}, {"UNDELIV", 0.1}},
			ReceiptDelay: Latency{Kind: LatencyUniform, Base: time.Millisecond, Max: 50 * time.Millisecond},
			Seed:         7,
		}}, 1},
	} {
		s := &SMSC{cfg: tc.cfg, sessions: map[uint64]*session{}, unknown: map[pdu.CommandID]uint64{},
			schedWake: make(chan struct{}, 1), done: make(chan struct{}), jobs: make(jobHeap, 0, 64)}
		ss := newSession(s, 1, discardConn{})
		ss.rBound, ss.rBindID, ss.rSystemID = true, pdu.BindTransceiver, "acme"
		m := sm(strings.Repeat("x", 160))
		m.RegisteredDelivery = tc.receipt
		raw, _ := pdu.AppendSubmitSM(nil, 5, m)
		receipts := 0
		allocs := testing.AllocsPerRun(2000, func() {
			ss.handle(raw)
			// What the scheduler does once the answer and the receipt are due.
			for len(s.jobs) > 0 {
				j := s.jobs.pop()
				if j.sess == nil {
					pdu.SetSeq(j.raw, ss.nextSeq())
					receipts++
				}
				ss.sendNow(j.raw)
				j.sent()
			}
			ss.drained()
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per submit_sm under a load profile", tc.name, allocs)
		}
		if tc.receipt != 0 && receipts != 2001 { // AllocsPerRun runs once more to warm up
			t.Errorf("%s: %d receipts in 2001 runs", tc.name, receipts)
		}
	}
}

// TestAutoReceiptBytes: the automatic receipt, built from octets, is the
// PDU buildReceipt builds from strings.
func TestAutoReceiptBytes(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ucs2 := byte(pdu.CodingUCS2)
	for _, tc := range []struct {
		text string
		dc   *byte
		stat string
	}{
		{"hello", nil, "DELIVRD"},
		{"", nil, "UNDELIV"},
		{"a text of more than twenty characters", nil, "EXPIRED"},
		{"€uro {braces} and more than twenty", nil, "DELIVRD"},
		{"héllo wörld ünïcödé çharacters", &ucs2, "REJECTD"},
		{"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", nil, "DELIVRD"},
	} {
		var dc byte
		var ud []byte
		if tc.dc == nil {
			dc, ud = pdu.EncodeBest(tc.text)
		} else {
			dc = *tc.dc
			ud, _ = pdu.EncodeText(dc, tc.text)
		}
		raw, err := pdu.AppendSubmitSM(nil, 1, &pdu.SM{
			Source: pdu.Addr{TON: 5, NPI: 0, Addr: "ACME"}, Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "+15550002222"},
			DataCoding: dc, ShortMessage: ud, RegisteredDelivery: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		m := mustScan(t, raw)
		decoded, _ := pdu.AppendText(nil, m.DataCoding, m.UserData())
		got := appendAutoReceipt(nil, m, []byte("a0001"), tc.stat, appendReceiptText(nil, []byte("a0001"), tc.stat, at, decoded))
		want, err := buildReceipt(0, ReceiptSpec{MessageID: "a0001", From: "+15550002222", To: "ACME", Stat: tc.stat},
			pdu.Addr{TON: 1, NPI: 1}, pdu.Addr{TON: 5, NPI: 0}, at, at, string(decoded))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q: receipt\n% x\nwant\n% x", tc.text, got, want)
		}
	}
}

// TestReceiptDelayDrawn: with a uniform receipt delay, receipts arrive
// spread over its range after their submit_sm_resp.
func TestReceiptDelayDrawn(t *testing.T) {
	const n, lo, hi = 200, 20 * time.Millisecond, 120 * time.Millisecond
	s := startSMSC(t, SMSCConfig{AutoReceipts: true, ReceiptDelay: time.Hour, Load: &LoadProfile{
		ReceiptDelay: Latency{Kind: LatencyUniform, Base: lo, Max: hi}, Seed: 3,
	}})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	m := sm("receipt please")
	m.RegisteredDelivery = 1
	ctx := Context(t, 10*time.Second)
	// One at a time, so that no response waits in a batch.
	for range n {
		if r, err := e.Submit(ctx, m); err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("submit: %+v %v", r, err)
		}
	}
	for i := range n {
		if _, err := e.NextDeliver(ctx); err != nil {
			t.Fatalf("receipt %d of %d: %v", i+1, n, err)
		}
	}
	// When each response and each receipt arrived, matched by message id.
	respAt, delays := map[string]time.Time{}, []time.Duration{}
	for _, r := range e.Received() {
		switch r.Header.ID {
		case pdu.SubmitSMResp:
			id, _, _ := cstringAt(r.Raw, pdu.HeaderLen, 65)
			respAt[string(id)] = r.At
		case pdu.DeliverSM:
			id, ok := pdu.ReceiptID(mustScan(t, r.Raw))
			at, sent := respAt[string(id)]
			if !ok || !sent {
				t.Fatalf("a receipt for %q, which no response named", id)
			}
			delays = append(delays, r.At.Sub(at))
		}
	}
	if len(delays) != n {
		t.Fatalf("%d receipts matched, want %d", len(delays), n)
	}
	slices.Sort(delays)
	first, last := delays[0], delays[n-1]
	// The scheduler may send a little late, never early; the client may
	// read a response a little late. The draws of 200 cover most of the
	// range.
	if first < lo-5*time.Millisecond || last > hi+30*time.Millisecond {
		t.Errorf("receipt delays %v … %v, want within %v … %v", first, last, lo, hi)
	}
	if last-first < (hi-lo)/2 {
		t.Errorf("receipt delays %v … %v: not spread over %v … %v", first, last, lo, hi)
	}
}

// TestJobHeapOrder: the scheduler's heap gives jobs back by due time, then
// in the order they were scheduled.
func TestJobHeapOrder(t *testing.T) {
	var h jobHeap
	base := time.Now()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		h.push(job{due: base.Add(time.Duration(r.IntN(50)) * time.Millisecond), n: uint64(i)})
	}
	prev := job{due: base.Add(-time.Hour)}
	for range 500 {
		j := h.pop()
		if j.due.Before(prev.due) || j.due.Equal(prev.due) && j.n < prev.n {
			t.Fatalf("job %d (due %v) after job %d (due %v)", j.n, j.due.Sub(base), prev.n, prev.due.Sub(base))
		}
		prev = j
	}
	if len(h) != 0 {
		t.Fatalf("%d jobs left", len(h))
	}
}

// TestReceiptBind: receipts go to the bind type asked for, even when a
// session of another type is older.
func TestReceiptBind(t *testing.T) {
	if _, err := StartSMSC(SMSCConfig{ReceiptBind: pdu.BindTransmitter}); err == nil {
		t.Error("receipts to transmitters accepted")
	}
	for _, bind := range []pdu.CommandID{pdu.BindReceiver, pdu.BindTransceiver} {
		s := startSMSC(t, SMSCConfig{AutoReceipts: true, ReceiptBind: bind})
		other := pdu.BindTransceiver
		if bind == pdu.BindTransceiver {
			other = pdu.BindReceiver
		}
		older := bound(t, s, ESMEConfig{}, other, "acme", "x")
		want := bound(t, s, ESMEConfig{}, bind, "acme", "x")
		tx := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
		m := sm("receipt please")
		m.RegisteredDelivery = 1
		if r, err := tx.Submit(Context(t, 5*time.Second), m); err != nil || r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("submit: %+v %v", r, err)
		}
		if _, err := want.NextDeliver(Context(t, 5*time.Second)); err != nil {
			t.Fatalf("%s: no receipt on the %s: %v", bind, bind, err)
		}
		if d, err := older.NextDeliver(Context(t, 200*time.Millisecond)); err == nil {
			t.Errorf("%s: a receipt on the older %s: % x", bind, other, d)
		}
	}
}
