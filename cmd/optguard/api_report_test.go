package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// Seed 000's SMS Opt-In Report of a live optguard, organization scope: the
// employee's first MT is held for consent, the handset's YES comes over
// SMPP, and the report's row names the employee whose MT started it (the
// sender name the organization gives that line, and its number), in JSON
// and CSV and through the keyword and number filters; the audit trail
// says the same line for every event of the conversation.
func TestAPIOptInReportNamesTheSender(t *testing.T) {
	a := startAPI(t)
	a.holdFirstMT("Your statement is ready")
	if st := a.mo("acme", "YES"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	a.waitSubmit("the released MT", textHas("statement"))
	a.checkLedger(store.OrgScope("acme", "+"+guest), store.EventConsentRequested, store.EventNoticeSent,
		store.EventOptedIn, store.EventConfirmationSent, store.EventNoticeSent)

	row := func(query string) map[string]any {
		t.Helper()
		items := a.ok("agent.alice", "GET", "/api/v1/reports/opt-in?"+query, nil)["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("opt-in report ?%s: %d rows %v; want the YES", query, len(items), items)
		}
		return items[0].(map[string]any)
	}
	r := row("organization=acme")
	for k, want := range map[string]string{"organization": "acme", "organization_name": "ACME Bank", "sender_name": "Aaron Almaraz",
		"sender_number": employee, "number": "+" + guest, "method": "sms_keyword", "state": "opted_in"} {
		if r[k] != want {
			t.Errorf("report row %s = %v, want %q (row %v)", k, r[k], want, r)
		}
	}
	for _, q := range []string{"keyword=almaraz", "number=" + employee, "number=%2B" + guest} {
		if got := row(q); got["seq"] != r["seq"] {
			t.Errorf("?%s: row %v; want %v", q, got, r)
		}
	}
	if items := a.ok("agent.alice", "GET", "/api/v1/reports/opt-in?keyword=nobody", nil)["items"].([]any); len(items) != 0 {
		t.Errorf("keyword=nobody: %v", items)
	}

	req, _ := http.NewRequestWithContext(a.ctx, "GET", a.base+"/api/v1/reports/opt-in?format=csv", nil)
	req.Header.Set("Authorization", "Bearer compliance")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), ",acme,ACME Bank,Aaron Almaraz,"+employee+",+"+guest+",") {
		t.Fatalf("CSV: %d\n%s", resp.StatusCode, body)
	}

	items := a.ok("compliance", "GET", "/api/v1/numbers/+"+guest+"/audit?organization=acme", nil)["items"].([]any)
	for _, it := range items {
		if ev := it.(map[string]any); ev["sender"] != employee {
			t.Errorf("audit row %v event %v: sender %v, want %s", ev["seq"], ev["event"], ev["sender"], employee)
		}
	}
}

// holdFirstMT binds the employee's ESME and sends its first MT to the
// guest, which consent mode holds while the guest is asked (from the
// employee's line, Aaron Almaraz); it returns the ESME.
func (a *apiEnv) holdFirstMT(text string) *testenv.ESME {
	a.t.Helper()
	e := a.esme("acme", pdu.BindTransceiver)
	if st := submit(a.t, a.ctx, e, text, 0).Header.Status; st != pdu.ESME_ROK {
		a.t.Fatalf("held MT answered %v", st)
	}
	a.waitSubmit("the consent request of the held MT", textHas("Aaron Almaraz is trying to reach you"))
	return e
}
