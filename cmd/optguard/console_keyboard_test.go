package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/optguard/optguard/policy/httpapi/console"
	"github.com/optguard/optguard/smpp/pdu"
)

// consolePages are the console's pages as a test visits them: the route,
// the title, and what shows once the page has its data.
var consolePages = []struct{ name, hash, title, ready string }{
	{"lookup", "#/lookup/%2B" + guest, "Number lookup", "#audit tbody tr"},
	{"reports", "#/reports/consent", "SMS Opt-In Report", "#report tbody tr"},
	{"disclaimer", "#/reports/disclaimer", "SMS Opt-In Report", "#report tbody tr"},
	{"status", "#/reports/status", "Consent status report", "#report tbody tr"},
	{"dnc", "#/dnc", "Do-not-contact list", "#dnc tbody tr"},
	{"import", "#/import", "Import a consent list", "#imp-list tbody tr"},
	{"review", "#/review", "Review queue", "#review tbody tr"},
	{"config", "#/config", "Organizations & templates", "#tpl-acme tbody tr"},
	{"live", "#/live", "Live", "#live-totals .counter"},
}

// someTraffic gives every page something to show: the guest opted in
// and wrote a possible opt-out (the review queue), another handset's
// STOP (the do-not-contact list), a disclaimer from globex.
func someTraffic(t *testing.T, a *apiEnv) {
	t.Helper()
	a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "YES")
	a.waitSubmit("the opt-in confirmation", textHas("opted in"))
	a.mo("acme", "can you stop the autopay")
	a.moFrom("acme", "15551230002", "STOP")
	g := a.esme("globex", pdu.BindTransceiver)
	submit(t, a.ctx, g, "Your parcel", 0)
	a.waitSubmit("globex's MT", textHas("parcel"))
}

// Every page works from the keyboard alone: Tab reaches every control
// (each link, button, field and fold), Enter and Space work them, a
// dialog keeps Tab inside and Escape closes it, giving the focus back.
func TestConsoleKeyboardOnly(t *testing.T) {
	a := startAPI(t)
	someTraffic(t, a)
	b := openConsole(t, a)

	// Sign in with the keyboard: the token field has the focus; Enter submits.
	b.eval(`document.activeElement.id === 'token'`)
	b.tabsReachAll("sign-in", 3)
	b.focus("#token")
	b.do(chromedpKeys("compliance" + kb.Enter))
	b.waitText("#who", "compliance")

	for _, p := range consolePages {
		b.open(p.hash, p.title)
		b.waitVisible(p.ready)
		b.tabsReachAll(p.name, 10)
	}

	// Enter follows a link: the nav's Reports.
	b.focus(`nav a[data-page=reports]`)
	b.key(kb.Enter)
	b.waitText("#page h1", "SMS Opt-In Report")
	b.waitVisible("#report tbody tr")
	// Space works a button: a column's sort.
	b.focus("#report-sort-timestamp")
	b.key(" ")
	b.eval(`document.querySelector('#report-sort-timestamp').closest('th').getAttribute('aria-sort') === 'ascending'`)
	b.key(kb.Enter)
	b.eval(`document.querySelector('#report-sort-timestamp').closest('th').getAttribute('aria-sort') === 'descending'`)
	// Space ticks a box; Enter in a field submits its form.
	b.open("#/reports/status", "Consent status report")
	b.focus("#st-opted_out")
	b.key(" ")
	b.eval(`document.getElementById('st-opted_out').checked`)
	b.focus("#st-number")
	b.key(kb.Enter)
	b.waitText("#report-count", "1 row")
	b.waitText("#report", "+15551230002")
	// Enter opens a fold.
	b.open("#/config", "Organizations & templates")
	b.focus("#org-globex summary")
	b.key(kb.Enter)
	b.eval(`document.getElementById('org-globex').open`)

	// A dialog: Enter on its button opens it with the focus inside; Tab
	// and Shift+Tab stay inside; Escape closes it and the focus is back.
	b.open("#/lookup/%2B"+guest, "Number lookup")
	b.waitVisible("#act-consent")
	b.focus("#act-consent")
	b.key(kb.Enter)
	b.waitVisible("dialog #act-org")
	b.eval(`document.activeElement.id === 'act-org'`)
	for range 12 {
		b.key(kb.Tab)
		b.eval(`document.querySelector('dialog').contains(document.activeElement)`)
	}
	b.do(chromedpShiftTab())
	b.eval(`document.querySelector('dialog').contains(document.activeElement)`)
	b.key(kb.Escape)
	b.until(`!document.querySelector('dialog') && document.activeElement.id === 'act-consent'`)
	// And the dialog's own button works from the keyboard: the refusal is
	// read out (role alert) without a mouse.
	b.key(kb.Enter)
	b.waitVisible("dialog #act-proof")
	b.focus("dialog button[type=submit]")
	b.key(kb.Enter)
	b.waitText("dialog .error", "Check the form", "proof")
	b.eval(`document.querySelector('dialog .error').getAttribute('role') === 'alert'`)
	b.key(kb.Escape)
	b.until(`!document.querySelector('dialog')`)

	// The skip link takes the focus to the page.
	b.focus("#skip")
	b.key(kb.Enter)
	b.until(`document.activeElement === document.querySelector('#page h1')`)
}

// The Content-Security-Policy is on every page and file the console
// loads, and the console loads nothing from anywhere but the admin
// listener (openConsole checks every request of every test as well).
func TestConsoleCSPAndOrigin(t *testing.T) {
	a := startAPI(t)
	someTraffic(t, a)
	b := openConsole(t, a)
	b.signIn("compliance")
	for _, p := range consolePages {
		b.open(p.hash, p.title)
		b.waitVisible(p.ready)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	served := map[string]bool{}
	for u, csps := range b.responses {
		pu, err := url.Parse(u)
		if err != nil || !b.local(u) {
			t.Errorf("a response from %s", u)
			continue
		}
		name, ok := strings.CutPrefix(pu.Path, console.Prefix)
		if !ok {
			continue // the API's answers: JSON, not pages
		}
		if name == "" {
			name = "index.html"
		}
		served[name] = true
		for _, csp := range csps {
			if csp != console.CSP {
				t.Errorf("%s came with Content-Security-Policy %q", u, csp)
			}
		}
	}
	for _, f := range console.Files() {
		if !served[f] && f != "icon.svg" { // a headless browser need not fetch the icon
			t.Errorf("the console never loaded %s", f)
		}
	}
	if len(b.requests) < len(console.Files())+len(consolePages) {
		t.Errorf("only %d requests seen: %v", len(b.requests), b.requests)
	}
	t.Logf("%d requests, all to %s; %d console files with the CSP", len(b.requests), b.host, len(served))
}

// tabsReachAll checks that Tab reaches every control of the page shown
// (at least least of them), and that the focus shows where it is.
func (b *browserTab) tabsReachAll(page string, least int) {
	b.t.Helper()
	actions := b.markActions()
	if len(actions) < least {
		b.t.Fatalf("%s: only %d controls: %v", page, len(actions), actions)
	}
	reached := b.tabThrough(4*len(actions) + 10)
	var missed []string
	for k, what := range actions {
		if !reached[k] {
			missed = append(missed, what)
		}
	}
	slices.Sort(missed)
	if len(missed) > 0 {
		b.t.Errorf("%s: Tab never reaches %d of its %d controls: %s", page, len(missed), len(actions), strings.Join(missed, "; "))
	}
	// Where the focus is, it shows (a visible outline).
	b.eval(`(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 })()`)
}
