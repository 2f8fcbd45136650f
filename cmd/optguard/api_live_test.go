package main

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// The live view of a running optguard: the ESME's bind shows with its
// system_id, and the submit_sm rate, the held count and the opt-out rate
// move as traffic crosses the proxy. The sampler runs every 50 ms here
// instead of every 5 s.
func TestAPILiveViewMovesWithTraffic(t *testing.T) {
	a := startAPI(t, startOptions{liveStep: 50 * time.Millisecond})
	live := func(token string) map[string]any { return a.ok(token, "GET", "/api/v1/live", nil) }

	before := live("compliance")
	if n := before["totals"].(map[string]any)["submit_sm"]; n != 0.0 {
		t.Fatalf("submit_sm before any traffic: %v", n)
	}
	e := a.holdFirstMT("first contact")
	for range 4 {
		if st := submit(t, a.ctx, e, "and more", 0).Header.Status; st != pdu.ESME_ROK {
			t.Fatalf("MT answered %v", st)
		}
	}

	var out map[string]any
	testenv.Eventually(t, 5*time.Second, func() bool {
		out = live("compliance")
		tot := out["totals"].(map[string]any)
		s := out["series"].(map[string]any)
		return tot["submit_sm"] == 5.0 && tot["held"] == 5.0 && anyAbove(s["submit_sm"], 0) && anyAbove(s["held"], 4)
	}, "the live view did not show the five submit_sm held")
	if out["step_seconds"] != 0.05 {
		t.Errorf("step_seconds %v", out["step_seconds"])
	}
	binds := out["binds"].([]any)
	if len(binds) != 1 {
		t.Fatalf("binds: %v", binds)
	}
	b := binds[0].(map[string]any)
	if b["system_id"] != "acme" || b["organization"] != "acme" || b["bind_type"] != "transceiver" || b["route"] != "default" ||
		b["window_size"] != float64(a.cfg.Session.Window) || b["remote"] == "" {
		t.Errorf("the bind: %v", b)
	}
	ups := out["upstreams"].([]any)
	if len(ups) != 1 {
		t.Fatalf("upstreams: %v", ups)
	}
	if u := ups[0].(map[string]any); u["route"] != "default" || u["address"] != a.sim.Addr() || u["healthy"] != true || u["binds"] != 1.0 {
		t.Errorf("the upstream: %v", u)
	}

	a.mo("acme", "STOP")
	testenv.Eventually(t, 5*time.Second, func() bool {
		out = live("agent.alice")
		return out["totals"].(map[string]any)["opt_out"] == 1.0 && anyAbove(out["series"].(map[string]any)["opt_out"], 0)
	}, "acme's token did not see the STOP")
	if len(out["binds"].([]any)) != 1 || out["totals"].(map[string]any)["submit_sm"] != nil {
		t.Errorf("acme's token: binds %v, submit_sm %v", out["binds"], out["totals"].(map[string]any)["submit_sm"])
	}
	// The STOP dropped what was held.
	testenv.Eventually(t, 5*time.Second, func() bool {
		return live("compliance")["totals"].(map[string]any)["held"] == 0.0
	}, "the held count did not fall to 0 after the STOP")

	// Another organization's token sees neither acme's bind nor its STOP.
	g := live("globex.auditor")
	if len(g["binds"].([]any)) != 0 || g["totals"].(map[string]any)["opt_out"] != 0.0 || g["upstreams"] != nil {
		t.Errorf("globex's token: %v", g)
	}
}

// anyAbove reports whether a series (a JSON array of numbers) has a point
// above min.
func anyAbove(series any, min float64) bool {
	points, _ := series.([]any)
	for _, p := range points {
		if v, _ := p.(float64); v > min {
			return true
		}
	}
	return false
}
