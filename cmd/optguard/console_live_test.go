package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// The live view polls the API: its counters move while the test sends
// traffic through the proxy, without the page being reloaded; a token of
// one organization sees its binds and consent counts, and not the
// proxy-wide counters.
func TestConsoleLiveView(t *testing.T) {
	a := startAPI(t, startOptions{liveStep: 250 * time.Millisecond})
	e := a.esme("acme", pdu.BindTransceiver)
	b := openConsole(t, a)
	b.signIn("compliance")
	b.open("#/live", "Live")
	b.waitText("#live-binds", "acme", "transceiver")
	b.waitText("#live-upstreams", "default", "healthy")
	b.waitVisible("#chart-pdus svg polyline")
	count := func(id string) int {
		s := b.text("#live-total-" + id)
		n, err := strconv.Atoi(s)
		if err != nil {
			b.fail("#live-total-%s shows %q, not a count", id, s)
		}
		return n
	}
	// The page stays the same document while the figures change.
	b.eval(`(window.consoleDocument = Symbol('live'), true)`)
	submits, optIns := count("submit_sm"), count("opt_in")

	a.mo("acme", "YES")
	a.waitSubmit("the opt-in confirmation", textHas("opted in"))
	const n = 12
	for i := range n {
		submit(t, a.ctx, e, "live traffic "+strconv.Itoa(i), 0)
		time.Sleep(80 * time.Millisecond) // spread over a few steps: the chart shows a shape
	}
	deadline := time.Now().Add(stepTimeout)
	for count("submit_sm") < submits+n || count("opt_in") < optIns+1 {
		if time.Now().After(deadline) {
			b.fail("the live counters did not move: submit_sm %d → %d, opt-ins %d → %d", submits, count("submit_sm"), optIns, count("opt_in"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.eval(`typeof window.consoleDocument === 'symbol'`) // no reload
	// The chart of the requests drew the burst: its largest rate is above 0.
	b.until(`/Largest: (?!0\.)[0-9.]+\./.test(document.querySelector('#chart-pdus desc').textContent) && document.querySelector('#chart-pdus polyline').getAttribute('points').split(' ').length > 2`)
	b.shot("live")

	// Pause stops the polling; Resume starts it again.
	b.click("#live-pause")
	b.eval(`document.getElementById('live-pause').getAttribute('aria-pressed') === 'true'`)
	b.click("#live-pause")
	b.eval(`document.getElementById('live-pause').getAttribute('aria-pressed') === 'false'`)

	b.click("#sign-out")
	b.signIn("globex.auditor")
	b.open("#/live", "Live")
	b.waitText("#live-withheld", "sees some organizations only")
	b.waitText("#live-total-submit_sm", "—")
	b.eval(`document.querySelector('#live-upstreams').closest('section').hidden && !document.querySelector('#live-binds').innerText.includes('acme')`)
}
