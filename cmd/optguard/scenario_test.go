package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// scenarioErrors flattens parseScenario's joined errors.
func scenarioErrors(t *testing.T, err error) []*config.Error {
	t.Helper()
	var out []*config.Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %q (%T) is not a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	walk(err)
	return out
}

func mustParseScenario(t *testing.T, doc string) *scenario {
	t.Helper()
	s, err := parseScenario([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", doc, err)
	}
	return s
}

func sumShares(mix []testenv.LoadMessage) float64 {
	total := 0.0
	for _, m := range mix {
		total += m.Share
	}
	return total
}

// TestScenarioBuiltins: every built-in scenario parses and converts into
// the run it describes.
func TestScenarioBuiltins(t *testing.T) {
	entries, err := builtinScenarioFS.ReadDir("scenarios")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	if want := slices.Sorted(slices.Values(builtinScenarios)); !slices.Equal(files, want) {
		t.Fatalf("embedded scenarios %v, want %v", files, want)
	}
	for _, name := range builtinScenarios {
		t.Run(name, func(t *testing.T) {
			data, _ := builtinScenarioFS.ReadFile("scenarios/" + name + ".yaml")
			if !bytes.HasPrefix(data, []byte("# "+name+": ")) {
				t.Errorf("the file does not start with a comment saying what %s models", name)
			}
			s, err := loadScenario(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != name || s.Description == "" {
				t.Errorf("name %q, description %q", s.Name, s.Description)
			}
			cfgs, err := s.loadConfigs("127.0.0.1:2775")
			if err != nil || len(cfgs) == 0 {
				t.Fatalf("loadConfigs: %d, %v", len(cfgs), err)
			}
			for _, c := range cfgs {
				if c.Addr != "127.0.0.1:2775" || len(c.Phases) == 0 || c.Handsets == nil || c.Window < 1 || c.Binds < 1 {
					t.Errorf("config %+v", c)
				}
				if got := sumShares(c.Mix); math.Abs(got-1) > 1e-12 {
					t.Errorf("mix shares add up to %v", got)
				}
				if c.BindID != pdu.BindTransmitter && c.BindID != pdu.BindTransceiver {
					t.Errorf("bind %s cannot submit", c.BindID)
				}
			}
			one, err := s.loadConfig("127.0.0.1:2775")
			if err != nil || len(one.BindGroups) != len(s.Binds) || !slices.Equal(one.Phases, s.plan) || math.Abs(sumShares(one.Mix)-1) > 1e-12 {
				t.Errorf("loadConfig: %+v, %v", one, err)
			}
			if _, err := s.simProfile(); err != nil {
				t.Error(err)
			}
			if _, err := s.smscConfig(); err != nil {
				t.Error(err)
			}
			if mo := s.moStorm(); mo != nil {
				total := 0.0
				for _, m := range mo.Mix {
					total += m.Share
				}
				if math.Abs(total-1) > 1e-12 || mo.Rate <= 0 || mo.Count != 0 || mo.SystemID == "" {
					t.Errorf("storm %+v", mo)
				}
			}
		})
	}
}

func TestScenarioRelay(t *testing.T) {
	s, err := loadScenario("relay")
	if err != nil {
		t.Fatal(err)
	}
	cfgs, _ := s.loadConfigs("x:1")
	c := cfgs[0]
	if len(cfgs) != 1 || c.Binds != 4 || c.Window != 256 || c.BindID != pdu.BindTransmitter || c.Warmup != time.Second ||
		c.SystemID != "bench" || c.Password != "bench" || c.ReceiptShare != 0 {
		t.Fatalf("relay: %d configs, %+v", len(cfgs), c)
	}
	if want := []testenv.LoadPhase{{Name: "closed loop", Duration: 5 * time.Second}}; !slices.Equal(c.Phases, want) {
		t.Errorf("phases %+v, want %+v", c.Phases, want)
	}
	if len(c.Mix) != 1 || c.Mix[0].Kind != pdu.SubmitSM || c.Mix[0].Text != "" || c.Mix[0].UCS2 || c.Mix[0].Share != 1 {
		t.Errorf("mix %+v, want the one default submit_sm", c.Mix)
	}
	if h := c.Handsets; h.First != 15550000000 || h.Count != 10000 || h.TON != 1 || h.NPI != 1 || !h.Plus || h.Random || h.Number(9999) != "+15550009999" {
		t.Errorf("handsets %+v", h)
	}
	if s.Through != "proxy" || s.policyMode() != "" || s.moStorm() != nil {
		t.Errorf("through %q, mode %q, mo %v", s.Through, s.policyMode(), s.moStorm())
	}
	if p, _ := s.simProfile(); p != nil {
		t.Errorf("sim profile %+v, want none", p)
	}
}

func TestScenarioConsentMix(t *testing.T) {
	s, err := loadScenario("consent-mix")
	if err != nil {
		t.Fatal(err)
	}
	cfgs, _ := s.loadConfigs("x:1")
	if len(cfgs) != 1 || cfgs[0].Binds != 2 || len(s.receivers()) != 1 || s.receivers()[0].bindID() != pdu.BindReceiver {
		t.Fatalf("%d configs, receivers %+v", len(cfgs), s.receivers())
	}
	c := cfgs[0]
	want := []testenv.LoadPhase{
		{Name: "ramp", Duration: 5 * time.Second, Rate: 200, RateTo: 1000},
		{Name: "steady", Duration: 10 * time.Second, Rate: 1000},
	}
	if !slices.Equal(c.Phases, want) || c.Duration != 15*time.Second {
		t.Errorf("phases %+v (%v), want %+v", c.Phases, c.Duration, want)
	}
	if c.ReceiptShare != 0.5 || c.ReceiptWait != 5*time.Second {
		t.Errorf("receipts %v, wait %v", c.ReceiptShare, c.ReceiptWait)
	}
	shares := map[string]float64{}
	for _, m := range c.Mix {
		shares[m.Name] = m.Share
	}
	if math.Abs(shares["gsm7"]-0.8) > 1e-9 || math.Abs(shares["ucs2"]-0.15) > 1e-9 || math.Abs(shares["long-udh"]-0.05) > 1e-9 {
		t.Errorf("mix shares %v", shares)
	}
	for _, m := range c.Mix {
		parts, err := textParts(m.Text, m.UCS2)
		if wantParts := map[string]int{"gsm7": 1, "ucs2": 1, "long-udh": 2}[m.Name]; err != nil || parts != wantParts {
			t.Errorf("%s: %d parts (%v), want %d", m.Name, parts, err, wantParts)
		}
	}
	h := c.Handsets
	if h.Count != 3000 || len(h.Groups) != 3 || h.GroupOf(0) != "opted_in" || h.GroupOf(1000) != "opted_out" || h.GroupOf(2999) != "unknown" || !h.Random {
		t.Errorf("handsets %+v", h)
	}
	for _, g := range s.Handsets.Groups {
		if want := map[string]string{"opted_in": "delivered", "opted_out": "refused", "unknown": "held"}[g.State]; g.Expect != want {
			t.Errorf("group %s expects %s, want %s", g.Name, g.Expect, want)
		}
	}
	if s.policyMode() != config.ModeConsent {
		t.Errorf("mode %q", s.policyMode())
	}
	mo := s.moStorm()
	var texts []string
	for _, m := range mo.Mix {
		texts = append(texts, m.Text)
	}
	if mo.Rate != 20 || !slices.IsSorted(texts) || len(texts) != 5 || mo.FirstHandset != 15552000000 || mo.Handsets != 10000 || mo.To != "+15550000001" {
		t.Errorf("storm %+v", mo)
	}
	p, err := s.simProfile()
	if err != nil || p.Latency != (testenv.Latency{Kind: testenv.LatencyLogNormal, Base: 3 * time.Millisecond, Sigma: 0.6, Max: 100 * time.Millisecond}) ||
		len(p.Errors) != 1 || p.Errors[0] != (testenv.StatusShare{Status: pdu.ESME_RTHROTTLED, Share: 0.01}) || len(p.Receipts) != 3 {
		t.Errorf("profile %+v, %v", p, err)
	}
	sc, _ := s.smscConfig()
	if !sc.AutoReceipts || sc.Load == nil || sc.Load.ReceiptDelay != (testenv.Latency{Kind: testenv.LatencyLogNormal, Base: 800 * time.Millisecond, Sigma: 0.5, Max: 4 * time.Second}) {
		t.Errorf("smsc %+v", sc)
	}
}

func TestScenarioStopStorm(t *testing.T) {
	s, err := loadScenario("stop-storm")
	if err != nil {
		t.Fatal(err)
	}
	mo := s.moStorm()
	if mo == nil || mo.Rate != 5000 || !slices.Equal(mo.Mix, []testenv.TextShare{{Text: "STOP", Share: 1}}) || mo.Handsets != 100000 {
		t.Fatalf("storm %+v", mo)
	}
	cfgs, _ := s.loadConfigs("x:1")
	if len(cfgs) != 1 || cfgs[0].Phases[0].Rate != 0 || cfgs[0].Phases[0].Duration != 10*time.Second || s.Through != "policy" {
		t.Errorf("%+v, through %q", cfgs, s.Through)
	}
}

func TestScenarioLongMessages(t *testing.T) {
	s, err := loadScenario("long-messages")
	if err != nil {
		t.Fatal(err)
	}
	cfgs, _ := s.loadConfigs("x:1")
	kinds := map[pdu.CommandID]int{}
	var sar, udh, ucs2 int
	for _, m := range cfgs[0].Mix {
		kinds[m.Kind]++
		if m.Kind == pdu.DataSM {
			if len(m.Text) <= 254 {
				t.Errorf("%s: a payload of %d characters is no longer than a short_message", m.Name, len(m.Text))
			}
			continue
		}
		parts, err := textParts(m.Text, m.UCS2)
		if err != nil || parts < 2 || parts > 4 {
			t.Errorf("%s: %d parts (%v), want 2 … 4", m.Name, parts, err)
		}
		if m.SAR {
			sar++
		} else {
			udh++
		}
		if m.UCS2 {
			ucs2++
		}
		if m.Kind == pdu.SubmitMulti && m.Dests != 3 {
			t.Errorf("%s: %d destinations, want 3", m.Name, m.Dests)
		}
	}
	if kinds[pdu.SubmitSM] < 4 || kinds[pdu.DataSM] != 1 || kinds[pdu.SubmitMulti] != 1 || sar < 2 || udh < 2 || ucs2 < 2 {
		t.Errorf("kinds %v, sar %d, udh %d, ucs2 %d", kinds, sar, udh, ucs2)
	}
}

// TestScenarioDefaults: what a scenario leaves out gets the documented
// defaults.
func TestScenarioDefaults(t *testing.T) {
	s := mustParseScenario(t, "name: min\nbinds: [{}]\nphases: [{duration: 2s}]\n")
	g := s.Binds[0]
	if g != (bindGroup{Count: 1, Bind: "tx", SystemID: "bench", Password: "bench", Window: 256}) {
		t.Errorf("bind group %+v", g)
	}
	if s.Warmup != config.Duration(time.Second) || s.Through != "proxy" || s.Seed != 1 || s.ReceiptWait != 0 || s.Receipts != 0 {
		t.Errorf("top level %+v", s)
	}
	if want := []testenv.LoadPhase{{Name: "phase 1", Duration: 2 * time.Second}}; !slices.Equal(s.plan, want) {
		t.Errorf("plan %+v", s.plan)
	}
	mix, _ := s.loadMix()
	if len(mix) != 1 || mix[0].Name != "submit_sm" || mix[0].Share != 1 || mix[0].Kind != pdu.SubmitSM || mix[0].Source != (pdu.Addr{}) {
		t.Errorf("mix %+v", mix)
	}
	if h := s.loadHandsets(); h.First != 15550000000 || h.Count != 10000 || h.TON != 1 || h.NPI != 1 || !h.Plus {
		t.Errorf("handsets %+v", h)
	}

	s = mustParseScenario(t, `name: more
binds: [{bind: trx}]
phases: [{duration: 1s}]
receipts: 0.25
messages:
  - {share: 50%, source: "+15550001111", kind: submit_multi}
  - {share: 50%, source: "12345", coding: ucs2, text: "hi"}
mo: {rate: 5, long: 10%}
through: policy
handsets: {groups: [{name: a, count: 10}, {name: b, count: 10, state: opted_out}]}
`)
	if s.ReceiptWait != config.Duration(5*time.Second) || s.Receipts != 0.25 {
		t.Errorf("receipts %v, wait %v", s.Receipts, s.ReceiptWait)
	}
	mix, _ = s.loadMix()
	if mix[0].Source != (pdu.Addr{TON: 1, NPI: 1, Addr: "+15550001111"}) || mix[1].Source != (pdu.Addr{TON: 0, NPI: 1, Addr: "12345"}) {
		t.Errorf("sources %+v, %+v", mix[0].Source, mix[1].Source)
	}
	if mix[0].Name != "submit_multi" || mix[0].Dests != 2 || mix[1].Name != "submit_sm-ucs2" || !mix[1].UCS2 {
		t.Errorf("mix %+v", mix)
	}
	if s.policyMode() != config.ModeDisclaimer || s.Handsets.Groups[0].Expect != "delivered" || s.Handsets.Groups[1].Expect != "refused" {
		t.Errorf("mode %q, groups %+v", s.policyMode(), s.Handsets.Groups)
	}
	mo := s.moStorm()
	if mo.FirstHandset != 15560000000 || mo.Handsets != 10000 || mo.To != "+15550000001" || !slices.Equal(mo.Mix, []testenv.TextShare{{Text: "STOP", Share: 1}}) || mo.SystemID != "bench" || mo.LongShare != 0.1 {
		t.Errorf("storm %+v", mo)
	}
	if cfgs, _ := s.loadConfigs("x:1"); cfgs[0].BindID != pdu.BindTransceiver {
		t.Errorf("bind %s", cfgs[0].BindID)
	}
}

// TestScenarioSteps: steps expand into one phase per rate, in order among
// the other phases, upwards and downwards.
func TestScenarioSteps(t *testing.T) {
	s := mustParseScenario(t, `name: steps
binds: [{}]
phases:
  - {name: first, duration: 1s, window: 8}
  - steps: {from: 1000, to: 5000, step: 1000, each: 5s}
  - steps: {from: 300, to: 100, step: 100, each: 2s}
  - {duration: 3s, rate: 10, rate_to: 20}
`)
	want := []testenv.LoadPhase{
		{Name: "first", Duration: time.Second, Window: 8},
		{Name: "step 1000/s", Duration: 5 * time.Second, Rate: 1000},
		{Name: "step 2000/s", Duration: 5 * time.Second, Rate: 2000},
		{Name: "step 3000/s", Duration: 5 * time.Second, Rate: 3000},
		{Name: "step 4000/s", Duration: 5 * time.Second, Rate: 4000},
		{Name: "step 5000/s", Duration: 5 * time.Second, Rate: 5000},
		{Name: "step 300/s", Duration: 2 * time.Second, Rate: 300},
		{Name: "step 200/s", Duration: 2 * time.Second, Rate: 200},
		{Name: "step 100/s", Duration: 2 * time.Second, Rate: 100},
		{Name: "phase 4", Duration: 3 * time.Second, Rate: 10, RateTo: 20},
	}
	cfgs, err := s.loadConfigs("x:1")
	if err != nil || !slices.Equal(cfgs[0].Phases, want) {
		t.Fatalf("phases\n%+v\nwant\n%+v (%v)", cfgs[0].Phases, want, err)
	}
	if cfgs[0].Duration != 35*time.Second {
		t.Errorf("duration %v, want 35s", cfgs[0].Duration)
	}
}

// TestScenarioRateSplit: each phase's rate is split across the submitting
// groups by their binds and adds up to the phase's; receive-only groups
// get none; each group has a seed of its own.
func TestScenarioRateSplit(t *testing.T) {
	s := mustParseScenario(t, `name: split
binds:
  - {count: 3, bind: tx, system_id: a}
  - {count: 2, bind: rx, system_id: r}
  - {count: 1, bind: trx, system_id: b, window: 16}
  - {count: 3, bind: tx, system_id: c}
phases:
  - {duration: 1s, rate: 1000, rate_to: 7001}
  - {duration: 1s}
  - {duration: 1s, rate: 333.3}
`)
	cfgs, err := s.loadConfigs("x:1")
	if err != nil || len(cfgs) != 3 {
		t.Fatalf("%d configs, %v", len(cfgs), err)
	}
	var ids []string
	seeds := map[uint64]bool{}
	for _, c := range cfgs {
		ids = append(ids, c.SystemID)
		seeds[c.Seed] = true
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) || len(seeds) != 3 || cfgs[1].BindID != pdu.BindTransceiver || cfgs[1].Window != 16 {
		t.Errorf("groups %v, seeds %v, %+v", ids, seeds, cfgs[1])
	}
	for k, p := range s.plan {
		var rate, rateTo float64
		for _, c := range cfgs {
			rate += c.Phases[k].Rate
			rateTo += c.Phases[k].RateTo
		}
		if rate != p.Rate || rateTo != p.RateTo {
			t.Errorf("phase %d: the groups' rates add up to %v → %v, want %v → %v", k, rate, rateTo, p.Rate, p.RateTo)
		}
	}
	if got := cfgs[0].Phases[0].Rate; math.Abs(got-3000.0/7) > 1e-9 {
		t.Errorf("group a: %v/s, want 3/7 of 1000", got)
	}
	if got := cfgs[1].Phases[0].RateTo; math.Abs(got-7001.0/7) > 1e-9 {
		t.Errorf("group b: ramps to %v/s, want 1/7 of 7001", got)
	}
	for _, c := range cfgs {
		if c.Phases[1].Rate != 0 || c.Phases[1].RateTo != 0 {
			t.Errorf("%s: the closed-loop phase got a rate %+v", c.SystemID, c.Phases[1])
		}
	}
	if r := s.receivers(); len(r) != 1 || r[0].SystemID != "r" || r[0].Window != 0 {
		t.Errorf("receivers %+v", r)
	}
}

// scenarioBase is a valid scenario that the error cases below extend; a
// case's "# <-" marks the line its error must name.
const scenarioBase = "name: t\nbinds: [{}]\nphases: [{duration: 1s}]\n"

// TestScenarioErrors: each mistake is one error naming the file, the line
// and the dotted key.
func TestScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		base      bool // prefix scenarioBase
		key, msg  string
	}{
		{"unknown top-level key", "bogus: 1 # <-", true, "bogus", "unknown key"},
		{"unknown nested key", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - count: 2\n    bnd: tx # <-", false, "binds[0].bnd", `did you mean "binds[0].bind"`},
		{"share without %", "messages:\n  - share: 70 # <-", true, "messages[0].share", "write 70% for a percentage"},
		{"share not a number", "receipts: lots # <-", true, "receipts", `cannot use "lots" as a share`},
		{"share above 100%", "receipts: 120% # <-", true, "receipts", "above 100%"},
		{"shares add up to 90%", "messages: # <-\n  - {name: a, share: 60%}\n  - {name: b, share: 30%}", true, "messages", "add up to 90%"},
		{"share missing in a mix", "messages:\n  - {name: a, share: 100%}\n  - {name: b} # <-", true, "messages[1].share", "is required"},
		{"group overflow", "handsets:\n  count: 100\n  groups:\n    - {name: a, count: 60}\n    - {name: b, count: 41} # <-", true, "handsets.groups[1].count", "reach 101 handsets"},
		{"ramp without rate", "name: t\nbinds: [{}]\nphases:\n  - duration: 1s\n    rate_to: 500 # <-", false, "phases[0].rate_to", "needs a starting rate"},
		{"phase without duration", "name: t\nbinds: [{}]\nphases:\n  - rate: 5 # <-", false, "phases[0].duration", "is required"},
		{"negative phase window", "name: t\nbinds: [{}]\nphases:\n  - duration: 1s\n    window: -1 # <-", false, "phases[0].window", "want 1 … 65536"},
		{"duration without unit", "name: t\nbinds: [{}]\nphases:\n  - duration: 10 # <-", false, "phases[0].duration", "with a unit"},
		{"no phases", "name: t\nbinds: [{}]\nphases: [] # <-", false, "phases", "at least one phase"},
		{"steps that do not divide", "name: t\nbinds: [{}]\nphases:\n  - steps:\n      from: 1000\n      to: 5000\n      step: 1500 # <-\n      each: 5s", false, "phases[0].steps.step", "does not divide"},
		{"steps of 0", "name: t\nbinds: [{}]\nphases:\n  - steps:\n      from: 1000\n      to: 5000\n      step: 0 # <-\n      each: 5s", false, "phases[0].steps.step", "above 0"},
		{"steps without each", "name: t\nbinds: [{}]\nphases:\n  - steps: # <-\n      from: 1000\n      to: 5000\n      step: 1000", false, "phases[0].steps.each", "is required"},
		{"steps from = to", "name: t\nbinds: [{}]\nphases:\n  - steps:\n      from: 1000\n      to: 1000 # <-\n      step: 1000\n      each: 1s", false, "phases[0].steps.to", "equals from"},
		{"steps with a duration", "name: t\nbinds: [{}]\nphases:\n  - duration: 5s # <-\n    steps: {from: 1, to: 2, step: 1, each: 1s}", false, "phases[0].duration", "does not go with steps"},
		{"bad bind kind", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - bind: tc # <-", false, "binds[0].bind", `"tc": want tx, trx, rx`},
		{"no submitting bind", "name: t\nphases: [{duration: 1s}]\nbinds: # <-\n  - bind: rx", false, "binds", "no group submits"},
		{"no binds", "name: t\nphases: [{duration: 1s}]", false, "binds", "at least one group"},
		{"window on an rx bind", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - {}\n  - bind: rx\n    window: 5 # <-", false, "binds[1].window", "tx and trx only"},
		{"count not a number", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - count: four # <-", false, "binds[0].count", `cannot use "four" as an integer`},
		{"count of 1.5", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - count: 1.5 # <-", false, "binds[0].count", "as an integer"},
		{"skip verify without tls", "name: t\nphases: [{duration: 1s}]\nbinds:\n  - tls_skip_verify: true # <-", false, "binds[0].tls_skip_verify", "goes with tls"},
		{"bad status name", "sim:\n  errors: \"ESME_RTHROTTLED=1%,ESME_NOPE=1%\" # <-", true, "sim.errors", `"ESME_NOPE" is not a command_status name`},
		{"ESME_ROK as an error", "sim:\n  errors: ESME_ROK=1% # <-", true, "sim.errors", "not a refusal"},
		{"errors and drop above 100%", "sim:\n  errors: ESME_RTHROTTLED=60% # <-\n  drop: 50%", true, "sim.errors", "at most 100%"},
		{"bad latency", "sim:\n  latency: gamma:1ms # <-", true, "sim.latency", "unknown distribution"},
		{"receipt states not adding up", "sim:\n  receipt_states: DELIVRD=90% # <-", true, "sim.receipt_states", "add up to 90%"},
		{"bad receipt delay", "sim:\n  receipt_delay: soon # <-", true, "sim.receipt_delay", "want a duration"},
		{"bad name", "name: Consent Mix # <-\nbinds: [{}]\nphases: [{duration: 1s}]", false, "name", "lower-case"},
		{"dests above the population", "handsets: {count: 5}\nmessages:\n  - kind: submit_multi\n    dests: 6 # <-", true, "messages[0].dests", "more than the 5 handsets"},
		{"dests on submit_sm", "messages:\n  - dests: 3 # <-", true, "messages[0].dests", "submit_multi only"},
		{"bad kind", "messages:\n  - kind: deliver_sm # <-", true, "messages[0].kind", "want data_sm, submit_multi, submit_sm"},
		{"text not GSM-7", "messages:\n  - text: \"hi 😀\" # <-", true, "messages[0].text", "set coding: ucs2"},
		{"bad TLV hex", "messages:\n  - tlvs:\n      - tag: 0x1403\n        hex: xyz # <-", true, "messages[0].tlvs[0].hex", "not hexadecimal"},
		{"bad TLV tag", "messages:\n  - tlvs:\n      - tag: 0x10000 # <-\n        hex: \"01\"", true, "messages[0].tlvs[0].tag", "TLV tag"},
		{"generator's TLV", "messages:\n  - tlvs:\n      - tag: 0x0424 # <-\n        hex: \"01\"", true, "messages[0].tlvs[0].tag", "message_payload"},
		{"receipts without a receiver", "receipts: 10% # <-", true, "receipts", "no bind group receives"},
		{"mo without a receiver", "mo: # <-\n  rate: 5", true, "mo", "receives them"},
		{"mo.mix shares", "name: t\nphases: [{duration: 1s}]\nbinds: [{bind: trx}]\nmo:\n  rate: 5\n  mix: {STOP: 50%, HELP: 10%} # <-", false, "mo.mix", "add up to 60%"},
		{"mo without rate", "name: t\nphases: [{duration: 1s}]\nbinds: [{bind: trx}]\nmo: # <-\n  mix: {STOP: 100%}", false, "mo.rate", "is required"},
		{"held without consent mode", "through: policy\nhandsets:\n  groups:\n    - name: u\n      count: 5\n      expect: held # <-", true, "handsets.groups[0].expect", "policy.mode consent"},
		{"opt-out state without the policy", "handsets:\n  groups:\n    - name: u\n      count: 5\n      state: opted_out # <-", true, "handsets.groups[0].state", "needs through: policy"},
		{"handset with +", "handsets:\n  first: \"+15550000000\" # <-", true, "handsets.first", "without the +"},
		{"handsets changing width", "handsets:\n  first: 99999\n  count: 2 # <-", true, "handsets.count", "one length"},
		{"policy without through policy", "policy: # <-\n  mode: consent", true, "policy", "through: policy only"},
		{"bad policy mode", "through: policy\npolicy:\n  mode: strict # <-", true, "policy.mode", `"strict": want consent`},
		{"bad through", "through: relay # <-", true, "through", "want direct, proxy, policy"},
		{"duplicate key", "seed: 2\nseed: 3 # <-", true, "seed", "duplicate key (first set at line 4)"},
		{"list where a mapping goes", "handsets: [1, 2] # <-", true, "handsets", "must be a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if tc.base {
				doc = scenarioBase + doc
			}
			line := 0
			for i, l := range strings.Split(doc, "\n") {
				if strings.HasSuffix(l, "# <-") {
					line = i + 1
				}
			}
			_, err := parseScenario([]byte(doc+"\n"), "bad.yaml")
			if err == nil {
				t.Fatalf("no error for\n%s", doc)
			}
			errs := scenarioErrors(t, err)
			if len(errs) != 1 {
				t.Fatalf("%d errors, want 1:\n%v", len(errs), err)
			}
			e := errs[0]
			if e.File != "bad.yaml" || e.Line != line || e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got  %s:%d key %q: %s\nwant bad.yaml:%d key %q: …%s…", e.File, e.Line, e.Key, e.Msg, line, tc.key, tc.msg)
			}
			prefix := "bad.yaml:" + strconv.Itoa(line) + ": " + tc.key + ": "
			if line == 0 {
				prefix = "bad.yaml: " + tc.key + ": " // a key the file does not have
			}
			if strings.HasPrefix(e.Msg, "unknown key ") {
				prefix = "bad.yaml:" + strconv.Itoa(line) + ": unknown key " + strconv.Quote(tc.key) // the key is in the message
			}
			if !strings.HasPrefix(e.Error(), prefix) {
				t.Errorf("%q does not start with %q", e.Error(), prefix)
			}
		})
	}
}

// TestScenarioShare: a share is a percentage or a fraction, nothing else.
func TestScenarioShare(t *testing.T) {
	for in, want := range map[string]float64{"70%": 0.7, "0.7": 0.7, "0.5%": 0.005, "100%": 1, "0": 0, "1": 1, " 5 %": 0.05} {
		if got, err := parseShare(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("parseShare(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"70", "-1%", "101%", "lots", "", "NaN", "1e400"} {
		if got, err := parseShare(in); err == nil {
			t.Errorf("parseShare(%q) = %v, want an error", in, got)
		}
	}
	// Shares that add up to 100 % within 1e-6 are accepted and scaled to 1.
	s := mustParseScenario(t, scenarioBase+"messages:\n  - {name: a, share: 33.33333%}\n  - {name: b, share: 33.33333%}\n  - {name: c, share: 33.33333%}\n")
	mix, _ := s.loadMix()
	if got := sumShares(mix); math.Abs(got-1) > 1e-12 {
		t.Errorf("scaled shares add up to %v", got)
	}
}

// TestScenarioLoad: a file's errors name its path; an unknown name that is
// no file says which names are built in.
func TestScenarioLoad(t *testing.T) {
	_, err := loadScenario("nosuch")
	if err == nil || !strings.Contains(err.Error(), "relay, consent-mix, stop-storm, long-messages") {
		t.Errorf("unknown name: %v", err)
	}
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte(scenarioBase+"warmup: soon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loadScenario(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":4: warmup: ") {
		t.Errorf("bad file: %v", err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(scenarioBase, "name: t", "name: mine", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := loadScenario(path); err != nil || s.Name != "mine" {
		t.Errorf("good file: %v, %v", s, err)
	}
	if _, err := parseScenario([]byte(scenarioBase+"---\nname: two\n"), "two.yaml"); err == nil || !strings.Contains(err.Error(), "two.yaml:4: a second YAML document") {
		t.Errorf("two documents: %v", err)
	}
}

func TestScenarioList(t *testing.T) {
	var b bytes.Buffer
	listScenarios(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(builtinScenarios) {
		t.Fatalf("list:\n%s", b.String())
	}
	for i, name := range builtinScenarios {
		s, _ := loadScenario(name)
		if !strings.HasPrefix(lines[i], name+" ") || !strings.HasSuffix(lines[i], s.Description) {
			t.Errorf("line %q, want %s and %q", lines[i], name, s.Description)
		}
	}
}

// TestScenarioTLS: a group's TLS reaches the runs, in both forms.
func TestScenarioTLS(t *testing.T) {
	s := mustParseScenario(t, "name: t\nphases: [{duration: 1s}]\nbinds:\n  - {tls: true, tls_skip_verify: true}\n  - {}\n")
	if c := s.Binds[0].tlsConfig(); c == nil || !c.InsecureSkipVerify {
		t.Errorf("tls: %+v", c)
	}
	if c := s.Binds[1].tlsConfig(); c != nil {
		t.Errorf("no tls: %+v", c)
	}
	one, _ := s.loadConfig("x:1")
	if one.BindGroups[0].TLS == nil || one.BindGroups[1].TLS != nil {
		t.Errorf("loadConfig groups %+v", one.BindGroups)
	}
	cfgs, _ := s.loadConfigs("x:1")
	if len(cfgs[0].BindGroups) != 1 || cfgs[0].BindGroups[0].TLS == nil || cfgs[0].BindGroups[0].Count != 1 || cfgs[1].BindGroups != nil {
		t.Errorf("loadConfigs %+v", cfgs)
	}
}

// TestScenarioLoadConfig: the one-run form has every group, receivers
// included, and the phases at the scenario's own rates.
func TestScenarioLoadConfig(t *testing.T) {
	s := mustParseScenario(t, `name: one
binds:
  - {count: 3, system_id: a}
  - {count: 2, bind: rx, system_id: a}
  - {count: 1, bind: trx, system_id: b, password: pw, window: 16}
phases: [{duration: 2s, rate: 700, rate_to: 1400}]
receipts: 20%
seed: 9
`)
	c, err := s.loadConfig("x:1")
	if err != nil {
		t.Fatal(err)
	}
	want := []testenv.LoadBindGroup{
		{Count: 3, BindID: pdu.BindTransmitter, SystemID: "a", Password: "bench", Window: 256},
		{Count: 2, BindID: pdu.BindReceiver, SystemID: "a", Password: "bench"},
		{Count: 1, BindID: pdu.BindTransceiver, SystemID: "b", Password: "pw", Window: 16},
	}
	if !slices.Equal(c.BindGroups, want) {
		t.Errorf("groups\n%+v\nwant\n%+v", c.BindGroups, want)
	}
	if !slices.Equal(c.Phases, []testenv.LoadPhase{{Name: "phase 1", Duration: 2 * time.Second, Rate: 700, RateTo: 1400}}) ||
		c.Seed != 9 || c.ReceiptShare != 0.2 || c.ReceiptWait != 5*time.Second || c.Addr != "x:1" || c.Warmup != time.Second {
		t.Errorf("config %+v", c)
	}
}

// TestScenarioDocExample: the example in docs/SCENARIOS.md parses, and
// the built-ins it lists are the ones there are.
func TestScenarioDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SCENARIOS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## An example")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no example in docs/SCENARIOS.md")
	}
	s, err := parseScenario([]byte(example), "SCENARIOS.md example")
	if err != nil {
		t.Fatal(err)
	}
	if cfgs, err := s.loadConfigs("x:1"); err != nil || len(cfgs) != 1 || len(cfgs[0].Phases) != 6 {
		t.Errorf("example: %+v, %v", cfgs, err)
	}
	for _, name := range builtinScenarios {
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("docs/SCENARIOS.md does not describe %s", name)
		}
	}
}
