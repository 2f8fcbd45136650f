package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/httpapi"
)

type liveReply struct {
	At            time.Time
	StepSeconds   float64 `json:"step_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	Binds         []struct {
		SystemID      string    `json:"system_id"`
		Organization  string    `json:"organization"`
		Remote        string    `json:"remote"`
		BindType      string    `json:"bind_type"`
		Route         string    `json:"route"`
		BoundAt       time.Time `json:"bound_at"`
		UptimeSeconds int64     `json:"uptime_seconds"`
		WindowUsed    int       `json:"window_used"`
		WindowSize    int       `json:"window_size"`
		Service       bool      `json:"service"`
	}
	Upstreams []struct {
		Route, Address string
		Healthy        bool
		Binds          int
		LastError      string `json:"last_error"`
	}
	Series struct {
		Times       []time.Time
		SubmitSM    []float64 `json:"submit_sm"`
		DeliverSM   []float64 `json:"deliver_sm"`
		DataSM      []float64 `json:"data_sm"`
		SubmitMulti []float64 `json:"submit_multi"`
		OptOut      []float64 `json:"opt_out"`
		OptIn       []float64 `json:"opt_in"`
		Held        []int
	}
	Totals struct {
		SubmitSM  *uint64 `json:"submit_sm"`
		DeliverSM *uint64 `json:"deliver_sm"`
		OptOut    uint64  `json:"opt_out"`
		OptIn     uint64  `json:"opt_in"`
		Held      *int
	}
	Withheld []string
}

// liveSnapshot is what a proxy would hand the API: acme's transceiver, a
// globex receiver, a bind of a system_id nobody claims, and three samples
// 5 s apart.
func liveSnapshot(at time.Time) httpapi.LiveSnapshot {
	consent := func(acmeOut, acmeIn, globexOut uint64) map[string]httpapi.LiveConsent {
		return map[string]httpapi.LiveConsent{"acme": {OptOuts: acmeOut, OptIns: acmeIn}, "globex": {OptOuts: globexOut}}
	}
	t0 := at.Add(-10 * time.Second)
	return httpapi.LiveSnapshot{
		At: at, Step: 5 * time.Second, Window: 15 * time.Minute,
		Binds: []httpapi.LiveBind{
			{SystemID: "acme", Remote: "10.0.0.1:4000", Route: "default", BindType: "transceiver", BoundAt: at.Add(-90 * time.Second),
				OutstandingDownstream: 2, OutstandingUpstream: 7, Window: 100},
			{SystemID: "globex", Remote: "10.0.0.2:4000", Route: "gb", BindType: "receiver", BoundAt: at.Add(-time.Hour), Window: 100},
			{SystemID: "stray", Remote: "10.0.0.3:4000", Route: "default", BindType: "transmitter", BoundAt: at.Add(-time.Second), Window: 100},
		},
		Upstreams: []httpapi.LiveUpstream{
			{Route: "default", Address: "smsc.example:2775", Binds: 2, Connects: 5, Failures: 1, LastFailure: t0, LastBind: at.Add(-time.Second), LastError: "old"},
			{Route: "gb", Address: "smsc.gb.example:2775", Binds: 1, Connects: 1, Failures: 2, LastBind: t0, LastFailure: at.Add(-time.Second), LastError: "connection refused"},
		},
		Samples: []httpapi.LiveSample{
			{At: t0, SubmitSM: 100, DeliverSM: 10, Consent: consent(1, 0, 0), Held: 3},
			{At: t0.Add(5 * time.Second), SubmitSM: 150, DeliverSM: 20, DataSM: 5, Consent: consent(6, 1, 0), Held: 4},
			{At: t0.Add(10 * time.Second), SubmitSM: 250, DeliverSM: 20, SubmitMulti: 1, Consent: consent(6, 1, 10), Held: 2},
		},
		Now: httpapi.LiveSample{At: at, SubmitSM: 260, DeliverSM: 21, Consent: consent(7, 1, 12), Held: 2},
	}
}

// A token of every organization sees every bind, the upstreams and every
// series; the rates are per second over each step.
func TestLiveView(t *testing.T) {
	var e *env
	e = newEnv(t, func(o *httpapi.Options) { o.Live = func() httpapi.LiveSnapshot { return liveSnapshot(e.clk.now()) } })
	doc, _ := openAPIDoc(t, e)
	r := e.ok("auditor", "GET", "/api/v1/live", nil)
	conforms(t, doc, "#/components/schemas/LiveView", r.Body)
	var got liveReply
	r.json(t, &got)
	if got.StepSeconds != 5 || got.WindowSeconds != 900 || !got.At.Equal(e.clk.now()) || len(got.Withheld) != 0 {
		t.Errorf("header: %s", mustJSON(got))
	}
	var ids, orgs []string
	for _, b := range got.Binds {
		ids, orgs = append(ids, b.SystemID), append(orgs, b.Organization)
	}
	if !slices.Equal(ids, []string{"acme", "globex", "stray"}) || !slices.Equal(orgs, []string{"acme", "globex", "default"}) {
		t.Fatalf("binds %q of %q", ids, orgs)
	}
	b := got.Binds[0]
	if b.BindType != "transceiver" || b.Remote != "10.0.0.1:4000" || b.UptimeSeconds != 90 || b.WindowUsed != 7 || b.WindowSize != 100 || b.Service {
		t.Errorf("acme's bind: %+v", b)
	}
	if len(got.Upstreams) != 2 || !got.Upstreams[0].Healthy || got.Upstreams[1].Healthy || got.Upstreams[1].LastError != "connection refused" ||
		got.Upstreams[0].Binds != 2 || got.Upstreams[1].Address != "smsc.gb.example:2775" {
		t.Errorf("upstreams: %s", mustJSON(got.Upstreams))
	}
	s := got.Series
	want := map[string][2][]float64{
		"submit_sm":    {s.SubmitSM, {10, 20}},
		"deliver_sm":   {s.DeliverSM, {2, 0}},
		"data_sm":      {s.DataSM, {1, 0}},
		"submit_multi": {s.SubmitMulti, {0, 0.2}},
		"opt_out":      {s.OptOut, {1, 2}},
		"opt_in":       {s.OptIn, {0.2, 0}},
	}
	for name, w := range want {
		if !slices.Equal(w[0], w[1]) {
			t.Errorf("series %s: %v, want %v", name, w[0], w[1])
		}
	}
	if len(s.Times) != 2 || !s.Times[1].Equal(e.clk.now()) || !slices.Equal(s.Held, []int{4, 2}) {
		t.Errorf("times %v, held %v", s.Times, s.Held)
	}
	if got.Totals.SubmitSM == nil || *got.Totals.SubmitSM != 260 || *got.Totals.DeliverSM != 21 || got.Totals.OptOut != 19 || got.Totals.OptIn != 1 || *got.Totals.Held != 2 {
		t.Errorf("totals: %s", mustJSON(got.Totals))
	}
}

// A token limited to organizations sees the binds of its organizations'
// system_ids and its accounts' consent rates; what counts every
// organization's traffic is null, and withheld says so.
func TestLiveViewTenancy(t *testing.T) {
	var e *env
	e = newEnv(t, func(o *httpapi.Options) { o.Live = func() httpapi.LiveSnapshot { return liveSnapshot(e.clk.now()) } })
	doc, _ := openAPIDoc(t, e)
	for _, c := range []struct {
		token       string
		binds       []string
		optOut      []float64
		optOutTotal uint64
	}{
		{"globex-auditor", []string{"globex"}, []float64{0, 2}, 12},
		{"acme-admin", []string{"acme"}, []float64{1, 0}, 7},
		// acme-sales claims no system_id, but its consent records are its account's.
		{"acme-sales-agent", nil, []float64{1, 0}, 7},
	} {
		r := e.ok(c.token, "GET", "/api/v1/live", nil)
		conforms(t, doc, "#/components/schemas/LiveView", r.Body)
		var got liveReply
		r.json(t, &got)
		var ids []string
		for _, b := range got.Binds {
			ids = append(ids, b.SystemID)
		}
		if !slices.Equal(ids, c.binds) || !slices.Equal(got.Series.OptOut, c.optOut) || got.Totals.OptOut != c.optOutTotal {
			t.Errorf("%s: binds %q, opt-outs %v (total %d); want %q, %v (%d)", c.token, ids, got.Series.OptOut, got.Totals.OptOut, c.binds, c.optOut, c.optOutTotal)
		}
		if got.Upstreams != nil || got.Series.SubmitSM != nil || got.Series.Held != nil || got.Totals.SubmitSM != nil || got.Totals.Held != nil {
			t.Errorf("%s sees the whole proxy's counters: %s", c.token, r.Body)
		}
		if !slices.Contains(got.Withheld, "series.submit_sm") || !slices.Contains(got.Withheld, "upstreams") || len(got.Series.Times) != 2 {
			t.Errorf("%s: withheld %q, times %v", c.token, got.Withheld, got.Series.Times)
		}
	}
}

// An API without a proxy has no live view.
func TestLiveViewWithoutProxy(t *testing.T) {
	e := newEnv(t)
	e.call("auditor", "GET", "/api/v1/live", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("auditor", "GET", "/api/v1/live?organization=acme", nil).wantError(t, http.StatusBadRequest, "unknown_parameter", "organization")
}
