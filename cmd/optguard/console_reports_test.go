package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// moFrom sends an MO from the handset from to the employee's line over
// the bind of systemID.
func (a *apiEnv) moFrom(systemID, from, text string) {
	a.t.Helper()
	st, err := a.sim.SendMO(a.ctx, systemID, testenv.MO{From: from, To: employee, Text: text})
	if err != nil || len(st) == 0 || st[len(st)-1] != pdu.ESME_ROK {
		a.t.Fatalf("MO %q from %s: %v %v", text, from, st, err)
	}
}

// csvOf is the API's CSV answer to path as token.
func (a *apiEnv) csvOf(token, path string) []byte {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.ctx, "GET", a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		a.t.Fatalf("GET %s: %d %v %s\n%s", path, resp.StatusCode, err, resp.Header.Get("Content-Type"), body)
	}
	return body
}

// Seed 000's SMS Opt-In Report and seed 003's consent status report in
// the console: filter, sort, page, and download the CSV, which is the
// API's CSV of the same filters byte for byte.
func TestConsoleReportsAndTheirCSV(t *testing.T) {
	a := startAPI(t)
	// With Consent rows: two handsets' YES over SMPP to the employee's
	// line (Aaron Almaraz), and a list of 30 imported as opted in.
	a.holdFirstMT("Your statement")
	a.mo("acme", "YES")
	a.moFrom("acme", "15551230002", "YES")
	a.waitSubmit("the second opt-in confirmation", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == "15551230002" && strings.Contains(decode(m), "opted in")
	})
	var list strings.Builder
	list.WriteString("number,organization,state,consent_type\n")
	for i := range 30 {
		fmt.Fprintf(&list, "+1555300%04d,acme,opted_in,paper\n", i)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	if out := a.ok("compliance", "POST", "/api/v1/imports?cutoff="+day+"&wait=true", csvBody(list.String())); out["status"] != "done" {
		t.Fatalf("import: %v", out)
	}
	// With Disclaimer: globex's first MT gets the handset the disclaimer.
	g := a.esme("globex", pdu.BindTransceiver)
	submit(t, a.ctx, g, "Your parcel", 0)
	a.waitSubmit("the disclaimer", func(m *pdu.Message) bool { return strings.Contains(decode(m), "parcel") })

	b := openConsole(t, a)
	b.signIn("compliance")
	b.open("#/reports", "SMS Opt-In Report")
	b.waitText("#report-count", "32 rows")
	// 25 a page: the second page has the rest.
	b.waitText("#report-info", "Rows 1–25 of 32")
	b.click("#report-next")
	b.waitText("#report-info", "Rows 26–32 of 32")
	b.shot("reports-consent")

	// Keywords (the sender's name), From or To (the handsets' first
	// digits) and the date range.
	b.typeIn("#rep-keyword", "aaron")
	b.typeIn("#rep-number", "+1555123")
	b.eval(fmt.Sprintf(`(() => { for (const id of ['rep-from', 'rep-to']) document.getElementById(id).value = %q; return true })()`, day))
	b.click("#rep-form-search")
	b.waitText("#report-count", "2 rows")
	b.waitText("#report", "Aaron Almaraz ("+employee+")", "+"+guest, "+15551230002", "sms keyword", "opted in")
	// Sorting by the handset, both ways.
	b.click("#report-sort-number")
	b.eval(`document.querySelector('#report tbody tr').innerText.includes('+15551230001') && document.querySelector('th[aria-sort=ascending] #report-sort-number') !== null`)
	b.click("#report-sort-number")
	b.eval(`document.querySelector('#report tbody tr').innerText.includes('+15551230002') && document.querySelector('th[aria-sort=descending] #report-sort-number') !== null`)
	// The address keeps the filters.
	b.eval(`location.hash.includes('keyword=aaron') && location.hash.includes('number=%2B1555123')`)
	b.shot("reports-filtered")

	b.click("#rep-form-csv")
	b.waitText("#status", "Downloaded opt-in-consent.csv")
	got := b.download("opt-in-consent.csv")
	q := url.Values{"tab": {"consent"}, "keyword": {"aaron"}, "number": {"+1555123"}, "from": {day}, "to": {day}, "format": {"csv"}}
	want := a.csvOf("compliance", "/api/v1/reports/opt-in?"+q.Encode())
	if string(got) != string(want) {
		t.Fatalf("the console's CSV differs from the API's for the same filters:\n got %s\nwant %s", got, want)
	}
	if n := strings.Count(string(want), "\n"); n != 3 {
		t.Errorf("the filtered CSV has %d lines, want a header and 2 rows:\n%s", n, want)
	}

	// With Disclaimer lists globex's handset.
	b.click("#tab-disclaimer")
	b.waitText("#page h1", "SMS Opt-In Report")
	b.waitText("#report-count", "1 row")
	b.waitText("#report", "globex", "+"+guest, "system")
	b.shot("reports-disclaimer")

	// Seed 003's consent status: only the opted-in, with "Provided consent?".
	b.click("#tab-status")
	b.waitText("#page h1", "Consent status report")
	b.click("#st-opted_in")
	b.typeIn("#st-number", "+1555123")
	b.click("#st-form-search")
	b.waitText("#report-count", "2 rows")
	b.waitText("#report", "Yes", "opted in", "handset")
	b.shot("reports-status")
	b.click("#st-form-csv")
	b.waitText("#status", "Downloaded consent-status.csv")
	got = b.download("consent-status.csv")
	want = a.csvOf("compliance", "/api/v1/reports/consent-status?state=opted_in&number=%2B1555123&format=csv")
	if string(got) != string(want) {
		t.Fatalf("the console's status CSV differs from the API's:\n got %s\nwant %s", got, want)
	}
}
