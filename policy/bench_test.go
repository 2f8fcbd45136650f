package policy_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The MT verdict is the relay's hot path: Engine.MT on a submit_sm that the
// proxy has already scanned. These benchmarks run it against a real badger
// store in memory whose consent index holds n handsets, a third of them
// opted in under a consent-mode organization, a third opted out there, and
// a third known (disclaimer sent) under a disclaimer-mode organization.
// Handset i is +1555 followed by i in seven digits, so the same PDU serves
// every handset by patching the destination's last digits in place: the
// scanned view points into those bytes.

// nopTransport accepts everything the engine originates and sends nothing;
// the verdicts measured here originate nothing.
type nopTransport struct{}

func (nopTransport) Send(policy.Outgoing) error { return nil }

const (
	verdictConsent    = "bench-consent"
	verdictDisclaimer = "bench-disclaimer"
	verdictOff        = "bench-off"
)

// verdictFixture is an engine over a store seeded with n handsets.
type verdictFixture struct {
	n   int
	st  *store.Badger
	eng *policy.Engine
}

func handsetNumber(i int) string { return fmt.Sprintf("+1555%07d", i) }

// Handset classes by i%3.
const (
	classOptedIn  = 0 // consent organization, opted in
	classOptedOut = 1 // consent organization, opted out
	classKnown    = 2 // disclaimer organization, disclaimer sent
)

func newVerdictFixture(tb testing.TB, n int) *verdictFixture {
	tb.Helper()
	st, err := store.OpenBadger(store.Options{InMemory: true, MessageLog: store.MessageLogOptions{Mode: store.LogOff}})
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const chunk = 50_000
	changes := make([]store.Change, 0, chunk)
	for i := 0; i < n; i++ {
		ch := store.Change{
			Scope: store.Scope{Org: verdictConsent, Number: handsetNumber(i)}, Type: store.EventStateImported,
			Mode: store.ModeConsent, OccurredAt: at, Method: store.MethodImport, Actor: "import",
		}
		switch i % 3 {
		case classOptedIn:
			ch.State = store.StateOptedIn
		case classOptedOut:
			ch.State = store.StateOptedOut
		case classKnown:
			ch.Scope.Org = verdictDisclaimer
			ch.Type, ch.Mode, ch.Method, ch.Actor = store.EventDisclaimerSent, store.ModeDisclaimer, store.MethodSystem, "system"
		}
		changes = append(changes, ch)
		if len(changes) == chunk || i == n-1 {
			if _, err := st.Import(context.Background(), changes); err != nil {
				tb.Fatal(err)
			}
			changes = changes[:0]
		}
	}
	eng, err := policy.New(policy.Options{
		Store:     st,
		Transport: nopTransport{},
		Logger:    zerolog.Nop(),
		Organizations: []policy.Organization{
			{Name: verdictConsent, SystemIDs: []string{verdictConsent}, Mode: policy.ModeConsent},
			{Name: verdictDisclaimer, SystemIDs: []string{verdictDisclaimer}, Mode: policy.ModeDisclaimer},
			{Name: verdictOff, SystemIDs: []string{verdictOff}, Mode: policy.ModeOff},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &verdictFixture{n: n, st: st, eng: eng}
}

// fixtures are built once per size and shared by the benchmarks: seeding a
// million handsets takes a while.
var fixtures = struct {
	sync.Mutex
	m map[int]*verdictFixture
}{m: map[int]*verdictFixture{}}

func fixtureOf(tb testing.TB, n int) *verdictFixture {
	fixtures.Lock()
	defer fixtures.Unlock()
	if f := fixtures.m[n]; f != nil {
		return f
	}
	f := newVerdictFixture(tb, n)
	fixtures.m[n] = f
	return f
}

// mtCase is one verdict benchmarked.
type mtCase struct {
	name     string
	systemID string
	class    int
	want     policy.Action
}

var mtCases = []mtCase{
	{"ConsentOptedIn", verdictConsent, classOptedIn, policy.Forward},
	{"DisclaimerKnown", verdictDisclaimer, classKnown, policy.Forward},
	{"OptedOut", verdictConsent, classOptedOut, policy.Reject},
	{"Off", verdictOff, classKnown, policy.Forward},
}

// mtPDU is a 160-character submit_sm to handset 0 and the offset of the
// destination's last seven digits.
func mtPDU(tb testing.TB) ([]byte, int) {
	tb.Helper()
	dest := handsetNumber(0)
	raw, err := pdu.AppendSubmitSM(nil, 1, &pdu.SM{
		Source:       pdu.Addr{TON: 1, NPI: 1, Addr: "+15550000001"},
		Dest:         pdu.Addr{TON: 1, NPI: 1, Addr: dest},
		DataCoding:   pdu.CodingDefault,
		ShortMessage: []byte("optguard benchmark message 0123456789 optguard benchmark message 0123456789 optguard benchmark message 0123456789 optguard benchmark message 0123456789 optgu"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	// header, service_type NUL, source TON/NPI, source NUL-terminated, dest TON/NPI, dest.
	off := pdu.HeaderLen + 1 + 2 + len("+15550000001") + 1 + 2 + len(dest) - 7
	return raw, off
}

// setHandset patches handset i's last seven digits into the PDU.
func setHandset(raw []byte, off, i int) {
	for k := 6; k >= 0; k-- {
		raw[off+k] = byte('0' + i%10)
		i /= 10
	}
}

// verdictRun decides the PDU for one case; spread walks every handset of the
// case's class (a cache miss per lookup once the index outgrows the caches),
// otherwise one handset is asked again and again.
type verdictRun struct {
	eng   *policy.Engine
	bind  policy.Bind
	raw   []byte
	off   int
	msg   pdu.Message
	first int // the class's first handset
	n     int // handsets in the fixture
}

func newVerdictRun(tb testing.TB, f *verdictFixture, c mtCase) *verdictRun {
	raw, off := mtPDU(tb)
	r := &verdictRun{eng: f.eng, bind: policy.Bind{SystemID: c.systemID, Session: 1}, raw: raw, off: off, first: c.class, n: f.n}
	setHandset(raw, off, c.class)
	if err := pdu.Scan(raw, &r.msg); err != nil {
		tb.Fatal(err)
	}
	if d := f.eng.MT(r.bind, &r.msg, raw); d.Action != c.want {
		tb.Fatalf("%s: handset %d: verdict %s, want %s", c.name, c.class, d.Action, c.want)
	}
	return r
}

func BenchmarkMTVerdict10k(b *testing.B) { benchmarkMTVerdict(b, 10_000) }

// BenchmarkMTVerdict1M seeds a million handsets first (about half a minute).
func BenchmarkMTVerdict1M(b *testing.B) { benchmarkMTVerdict(b, 1_000_000) }

func benchmarkMTVerdict(b *testing.B, n int) {
	f := fixtureOf(b, n)
	for _, c := range mtCases {
		b.Run(c.name, func(b *testing.B) {
			r := newVerdictRun(b, f, c)
			b.ReportAllocs()
			for b.Loop() {
				if d := r.eng.MT(r.bind, &r.msg, r.raw); d.Action != c.want {
					b.Fatalf("verdict %s, want %s", d.Action, c.want)
				}
			}
		})
		b.Run(c.name+"Spread", func(b *testing.B) {
			r := newVerdictRun(b, f, c)
			// Walk the class's handsets with a stride that is co-prime with
			// their count, so that consecutive lookups land far apart.
			per := (n - c.class + 2) / 3
			stride := 7919
			for per%stride == 0 {
				stride++
			}
			j := 0
			b.ReportAllocs()
			for b.Loop() {
				setHandset(r.raw, r.off, r.first+3*j)
				if d := r.eng.MT(r.bind, &r.msg, r.raw); d.Action != c.want {
					b.Fatalf("handset %d: verdict %s, want %s", r.first+3*j, d.Action, c.want)
				}
				j = (j + stride) % per
			}
		})
	}
}

// BenchmarkMTRelayPath10k is the verdict as the relay asks for it:
// Session.PrefetchMT once the addresses are scanned, then Session.QuickMT,
// for a forwarded or refused MT (the answers decided from memory), on one
// handset and spread over the class as in BenchmarkMTVerdict.
func BenchmarkMTRelayPath10k(b *testing.B) {
	f := fixtureOf(b, 10_000)
	for _, c := range mtCases {
		r := newVerdictRun(b, f, c)
		sess := r.eng.Session(r.bind) // as the relay's adapter keeps one per session
		per := (f.n - c.class + 2) / 3
		for _, spread := range []bool{false, true} {
			name := c.name
			if spread {
				name += "Spread"
			}
			b.Run(name, func(b *testing.B) {
				j := 0
				b.ReportAllocs()
				for b.Loop() {
					if spread {
						setHandset(r.raw, r.off, r.first+3*j)
						j = (j + 7919) % per
					}
					if a, _ := quick(sess, &r.msg, true); a != c.want {
						b.Fatalf("verdict %s, want %s", a, c.want)
					}
				}
			})
		}
	}
}

// TestMTVerdictDoesNotAllocate holds the hot path to zero allocations for
// every verdict decided from memory.
func TestMTVerdictDoesNotAllocate(t *testing.T) {
	f := fixtureOf(t, 10_000)
	for _, c := range mtCases {
		t.Run(c.name, func(t *testing.T) {
			r := newVerdictRun(t, f, c)
			sess := r.eng.Session(r.bind)
			i := 0
			allocs := testing.AllocsPerRun(10_000, func() {
				setHandset(r.raw, r.off, r.first+3*(i%3000))
				i++
				// As the relay calls them: PrefetchMT, then QuickMT.
				if a, _ := quick(sess, &r.msg, true); a != c.want && a != policy.Defer {
					t.Fatalf("quick verdict %s, want %s", a, c.want)
				}
				if d := r.eng.MT(r.bind, &r.msg, r.raw); d.Action != c.want {
					t.Fatalf("verdict %s, want %s", d.Action, c.want)
				}
			})
			if allocs != 0 {
				t.Fatalf("%s: %.2f allocations per verdict, want 0", c.name, allocs)
			}
		})
	}
}

// TestMTVerdictClasses checks the fixture the benchmarks rely on: every
// class decides as the benchmark expects, and a handset the store has never
// seen is deferred (first contact) in consent and disclaimer mode.
func TestMTVerdictClasses(t *testing.T) {
	f := fixtureOf(t, 10_000)
	raw, off := mtPDU(t)
	var m pdu.Message
	decide := func(systemID string, i int) policy.Action {
		setHandset(raw, off, i)
		if err := pdu.Scan(raw, &m); err != nil {
			t.Fatal(err)
		}
		return f.eng.MT(policy.Bind{SystemID: systemID}, &m, raw).Action
	}
	for i := 0; i < 30; i++ {
		for _, c := range mtCases {
			if i%3 != c.class {
				continue
			}
			if got := decide(c.systemID, i); got != c.want {
				t.Errorf("%s handset %d: %s, want %s", c.name, i, got, c.want)
			}
		}
	}
	unseen := 10_000 + 1
	for _, id := range []string{verdictConsent, verdictDisclaimer} {
		if got := decide(id, unseen); got != policy.Defer {
			t.Errorf("%s, unseen handset: %s, want defer", id, got)
		}
	}
	if got := decide(verdictOff, unseen); got != policy.Forward {
		t.Errorf("off, unseen handset: %s, want forward", got)
	}
	if got := strconv.Itoa(f.st.Gauges().Consents); got != "10000" {
		t.Errorf("index holds %s consents, want 10000", got)
	}
}
