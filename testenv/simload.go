package testenv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// LoadProfile makes the simulator answer message submissions (submit_sm,
// data_sm, submit_multi) the way an SMSC under load does, for load tests:
// after a latency drawn from a distribution, with a share of refusals and a
// share of requests never answered, and with receipts in a mix of final
// states. Each session draws from its own generator, so the shares hold per
// bind as well as overall, and the hot path takes no lock and allocates
// nothing.
type LoadProfile struct {
	Latency  Latency        // how long each answer takes; the zero value answers at once
	Errors   []StatusShare  // refusals by share (0.01 is 1 %); the rest are ESME_ROK
	Drop     float64        // share of submissions that get no answer at all
	Receipts []ReceiptShare // final states of receipts by share; nil: all DELIVRD
	// ReceiptDelay, when set, is how long after its submit_sm_resp each
	// receipt goes out, drawn per receipt (handsets answer late, some much
	// later); it replaces SMSCConfig.ReceiptDelay.
	ReceiptDelay Latency
	Seed         uint64 // seeds the sessions' generators; 0: a random seed
}

// StatusShare is a share of answers with one command_status.
type StatusShare struct {
	Status pdu.Status
	Share  float64
}

// ReceiptShare is a share of receipts with one final state (the stat: field
// of the receipt's text: DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, …).
type ReceiptShare struct {
	Stat  string
	Share float64
}

// LatencyKind names a latency distribution.
type LatencyKind uint8

const (
	LatencyNone      LatencyKind = iota // answer at once
	LatencyFixed                        // always Base
	LatencyUniform                      // uniform between Base and Max
	LatencyLogNormal                    // log-normal with median Base and shape Sigma
)

// Latency is a response latency distribution.
type Latency struct {
	Kind  LatencyKind
	Base  time.Duration // fixed: the latency; uniform: the least; log-normal: the median
	Max   time.Duration // uniform: the most; log-normal: a cap (0: 100 × Base)
	Sigma float64       // log-normal: the standard deviation of the latency's logarithm
}

// draw returns a latency from l.
func (l Latency) draw(r *rand.Rand) time.Duration {
	switch l.Kind {
	case LatencyFixed:
		return l.Base
	case LatencyUniform:
		if l.Max <= l.Base {
			return l.Base
		}
		return l.Base + time.Duration(r.Int64N(int64(l.Max-l.Base)+1))
	case LatencyLogNormal:
		d := time.Duration(float64(l.Base) * math.Exp(l.Sigma*r.NormFloat64()))
		return min(d, l.Cap())
	}
	return 0
}

// Cap returns the longest latency l draws: what a caller waits for every
// answer to have come.
func (l Latency) Cap() time.Duration {
	switch l.Kind {
	case LatencyFixed:
		return l.Base
	case LatencyUniform:
		return max(l.Base, l.Max)
	case LatencyLogNormal:
		if l.Max <= 0 {
			return 100 * l.Base
		}
		return l.Max
	}
	return 0
}

// validate checks p's shares and distribution.
func (p *LoadProfile) validate() error {
	sum := p.Drop
	if p.Drop < 0 || p.Drop > 1 {
		return fmt.Errorf("drop share %v: want 0 … 1", p.Drop)
	}
	for _, e := range p.Errors {
		if e.Share < 0 || e.Status == pdu.ESME_ROK {
			return fmt.Errorf("error share %v of %s: want a share ≥ 0 of a refusal status", e.Share, e.Status)
		}
		sum += e.Share
	}
	if sum > 1 {
		return fmt.Errorf("error and drop shares add up to %v: want at most 1", sum)
	}
	rs := 0.0
	for _, r := range p.Receipts {
		if r.Share < 0 || r.Stat == "" || len(r.Stat) > 7 {
			return fmt.Errorf("receipt share %v of %q: want a share ≥ 0 of a state of up to 7 letters", r.Share, r.Stat)
		}
		rs += r.Share
	}
	if len(p.Receipts) > 0 && math.Abs(rs-1) > 1e-9 {
		return fmt.Errorf("receipt shares add up to %v: want 1", rs)
	}
	if err := p.Latency.validate(); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if err := p.ReceiptDelay.validate(); err != nil {
		return fmt.Errorf("receipt delay: %w", err)
	}
	return nil
}

// validate checks l's kind and values.
func (l Latency) validate() error {
	switch {
	case l.Kind > LatencyLogNormal:
		return fmt.Errorf("unknown distribution %d", l.Kind)
	case l.Base < 0 || l.Max < 0 || l.Sigma < 0:
		return fmt.Errorf("%+v: want no negative values", l)
	case l.Kind == LatencyUniform && l.Max < l.Base:
		return fmt.Errorf("uniform %v-%v: the most is below the least", l.Base, l.Max)
	}
	return nil
}

// submitFate is what a session does with one submission under a profile.
type submitFate struct {
	drop   bool
	status pdu.Status
	delay  time.Duration
}

// fate draws what happens to the next submission.
func (p *LoadProfile) fate(r *rand.Rand) submitFate {
	f := submitFate{delay: p.Latency.draw(r)}
	if p.Drop == 0 && len(p.Errors) == 0 {
		return f
	}
	x := r.Float64()
	if x < p.Drop {
		f.drop = true
		return f
	}
	x -= p.Drop
	for _, e := range p.Errors {
		if x < e.Share {
			f.status = e.Status
			return f
		}
		x -= e.Share
	}
	return f
}

// receiptStat draws a receipt's final state.
func (p *LoadProfile) receiptStat(r *rand.Rand) string {
	if len(p.Receipts) == 0 {
		return "DELIVRD"
	}
	x := r.Float64()
	for _, s := range p.Receipts {
		if x < s.Share {
			return s.Stat
		}
		x -= s.Share
	}
	return p.Receipts[len(p.Receipts)-1].Stat
}

// ParseLatency reads a latency distribution as the sim command takes it:
// "0" or "" (none), "fixed:5ms", "uniform:1ms-20ms", "lognormal:5ms,0.5"
// (median and sigma) or "lognormal:5ms,0.5,200ms" (with a cap).
func ParseLatency(s string) (Latency, error) {
	if s == "" || s == "0" {
		return Latency{}, nil
	}
	kind, arg, _ := strings.Cut(s, ":")
	bad := func(err error) (Latency, error) {
		return Latency{}, fmt.Errorf("latency %q: %v (want fixed:5ms, uniform:1ms-20ms or lognormal:5ms,0.5)", s, err)
	}
	switch kind {
	case "fixed":
		d, err := time.ParseDuration(arg)
		if err != nil {
			return bad(err)
		}
		return Latency{Kind: LatencyFixed, Base: d}, nil
	case "uniform":
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return bad(fmt.Errorf("no range"))
		}
		a, err := time.ParseDuration(lo)
		if err != nil {
			return bad(err)
		}
		b, err := time.ParseDuration(hi)
		if err != nil {
			return bad(err)
		}
		return Latency{Kind: LatencyUniform, Base: a, Max: b}, nil
	case "lognormal":
		parts := strings.Split(arg, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return bad(fmt.Errorf("want a median and a sigma"))
		}
		m, err := time.ParseDuration(parts[0])
		if err != nil {
			return bad(err)
		}
		sigma, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			return bad(err)
		}
		l := Latency{Kind: LatencyLogNormal, Base: m, Sigma: sigma}
		if len(parts) == 3 {
			if l.Max, err = time.ParseDuration(parts[2]); err != nil {
				return bad(err)
			}
		}
		return l, nil
	}
	return bad(fmt.Errorf("unknown distribution %q", kind))
}

// ParseShares reads NAME=SHARE pairs separated by commas, a share as a
// percentage ("1%") or a fraction ("0.01"): "ESME_RTHROTTLED=1%,ESME_RSUBMITFAIL=0.5%".
func ParseShares(s string) ([]string, []float64, error) {
	if s == "" {
		return nil, nil, nil
	}
	var names []string
	var shares []float64
	for _, item := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" {
			return nil, nil, fmt.Errorf("%q: want NAME=SHARE, e.g. ESME_RTHROTTLED=1%%", item)
		}
		share, err := ParseShare(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %v", item, err)
		}
		names, shares = append(names, name), append(shares, share)
	}
	return names, shares, nil
}

// ParseShare reads one share: "1.5%" or "0.015".
func ParseShare(v string) (float64, error) {
	scale := 1.0
	if t, ok := strings.CutSuffix(v, "%"); ok {
		v, scale = t, 0.01
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("share %q: want a percentage such as 1%% or a fraction such as 0.01", v)
	}
	return f * scale, nil
}
