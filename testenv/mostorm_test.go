package testenv

import (
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
