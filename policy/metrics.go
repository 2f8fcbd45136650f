package policy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/store"
)

// metrics are counted with atomics on the hot paths (MT verdicts, MO
// detections) and in maps under a mutex where the labels are open-ended
// (organization, template): those are counted off the hot path.
type metrics struct {
	mt       verdictCounts
	mo       [numMOOutcomes]atomic.Uint64
	classes  [8][8]atomic.Uint64 // class × rule
	langs    sync.Map            // lang string → *atomic.Uint64
	receipts [numReceiptOutcomes]atomic.Uint64

	deferred, busy, diskFull, panics, released, expired atomic.Uint64

	mu      sync.Mutex
	changes map[changeKey]uint64 // guarded by mu
	autos   map[autoKey]uint64   // guarded by mu

	heldMu    sync.Mutex
	heldAt    time.Time // guarded by heldMu: when heldN and heldFirst were read
	heldN     int       // guarded by heldMu
	heldFirst time.Time // guarded by heldMu
}

// mtHoldFull counts MTs refused because the scope's hold queue was full.
const mtHoldFull = numMTVerdicts

// verdictCounts counts MT verdicts in shards by session: every MT adds one,
// and one counter shared by the reader goroutines of all binds would bounce
// between their cores on every MT.
type verdictCounts struct {
	shards [16]struct {
		n [numMTVerdicts + 1]atomic.Uint64
		_ [128 - (numMTVerdicts+1)*8%128]byte
	}
}

func (c *verdictCounts) add(session uint64, v mtVerdict) {
	c.shards[session%uint64(len(c.shards))].n[v].Add(1)
}

func (c *verdictCounts) load(v int) uint64 {
	var sum uint64
	for i := range c.shards {
		sum += c.shards[i].n[v].Load()
	}
	return sum
}

type changeKey struct{ org, typ, method string }
type autoKey struct{ template, outcome string }

// Auto-message outcomes.
const (
	autoSent          = "sent"
	autoQueued        = "queued"
	autoFailed        = "failed"
	autoLate          = "not_sent_late"
	autoSkippedRepeat = "not_sent_repeat"
)

func (m *metrics) init() {
	m.changes = map[changeKey]uint64{}
	m.autos = map[autoKey]uint64{}
}

func (m *metrics) classified(r keywords.Result) {
	m.classes[int(r.Class)&7][int(r.Rule)&7].Add(1)
	if r.Lang != "" && r.Class != keywords.None {
		v, _ := m.langs.LoadOrStore(r.Lang, new(atomic.Uint64))
		v.(*atomic.Uint64).Add(1)
	}
}

func (m *metrics) change(org, typ string, method store.Method) {
	m.mu.Lock()
	m.changes[changeKey{org, typ, method.String()}]++
	m.mu.Unlock()
}

func (m *metrics) auto(template, outcome string) {
	m.mu.Lock()
	m.autos[autoKey{template, outcome}]++
	m.mu.Unlock()
}

var (
	descChanges = prometheus.NewDesc("optguard_consent_changes_total",
		"Consent changes and review items by event type (opted_out, opted_in, possible_opt_out, review_dismissed), method and organization.", []string{"type", "method", "organization"}, nil)
	descDetections = prometheus.NewDesc("optguard_detections_total",
		"Mobile-originated messages classified, by class and rule.", []string{"class", "rule"}, nil)
	descDetectionLangs = prometheus.NewDesc("optguard_detections_by_language_total",
		"Keyword detections by the language of the list that matched.", []string{"lang"}, nil)
	descMTVerdicts = prometheus.NewDesc("optguard_mt_verdicts_total",
		"MT destinations the policy refused, held or sent a disclaimer before, by reason (forwarded MTs are in optguard_pdus_total).", []string{"reason"}, nil)
	descMO = prometheus.NewDesc("optguard_mo_total",
		"Mobile-originated messages that carried no keyword, by outcome.", []string{"outcome"}, nil)
	descAuto = prometheus.NewDesc("optguard_auto_messages_total",
		"Auto-messages by template and outcome.", []string{"template", "outcome"}, nil)
	descReceipts = prometheus.NewDesc("optguard_policy_receipts_total",
		"Receipts rewritten for released messages, consumed for optguard's own, and sent for refused or expired ones.", []string{"outcome"}, nil)
	descHeld = prometheus.NewDesc("optguard_held_messages",
		"Messages held waiting for consent.", nil, nil)
	descHeldOldest = prometheus.NewDesc("optguard_held_oldest_age_seconds",
		"Age of the oldest held message (0 when none).", nil, nil)
	descPolicyEvents = prometheus.NewDesc("optguard_policy_events_total",
		"Policy work: deferred PDUs, PDUs refused while busy or while the store's disk is full, task panics, released and expired messages.", []string{"event"}, nil)
	descPartials = prometheus.NewDesc("optguard_mo_partial_messages",
		"Concatenated MOs waiting for their other parts.", nil, nil)
	descPartialsDropped = prometheus.NewDesc("optguard_mo_partial_given_up_total",
		"Concatenated MOs given up (timeout or memory bound) before all parts came.", nil, nil)
)

// Collector returns the policy's Prometheus metrics.
func (e *Engine) Collector() prometheus.Collector { return collector{e} }

type collector struct{ e *Engine }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descChanges, descDetections, descDetectionLangs, descMTVerdicts, descMO, descAuto,
		descReceipts, descHeld, descHeldOldest, descPolicyEvents, descPartials, descPartialsDropped} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := &c.e.m
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for i := int(mtForwarded) + 1; i <= int(mtHoldFull); i++ {
		name := "hold_full"
		if i < len(mtVerdictNames) {
			name = mtVerdictNames[i]
		}
		counter(descMTVerdicts, m.mt.load(i), name)
	}
	for i := range m.mo {
		counter(descMO, m.mo[i].Load(), moOutcomeNames[i])
	}
	for cl := range m.classes {
		for r := range m.classes[cl] {
			if v := m.classes[cl][r].Load(); v > 0 {
				counter(descDetections, v, keywords.Class(cl).String(), keywords.Rule(r).String())
			}
		}
	}
	m.langs.Range(func(k, v any) bool {
		counter(descDetectionLangs, v.(*atomic.Uint64).Load(), k.(string))
		return true
	})
	for i := range m.receipts {
		counter(descReceipts, m.receipts[i].Load(), receiptOutcomeNames[i])
	}
	counter(descPolicyEvents, m.deferred.Load(), "deferred")
	counter(descPolicyEvents, m.busy.Load(), "busy")
	counter(descPolicyEvents, m.diskFull.Load(), "disk_full")
	counter(descPolicyEvents, m.panics.Load(), "panic")
	counter(descPolicyEvents, m.released.Load(), "released")
	counter(descPolicyEvents, m.expired.Load(), "expired")
	m.mu.Lock()
	for k, v := range m.changes {
		counter(descChanges, v, k.typ, k.method, k.org)
	}
	for k, v := range m.autos {
		counter(descAuto, v, k.template, k.outcome)
	}
	m.mu.Unlock()
	n, dropped := c.e.reasm.stats()
	ch <- prometheus.MustNewConstMetric(descPartials, prometheus.GaugeValue, float64(n))
	counter(descPartialsDropped, dropped)
	held, oldest := c.e.heldGauges()
	ch <- prometheus.MustNewConstMetric(descHeld, prometheus.GaugeValue, float64(held))
	ch <- prometheus.MustNewConstMetric(descHeldOldest, prometheus.GaugeValue, oldest)
}

// heldGauges reads the number of held messages and the age of the oldest
// from the store's expiry index, at most once per heldGaugeTTL: it walks
// the index, and scrapes come every few seconds.
func (e *Engine) heldGauges() (int, float64) {
	m := &e.m
	m.heldMu.Lock()
	defer m.heldMu.Unlock()
	if now := time.Now(); now.Sub(m.heldAt) >= heldGaugeTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, first, err := e.st.HeldSummary(ctx)
		cancel()
		if err == nil {
			m.heldAt, m.heldN, m.heldFirst = now, n, first
		}
	}
	if m.heldFirst.IsZero() {
		return m.heldN, 0
	}
	return m.heldN, e.now().Sub(m.heldFirst).Seconds()
}

const heldGaugeTTL = 10 * time.Second

// ConsentCount is how many opt-outs and opt-ins an account recorded.
type ConsentCount struct {
	OptOuts, OptIns uint64
}

// ConsentCounts returns the opt-outs and opt-ins the engine recorded since
// it started, by account (main organization), whatever the channel:
// keyword, agent, API, review decision. They are what
// optguard_consent_changes_total counts; the console's live view turns
// them into rates. Imports are not counted.
func (e *Engine) ConsentCounts() map[string]ConsentCount {
	optOut, optIn := store.EventOptedOut.String(), store.EventOptedIn.String()
	m := &e.m
	out := map[string]ConsentCount{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.changes {
		c := out[k.org]
		switch k.typ {
		case optOut:
			c.OptOuts += n
		case optIn:
			c.OptIns += n
		default:
			continue
		}
		out[k.org] = c
	}
	return out
}
