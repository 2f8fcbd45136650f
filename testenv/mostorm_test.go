package testenv

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// TestStormMO sends a storm straight to a transceiver that answers every
// deliver_sm and checks the figures and the handsets that crossed the wire.
func TestStormMO(t *testing.T) {
	ctx := Context(t, 30*time.Second)
	sim := startSMSC(t, SMSCConfig{})
	e := bound(t, sim, ESMEConfig{}, pdu.BindTransceiver, "storm", "pw")
	res, err := sim.StormMO(ctx, StormConfig{SystemID: "storm", Window: 16, Count: 500, FirstHandset: 15560000990})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 500 || res.Responses != 500 || res.ByStatus[pdu.ESME_ROK] != 500 || res.Unmatched != 0 {
		t.Fatalf("sent %d, responses %d, ESME_ROK %d, unmatched %d; want 500 each and 0 unmatched", res.Sent, res.Responses, res.ByStatus[pdu.ESME_ROK], res.Unmatched)
	}
	if res.Latency.Count() != 500 || res.OKPerSecond <= 0 {
		t.Fatalf("latency samples %d, rate %v", res.Latency.Count(), res.OKPerSecond)
	}
	seen := map[string]bool{}
	for _, m := range deliversReceived(t, e) {
		if string(m.ShortMessage) != "STOP" || string(m.Dest.Addr) != "+15550000001" {
			t.Fatalf("deliver_sm text %q to %q", m.ShortMessage, m.Dest.Addr)
		}
		seen[string(m.Source.Addr)] = true
	}
	if len(seen) != 500 || !seen["+15560000990"] || !seen["+15560001489"] {
		t.Fatalf("%d distinct handsets, first %v, last %v", len(seen), seen["+15560000990"], seen["+15560001489"])
	}
	if _, err := sim.StormMO(ctx, StormConfig{SystemID: "storm", Count: 2, FirstHandset: 99999999999}); err == nil {
		t.Fatal("a storm whose handsets change length was accepted")
	}
}

// A spread storm sends each handset of the range once, out of order.
func TestStormSpreadIsAPermutation(t *testing.T) {
	for _, n := range []int{2, 7, 1000, 7919 * 3, 50000} {
		cfg := StormConfig{Count: n, Spread: true}
		seen := make([]bool, n)
		inOrder := true
		for i := 0; i < n; i++ {
			h := handsetIndex(cfg, i)
			if h >= uint64(n) || seen[h] {
				t.Fatalf("count %d: MO %d from handset %d, out of range or twice", n, i, h)
			}
			seen[h] = true
			inOrder = inOrder && h == uint64(i)
		}
		if inOrder && n > 2 {
			t.Fatalf("count %d: the spread order is the counting order", n)
		}
	}
}

// TestStormMixAtARate: MOs paced at a rate, from a population of handsets
// that write more than once, with texts in their shares; what the ESME
// received is what the storm says it sent.
func TestStormMixAtARate(t *testing.T) {
	ctx := Context(t, 30*time.Second)
	sim := startSMSC(t, SMSCConfig{})
	e := bound(t, sim, ESMEConfig{}, pdu.BindReceiver, "mix", "pw")
	const n, rate, population = 2000, 4000.0, 100
	mix := []TextShare{{"STOP", 0.1}, {"START", 0.05}, {"HELP", 0.05}, {"ok thanks", 0.8}}
	res, err := sim.StormMO(ctx, StormConfig{SystemID: "mix", Window: 64, Count: n, Rate: rate, Mix: mix, Handsets: population, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != n || res.Responses != n || res.ByStatus[pdu.ESME_ROK] != n {
		t.Fatalf("sent %d, responses %d, ESME_ROK %d; want %d each", res.Sent, res.Responses, res.ByStatus[pdu.ESME_ROK], n)
	}
	if min := time.Duration(float64(n-1) / rate * float64(time.Second)); res.Elapsed < min {
		t.Errorf("%d MOs at %v/s took %v, want at least %v", n, rate, res.Elapsed, min)
	}
	for _, m := range mix {
		within(t, m.Text, int(res.ByText[m.Text]), n, m.Share)
	}
	texts, handsets := map[string]uint64{}, map[string]int{}
	for _, m := range deliversReceived(t, e) {
		texts[string(m.ShortMessage)]++
		handsets[string(m.Source.Addr)]++
	}
	for _, m := range mix {
		if texts[m.Text] != res.ByText[m.Text] {
			t.Errorf("%q: the ESME got %d, the storm sent %d", m.Text, texts[m.Text], res.ByText[m.Text])
		}
	}
	if len(handsets) != population || handsets["+15560000000"] != n/population || handsets["+15560000099"] != n/population {
		t.Errorf("%d handsets (want %d), the first wrote %d times, the last %d (want %d)", len(handsets), population,
			handsets["+15560000000"], handsets["+15560000099"], n/population)
	}
	if _, err := sim.StormMO(ctx, StormConfig{SystemID: "mix", Count: 1, Mix: []TextShare{{"STOP", 0.5}}}); err == nil {
		t.Error("a mix of shares adding up to 0.5 was accepted")
	}
}

// deliversReceived scans every deliver_sm the client has received.
func deliversReceived(t *testing.T, e *ESME) []pdu.Message {
	t.Helper()
	var out []pdu.Message
	for _, r := range e.Received() {
		if pdu.ID(r.Raw) != pdu.DeliverSM {
			continue
		}
		var m pdu.Message
		if err := pdu.Scan(r.Raw, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestStormStream: a stream (no count) at a rate runs until ctx ends, at
// that rate, with the mix's texts in their shares, and returns its figures
// with no error; the simulator's Stats count the same.
func TestStormStream(t *testing.T) {
	sim := startSMSC(t, SMSCConfig{})
	e := bound(t, sim, ESMEConfig{}, pdu.BindReceiver, "stream", "pw")
	const rate, run = 500.0, time.Second
	mix := []TextShare{{"STOP", 0.1}, {"START", 0.05}, {"HELP", 0.05}, {"ok thanks", 0.8}}
	ctx, cancel := context.WithTimeout(Context(t, 30*time.Second), run)
	defer cancel()
	var began time.Time
	res, err := sim.StormMO(ctx, StormConfig{SystemID: "stream", Rate: rate, Mix: mix, Handsets: 50, Seed: 4,
		OnSession: func(si SessionInfo) {
			began = time.Now()
			if si.SystemID != "stream" || si.Bind != pdu.BindReceiver {
				t.Errorf("the stream runs on %+v", si)
			}
		}})
	took := time.Since(began)
	if err != nil {
		t.Fatalf("a stream that ctx ended: %v", err)
	}
	if got := float64(res.Sent) / took.Seconds(); math.Abs(got-rate) > 0.1*rate {
		t.Errorf("%d MOs in %v: %.0f/s, want %v/s ± 10 %%", res.Sent, took, got, rate)
	}
	if res.Responses != res.Sent || res.Parts != res.Sent || res.ByStatus[pdu.ESME_ROK] != res.Sent {
		t.Errorf("sent %d in %d parts, %d responses, %d ESME_ROK: want all equal", res.Sent, res.Parts, res.Responses, res.ByStatus[pdu.ESME_ROK])
	}
	for _, m := range mix {
		within(t, m.Text, int(res.ByText[m.Text]), int(res.Sent), m.Share)
	}
	if got := uint64(len(deliversReceived(t, e))); got != res.Parts {
		t.Errorf("the ESME got %d deliver_sm, the stream sent %d", got, res.Parts)
	}
	st := sim.Stats()
	if st.MOSent != res.Sent || st.MOParts != res.Parts || st.MOAnswered[pdu.ESME_ROK] != res.Sent || len(st.MOAnswered) != 1 {
		t.Errorf("Stats: %d MOs, %d parts, answers %v; the stream sent %d", st.MOSent, st.MOParts, st.MOAnswered, res.Sent)
	}

	// A stream whose session closes says so.
	type result struct {
		res StormResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := sim.StormMO(Context(t, 10*time.Second), StormConfig{SystemID: "stream", Rate: rate, Handsets: 50})
		done <- result{r, err}
	}()
	Eventually(t, 5*time.Second, func() bool { return sim.Stats().MOSent > res.Sent+10 }, "the second stream sent nothing")
	e.Close()
	select {
	case r := <-done:
		if !errors.Is(r.err, ErrClosed) || r.res.Sent < 10 {
			t.Errorf("a stream whose session closed: %d sent, %v; want ErrClosed", r.res.Sent, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream went on after its session closed")
	}
	for _, bad := range []StormConfig{{Rate: rate}, {Handsets: 5}, {Count: 5, LongShare: 1.5}, {Count: 5, LongShare: 0.5, Window: 1},
		{Count: 5, LongShare: 0.5, LongText: "short"}, {Count: 5, Text: strings.Repeat("long ", 60)}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestStormLongMOs: a share of MOs goes as two deliver_sm with an 8-bit
// concatenation UDH that reassemble to the long text; they count once as
// MOs and twice as parts.
func TestStormLongMOs(t *testing.T) {
	ctx := Context(t, 30*time.Second)
	sim := startSMSC(t, SMSCConfig{})
	e := bound(t, sim, ESMEConfig{}, pdu.BindTransceiver, "long", "pw")
	const n, share = 400, 0.25
	res, err := sim.StormMO(ctx, StormConfig{SystemID: "long", Window: 32, Count: n, LongShare: share, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	long := int(res.ByText[DefaultLongText])
	within(t, "long MOs", long, n, share)
	if res.Sent != n || int(res.Parts) != n+long || res.Responses != res.Parts || res.ByText["STOP"]+uint64(long) != n {
		t.Fatalf("sent %d, parts %d, responses %d, by text %v", res.Sent, res.Parts, res.Responses, res.ByText)
	}
	type key struct {
		from string
		ref  uint16
	}
	texts := map[key][]string{}
	stops := 0
	for _, m := range deliversReceived(t, e) {
		if !m.HasUDH() {
			if string(m.ShortMessage) != "STOP" {
				t.Fatalf("a single deliver_sm with %q", m.ShortMessage)
			}
			stops++
			continue
		}
		udh, rest, err := pdu.SplitUDH(m.ShortMessage)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := pdu.ParseConcat(udh)
		if !ok || c.Total != 2 || len(udh) != 6 || m.DataCoding != pdu.CodingDefault {
			t.Fatalf("UDH % x (%+v, %v), data_coding %d", udh, c, ok, m.DataCoding)
		}
		text, err := pdu.DecodeText(m.DataCoding, rest)
		if err != nil {
			t.Fatal(err)
		}
		k := key{string(m.Source.Addr), c.Ref}
		if len(texts[k]) != int(c.Part)-1 {
			t.Fatalf("%+v: part %d after %d parts", k, c.Part, len(texts[k]))
		}
		texts[k] = append(texts[k], text)
	}
	if stops != n-long || len(texts) != long {
		t.Fatalf("%d single MOs, %d long ones by handset and reference; want %d and %d", stops, len(texts), n-long, long)
	}
	for k, parts := range texts {
		if len(parts) != 2 || parts[0]+parts[1] != DefaultLongText {
			t.Fatalf("%+v reassembles to %q", k, parts)
		}
	}
}

// TestStormSendDoesNotAllocate: a batch of MOs, one long, written on a
// session with hundreds outstanding, and their responses read back and
// counted, allocate nothing.
func TestStormSendDoesNotAllocate(t *testing.T) {
	s := &SMSC{sessions: map[uint64]*session{}, unknown: map[pdu.CommandID]uint64{}, schedWake: make(chan struct{}, 1), done: make(chan struct{})}
	ss := newSession(s, 1, discardConn{})
	ss.rBound, ss.rBindID, ss.rSystemID = true, pdu.BindReceiver, "acme"
	st, err := newStorm(s, StormConfig{Window: 1024, Rate: 1000, Handsets: 10000, LongShare: 0.1,
		Mix: []TextShare{{"STOP", 0.5}, {"ok", 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	st.start = time.Now()
	for range st.cfg.Window {
		st.tokens <- struct{}{}
	}
	res := StormResult{ByStatus: map[pdu.Status]uint64{}}
	var ring [1024]uint32 // outstanding sequence numbers, oldest first
	head, tail := 0, 0
	var resp [32]byte
	long := len(st.mix)
	round := func(answer int) {
		st.pick()
		for range 3 {
			<-st.tokens
		}
		st.batch = append(st.batch[:0], 0, long)
		if err := st.send(ss); err != nil {
			t.Fatal(err)
		}
		for _, seq := range st.seqs {
			ring[tail%len(ring)] = seq
			tail++
		}
		for range answer {
			seq := ring[head%len(ring)]
			head++
			ss.resolve(seq, pdu.AppendDeliverSMResp(resp[:0], pdu.ESME_ROK, seq))
			st.collect(&res, <-st.resps)
		}
	}
	for range 200 { // 600 outstanding
		round(0)
	}
	allocs := testing.AllocsPerRun(2000, func() { round(3) })
	if allocs != 0 {
		t.Errorf("%.1f allocations per batch of MOs", allocs)
	}
	if res.Responses != 3*2001 || res.Unmatched != 0 || st.sent != 2*2201 {
		t.Errorf("%d responses, %d unmatched, %d MOs sent", res.Responses, res.Unmatched, st.sent)
	}
}
