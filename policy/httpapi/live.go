package httpapi

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// The live view (issue 11): binds, PDU rates by command, consent rates,
// held messages and upstream health. The SMPP server is not this
// package's to import (DESIGN.md's arrows), so the proxy hands its numbers
// in through Options.Live, in the types below; this file turns the
// samples into per-second series and keeps to each token what its
// organizations may see.

// LiveSnapshot is what Options.Live returns: the proxy now, and its
// samples of the last minutes.
type LiveSnapshot struct {
	At     time.Time
	Step   time.Duration // between samples
	Window time.Duration // what Samples cover at most
	Binds  []LiveBind
	// Upstreams are the configured routes with what the proxy saw of them.
	Upstreams []LiveUpstream
	// Samples are the counters every Step, oldest first.
	Samples []LiveSample
	// Now is the counters at At (its Held is the last sample's).
	Now LiveSample
}

// LiveBind is one bind that is up.
type LiveBind struct {
	SystemID, Remote, Route string
	BindType                string // transceiver, transmitter or receiver
	BoundAt                 time.Time
	// Requests waiting for their response on each leg, and the window
	// that bounds them.
	OutstandingDownstream, OutstandingUpstream, Window int
	Service                                            bool // optguard's own bind to the SMSC for what it sends
}

// LiveUpstream is one route to an SMSC.
type LiveUpstream struct {
	Route, Address string
	Binds          int    // binds up on it now
	Connects       uint64 // upstream binds the SMSC answered since start
	Failures       uint64 // connects or bind exchanges that failed since start
	LastBind       time.Time
	LastFailure    time.Time
	LastError      string
}

// LiveSample is the proxy's counters at one time: totals since it started
// but Held, which is a count at the time.
type LiveSample struct {
	At time.Time
	// Requests received: submit_sm and submit_multi from the ESMEs,
	// deliver_sm from the SMSCs, data_sm from either side.
	SubmitSM, DeliverSM, DataSM, SubmitMulti uint64
	// Consent are the opt-outs and opt-ins recorded, by account (main
	// organization).
	Consent map[string]LiveConsent
	Held    int // messages held for consent
}

// LiveConsent counts an account's consent changes.
type LiveConsent struct {
	OptOuts, OptIns uint64
}

type liveBindView struct {
	SystemID             string    `json:"system_id"`
	Organization         string    `json:"organization"`
	Remote               string    `json:"remote"`
	BindType             string    `json:"bind_type"`
	Route                string    `json:"route"`
	BoundAt              time.Time `json:"bound_at"`
	UptimeSeconds        int64     `json:"uptime_seconds"`
	WindowUsed           int       `json:"window_used"`
	WindowUsedDownstream int       `json:"window_used_downstream"`
	WindowUsedUpstream   int       `json:"window_used_upstream"`
	WindowSize           int       `json:"window_size"`
	Service              bool      `json:"service"`
}

type liveUpstreamView struct {
	Route         string     `json:"route"`
	Address       string     `json:"address"`
	Healthy       bool       `json:"healthy"`
	Binds         int        `json:"binds"`
	Connects      uint64     `json:"connects"`
	Failures      uint64     `json:"failures"`
	LastBindAt    *time.Time `json:"last_bind_at"`
	LastFailureAt *time.Time `json:"last_failure_at"`
	LastError     string     `json:"last_error"`
}

type liveSeries struct {
	Times       []time.Time `json:"times"`
	SubmitSM    []float64   `json:"submit_sm"`
	DeliverSM   []float64   `json:"deliver_sm"`
	DataSM      []float64   `json:"data_sm"`
	SubmitMulti []float64   `json:"submit_multi"`
	OptOut      []float64   `json:"opt_out"`
	OptIn       []float64   `json:"opt_in"`
	Held        []int       `json:"held"`
}

type liveTotals struct {
	SubmitSM    *uint64 `json:"submit_sm"`
	DeliverSM   *uint64 `json:"deliver_sm"`
	DataSM      *uint64 `json:"data_sm"`
	SubmitMulti *uint64 `json:"submit_multi"`
	OptOut      uint64  `json:"opt_out"`
	OptIn       uint64  `json:"opt_in"`
	Held        *int    `json:"held"`
}

type liveView struct {
	At            time.Time          `json:"at"`
	StepSeconds   float64            `json:"step_seconds"`
	WindowSeconds float64            `json:"window_seconds"`
	Binds         []liveBindView     `json:"binds"`
	Upstreams     []liveUpstreamView `json:"upstreams"`
	Series        liveSeries         `json:"series"`
	Totals        liveTotals         `json:"totals"`
	// Withheld names the fields that are null because they count every
	// organization's traffic and the token sees only some.
	Withheld []string `json:"withheld"`
}

// withheld are the fields of the live view a token limited to
// organizations gets as null: the PDU counters, the held count and the
// upstreams are the whole proxy's, not any one organization's.
var withheld = []string{"upstreams", "series.submit_sm", "series.deliver_sm", "series.data_sm", "series.submit_multi", "series.held",
	"totals.submit_sm", "totals.deliver_sm", "totals.data_sm", "totals.submit_multi", "totals.held"}

// getLive answers GET /api/v1/live.
func (a *API) getLive(w http.ResponseWriter, r *http.Request) {
	if a.live == nil {
		writeError(w, r, a.log, notFound("this optguard has no live view: the API runs without the SMPP proxy"))
		return
	}
	c := callerOf(r)
	s := a.live()
	all := len(c.Organizations) == 0
	v := liveView{At: s.At, StepSeconds: s.Step.Seconds(), WindowSeconds: s.Window.Seconds(), Binds: []liveBindView{}, Withheld: []string{}}
	for _, b := range s.Binds {
		org, ok := a.bindOrganization(c, b.SystemID)
		if !ok {
			continue
		}
		v.Binds = append(v.Binds, liveBindView{
			SystemID: b.SystemID, Organization: org, Remote: b.Remote, BindType: b.BindType, Route: b.Route,
			BoundAt: b.BoundAt, UptimeSeconds: int64(s.At.Sub(b.BoundAt) / time.Second),
			WindowUsed:           max(b.OutstandingDownstream, b.OutstandingUpstream),
			WindowUsedDownstream: b.OutstandingDownstream, WindowUsedUpstream: b.OutstandingUpstream,
			WindowSize: b.Window, Service: b.Service,
		})
	}
	consent := func(smp *LiveSample) LiveConsent {
		var sum LiveConsent
		for acct, n := range smp.Consent {
			if c.seesAccount(acct) {
				sum.OptOuts += n.OptOuts
				sum.OptIns += n.OptIns
			}
		}
		return sum
	}
	v.Series = liveSeries{Times: []time.Time{}, OptOut: []float64{}, OptIn: []float64{}}
	if all {
		v.Series.SubmitSM, v.Series.DeliverSM, v.Series.DataSM, v.Series.SubmitMulti = []float64{}, []float64{}, []float64{}, []float64{}
		v.Series.Held = []int{}
	}
	// Each point is the rate over the step that ends at its time.
	for i := 1; i < len(s.Samples); i++ {
		prev, cur := &s.Samples[i-1], &s.Samples[i]
		secs := cur.At.Sub(prev.At).Seconds()
		if secs <= 0 {
			continue
		}
		v.Series.Times = append(v.Series.Times, cur.At)
		pc, cc := consent(prev), consent(cur)
		v.Series.OptOut = append(v.Series.OptOut, rate(pc.OptOuts, cc.OptOuts, secs))
		v.Series.OptIn = append(v.Series.OptIn, rate(pc.OptIns, cc.OptIns, secs))
		if all {
			v.Series.SubmitSM = append(v.Series.SubmitSM, rate(prev.SubmitSM, cur.SubmitSM, secs))
			v.Series.DeliverSM = append(v.Series.DeliverSM, rate(prev.DeliverSM, cur.DeliverSM, secs))
			v.Series.DataSM = append(v.Series.DataSM, rate(prev.DataSM, cur.DataSM, secs))
			v.Series.SubmitMulti = append(v.Series.SubmitMulti, rate(prev.SubmitMulti, cur.SubmitMulti, secs))
			v.Series.Held = append(v.Series.Held, cur.Held)
		}
	}
	now := consent(&s.Now)
	v.Totals = liveTotals{OptOut: now.OptOuts, OptIn: now.OptIns}
	if !all {
		v.Withheld = withheld
		writeJSON(w, http.StatusOK, v)
		return
	}
	n := s.Now
	v.Totals.SubmitSM, v.Totals.DeliverSM, v.Totals.DataSM, v.Totals.SubmitMulti, v.Totals.Held = &n.SubmitSM, &n.DeliverSM, &n.DataSM, &n.SubmitMulti, &n.Held
	v.Upstreams = []liveUpstreamView{}
	for _, u := range s.Upstreams {
		v.Upstreams = append(v.Upstreams, liveUpstreamView{
			Route: u.Route, Address: u.Address, Binds: u.Binds, Connects: u.Connects, Failures: u.Failures,
			// Healthy while the last attempt to bind on it was answered,
			// or none has failed yet.
			Healthy:    u.LastFailure.IsZero() || u.LastBind.After(u.LastFailure),
			LastBindAt: timeOrNil(u.LastBind), LastFailureAt: timeOrNil(u.LastFailure), LastError: u.LastError,
		})
	}
	writeJSON(w, http.StatusOK, v)
}

// bindOrganization is the organization a bind of systemID is shown with
// to the caller: the first of the policy's organizations for it that the
// caller sees; ok is false when it sees none of them.
func (a *API) bindOrganization(c *caller, systemID string) (string, bool) {
	orgs := a.pol.BindOrganizations(systemID)
	i := slices.IndexFunc(orgs, c.sees)
	if i < 0 {
		return "", false
	}
	return orgs[i], true
}

// rate is the per-second rate of a counter that went from a to b in secs,
// to a thousandth.
func rate(a, b uint64, secs float64) float64 {
	if b <= a {
		return 0
	}
	return math.Round(float64(b-a)/secs*1000) / 1000
}
