package testenv

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

var testPopulation = LoadHandsets{First: 15550000000, Count: 1000, TON: 1, NPI: 1, Plus: true}

// near reports whether got is want ± tol (absolute).
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestLoadMixOnTheWire: every kind of message in a mix reaches the SMSC as
// it should be encoded (concatenation by UDH and SAR, UCS2, data_sm's
// payload, submit_multi's destinations, all within the population), in
// the shares asked for.
func TestLoadMixOnTheWire(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	long := strings.Repeat("a long message that needs three parts. ", 11)[:400]
	h := testPopulation
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		// At a rate, so that the simulator's record (200,000 PDUs) holds all.
		Addr: s.Addr(), Binds: 2, Window: 32, Duration: time.Second, Rate: 10000, Handsets: &h,
		Mix: []LoadMessage{
			{Name: "gsm7", Share: 0.4},
			{Name: "ucs2", Share: 0.2, UCS2: true, Text: "привет"},
			{Name: "long-udh", Share: 0.1, Text: long},
			{Name: "long-sar", Share: 0.1, Text: long, UCS2: true, SAR: true},
			{Name: "data", Share: 0.1, Kind: pdu.DataSM, Text: long},
			{Name: "multi", Share: 0.1, Kind: pdu.SubmitMulti, Dests: 3},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 || res.Unanswered > 0 || res.Responses != res.Sent {
		t.Fatalf("errors %v, %d unanswered, %d responses to %d requests", res.Errors, res.Unanswered, res.Responses, res.Sent)
	}
	var messages uint64
	for _, n := range res.ByMessage {
		messages += n
	}
	for name, want := range map[string]float64{"gsm7": 0.4, "ucs2": 0.2, "long-udh": 0.1, "long-sar": 0.1, "data": 0.1, "multi": 0.1} {
		if got := float64(res.ByMessage[name]) / float64(messages); !near(got, want, 0.03) {
			t.Errorf("%s: %.3f of the messages, want %.2f", name, got, want)
		}
	}

	kinds := map[string]int{}
	refs := map[string]map[uint8]bool{} // kind → concatenation totals seen
	var m pdu.Message
	for _, r := range s.Received() {
		if r.Dir != In || !isSubmission(r.Header.ID) {
			continue
		}
		if err := pdu.Scan(r.Raw, &m); err != nil {
			t.Fatalf("%s does not scan: %v", r.Header.ID, err)
		}
		var dests []string
		if m.ID == pdu.SubmitMulti {
			it := m.Dests()
			for d, ok := it.Next(); ok; d, ok = it.Next() {
				dests = append(dests, string(d.Addr.Addr))
			}
		} else {
			dests = []string{string(m.Dest.Addr)}
		}
		for _, d := range dests {
			if len(d) != 12 || d < "+15550000000" || d > "+15550000999" {
				t.Fatalf("%s to %q: outside the population", m.ID, d)
			}
		}
		switch {
		case m.ID == pdu.SubmitMulti:
			kinds["multi"]++
			if m.NumDests != 3 || dests[0] == dests[1] {
				t.Fatalf("submit_multi to %v; want 3 consecutive handsets", dests)
			}
		case m.ID == pdu.DataSM:
			kinds["data"]++
			v, ok := m.TLVs.Find(pdu.TagMessagePayload)
			if !ok || string(v) != long {
				t.Fatalf("data_sm payload %q", v)
			}
		case m.HasUDH():
			kinds["udh"]++
			c, ok := pdu.ParseConcat(m.ShortMessage[:1+m.ShortMessage[0]])
			if !ok || c.Total != 3 || c.Part < 1 || c.Part > 3 {
				t.Fatalf("UDH part %+v", c)
			}
		case len(m.TLVs) > 0:
			kinds["sar"]++
			v, ok := m.TLVs.Find(pdu.TagSarTotalSegments)
			if !ok || m.DataCoding != pdu.CodingUCS2 || v[0] < 2 {
				t.Fatalf("SAR part: total %v, data_coding %d", v, m.DataCoding)
			}
			if refs["sar"] == nil {
				refs["sar"] = map[uint8]bool{}
			}
			refs["sar"][v[0]] = true
		case m.DataCoding == pdu.CodingUCS2:
			kinds["ucs2"]++
			if got, _ := pdu.DecodeText(m.DataCoding, m.ShortMessage); got != "привет" {
				t.Fatalf("UCS2 text %q", got)
			}
		default:
			kinds["gsm7"]++
		}
	}
	// Long texts go as their parts: 3 per message (the end of the run may
	// cut each bind's last message short).
	if udh := 3 * int(res.ByMessage["long-udh"]); kinds["udh"] > udh || kinds["udh"] < udh-2*2 || kinds["multi"] != int(res.ByMessage["multi"]) ||
		kinds["data"] != int(res.ByMessage["data"]) || kinds["gsm7"] != int(res.ByMessage["gsm7"]) {
		t.Errorf("the SMSC got %v for messages %v", kinds, res.ByMessage)
	}
	if got := res.SentByCommand[pdu.SubmitMulti]; got != res.ByMessage["multi"] {
		t.Errorf("%d submit_multi sent, %d multi messages", got, res.ByMessage["multi"])
	}
}

func isSubmission(id pdu.CommandID) bool {
	return id == pdu.SubmitSM || id == pdu.DataSM || id == pdu.SubmitMulti
}

// TestLoadReceiptsMatched: receipts coming back on a receiver bind of the
// run are matched to their requests; the share asking for one holds, and
// the latency to the receipt includes the SMSC's delay.
func TestLoadReceiptsMatched(t *testing.T) {
	s := startSMSC(t, SMSCConfig{AutoReceipts: true, ReceiptDelay: 50 * time.Millisecond, ReceiptBind: pdu.BindReceiver})
	h := testPopulation
	h.Groups = []HandsetGroup{{Name: "first", Count: 250}, {Name: "second", Count: 750}}
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Duration: 500 * time.Millisecond, Handsets: &h, ReceiptShare: 0.5, Phases: []LoadPhase{{Duration: 500 * time.Millisecond, Rate: 2000}},
		BindGroups: []LoadBindGroup{
			{Count: 2, BindID: pdu.BindTransmitter, SystemID: "load", Window: 64},
			{Count: 1, BindID: pdu.BindReceiver, SystemID: "load"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	ok := res.ByStatus[pdu.ESME_ROK]
	if ok < 800 || !near(float64(res.Receipts)/float64(ok), 0.5, 0.06) {
		t.Errorf("%d receipts for %d accepted messages; want about half", res.Receipts, ok)
	}
	if res.ReceiptsDue != 0 || res.ReceiptsUnmatched != 0 || res.ReceiptStats["DELIVRD"] != res.Receipts {
		t.Errorf("%d due, %d unmatched, stats %v", res.ReceiptsDue, res.ReceiptsUnmatched, res.ReceiptStats)
	}
	if p50 := res.ReceiptLatency.Quantile(0.5); p50 < 50*time.Millisecond || p50 > 500*time.Millisecond {
		t.Errorf("receipt latency p50 %s; the SMSC waits 50 ms", p50)
	}
	first, second := res.ByGroup["first"], res.ByGroup["second"]
	if first == nil || second == nil || first.Sent+second.Sent != res.Sent || first.Receipts+second.Receipts != res.Receipts ||
		first.ReceiptsAsked+second.ReceiptsAsked != res.Receipts {
		t.Fatalf("groups %+v %+v; %d sent, %d receipts", first, second, res.Sent, res.Receipts)
	}
	if got := float64(first.Sent) / float64(res.Sent); !near(got, 0.25, 0.03) {
		t.Errorf("the first quarter of the population got %.3f of the messages", got)
	}
}

// TestLoadIntendedLatency: when the system under test cannot keep the
// rate, latency from the intended send time shows the wait that latency
// from the actual send hides (coordinated omission), and the phases and
// seconds say what happened when.
func TestLoadIntendedLatency(t *testing.T) {
	// One bind, window 4, answers after 20 ms: at most 200/s get through.
	s := startSMSC(t, SMSCConfig{Load: &LoadProfile{Latency: Latency{Kind: LatencyFixed, Base: 20 * time.Millisecond}}})
	var seconds []LoadSecond
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Binds: 1, Window: 4,
		Phases: []LoadPhase{
			{Name: "easy", Duration: time.Second, Rate: 100},
			{Name: "too fast", Duration: time.Second, Rate: 1000},
		},
		OnSecond: func(sec LoadSecond) { seconds = append(seconds, sec) },
	})
	if err != nil {
		t.Fatal(err)
	}
	easy, fast := res.Phases[0], res.Phases[1]
	t.Logf("easy: %s / intended %s; too fast: %s / intended %s", easy.Latency, easy.Intended, fast.Latency, fast.Intended)
	// The bounds leave room for a shared machine's scheduling (p99s of 70
	// to 110 ms for a 20 ms service time have been seen under load); what
	// the test tells apart is a wait of a second against none.
	if easy.Responses < 90 || easy.Responses > 110 || easy.Intended.Quantile(0.99) > 250*time.Millisecond {
		t.Errorf("easy phase: %d responses, intended p99 %s; want about 100 on time", easy.Responses, easy.Intended.Quantile(0.99))
	}
	if fast.Latency.Quantile(0.99) > fast.Intended.Quantile(0.99)/3 || fast.Intended.Quantile(0.99) < 300*time.Millisecond {
		t.Errorf("too fast: latency p99 %s, intended p99 %s; want the service time low and the wait high",
			fast.Latency.Quantile(0.99), fast.Intended.Quantile(0.99))
	}
	if fast.Stalls == 0 {
		t.Error("no window stalls counted while the window was the limit")
	}
	if len(seconds) < 2 || len(seconds) != len(res.Series) || seconds[0].Phase != "easy" || seconds[1].Phase != "too fast" {
		t.Fatalf("seconds %+v", seconds)
	}
	var answered uint64
	for _, sec := range res.Series {
		answered += sec.Answered
	}
	if answered != res.Responses {
		t.Errorf("the seconds counted %d responses, the run %d", answered, res.Responses)
	}
}

// TestLoadMixDoesNotAllocate: a mix with a population, a receipt share and
// long messages still sends and receives without allocating per message.
func TestLoadMixDoesNotAllocate(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	h := testPopulation
	h.Groups = []HandsetGroup{{Name: "all", Count: 1000}}
	cfg := LoadConfig{Addr: s.Addr(), Binds: 2, Window: 128, Duration: 500 * time.Millisecond, Handsets: &h,
		Mix: []LoadMessage{{Share: 0.9}, {Share: 0.1, Text: strings.Repeat("long ", 50)}}}
	res, perMsg, err := allocsPerResponse(t, cfg)
	if err != nil || res.Responses < 10000 {
		t.Skipf("too little traffic to judge (%d responses, %v)", res.Responses, err)
	}
	if perMsg > 0.05 {
		t.Errorf("%.3f allocations per request", perMsg)
	}
}

// TestLoadReceiptsDoNotAllocate: matching receipts to their requests (the
// receipt table, the receipt's scan) allocates nothing per message once
// the table has grown. The simulator sends each receipt at once, on the
// oldest transceiver, so many are read before their request's response
// (read by the other bind): they are matched all the same.
func TestLoadReceiptsDoNotAllocate(t *testing.T) {
	s := startSMSC(t, SMSCConfig{AutoReceipts: true})
	h := testPopulation
	// At a rate the simulator's receipts keep up with: a backlog of
	// receipts would only measure the buffers it holds.
	cfg := LoadConfig{Addr: s.Addr(), Warmup: 300 * time.Millisecond, Handsets: &h, ReceiptShare: 1,
		Phases:     []LoadPhase{{Duration: 2 * time.Second, Rate: 50000}},
		BindGroups: []LoadBindGroup{{Count: 2, BindID: pdu.BindTransceiver, Window: 128}}}
	res, perMsg, err := allocsPerResponse(t, cfg)
	if err != nil || res.Receipts < 50000 {
		t.Skipf("too little traffic to judge (%d receipts, %d due, %d unmatched, sim %+v, %v)", res.Receipts, res.ReceiptsDue, res.ReceiptsUnmatched, s.Stats().Receipts, err)
	}
	if res.Receipts != res.Responses || res.ReceiptsUnmatched != 0 || res.ReceiptsDue != 0 {
		t.Errorf("%d receipts for %d requests, %d unmatched, %d due", res.Receipts, res.Responses, res.ReceiptsUnmatched, res.ReceiptsDue)
	}
	if raceEnabled {
		return // the race detector makes sync.Pool drop buffers on purpose
	}
	if perMsg > 0.05 {
		t.Errorf("%.3f allocations per request with a receipt", perMsg)
	}
}

// TestLoadPhaseWindow: a phase's window bounds what each bind keeps
// outstanding below the bind's own: against answers that take 20 ms, a
// window of 4 carries about 200 a second, the bind's 64 about 3,200.
func TestLoadPhaseWindow(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Load: &LoadProfile{Latency: Latency{Kind: LatencyFixed, Base: 20 * time.Millisecond}}})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.Addr(), Binds: 1, Window: 64,
		Phases: []LoadPhase{{Name: "narrow", Duration: time.Second, Window: 4}, {Name: "wide", Duration: time.Second}},
	})
	if err != nil {
		t.Fatal(err)
	}
	narrow, wide := res.Phases[0], res.Phases[1]
	t.Logf("narrow %.0f/s, wide %.0f/s", narrow.PerSecond, wide.PerSecond)
	if narrow.PerSecond < 150 || narrow.PerSecond > 210 || wide.PerSecond < 8*narrow.PerSecond {
		t.Errorf("narrow %.0f/s (want about 200), wide %.0f/s (want about 3,200)", narrow.PerSecond, wide.PerSecond)
	}
}
