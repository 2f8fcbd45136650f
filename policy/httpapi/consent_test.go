package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

type outcome struct {
	Number, Organization, Sender, State, Detail string
	Sent                                        []string
	Event                                       *store.EventView
	AttemptsLeft                                int `json:"attempts_left"`
}

type numberReply struct {
	Number string
	Scopes []struct {
		store.ConsentView
		LatestEvent *store.EventView `json:"latest_event"`
	}
}

type auditReply struct {
	Number string
	Items  []struct {
		Seq       uint64
		Event     string
		Field     string
		OldValue  string `json:"old_value"`
		NewValue  string `json:"new_value"`
		ChangedBy string `json:"changed_by"`
		Channel   string
		MOText    string `json:"mo_text"`
		Template  string
	}
}

// An agent's opt-in request texts the handset and leaves it pending; once
// the handset texted STOP, recording consent is refused with the rule, and
// the audit trail shows both steps with who made them.
func TestRequestThenHandsetStopRefusesRecordedConsent(t *testing.T) {
	e := newEnv(t)
	var o outcome
	e.ok("agent", "POST", "/api/v1/numbers/+1 (555) 123-0001/opt-in-requests",
		map[string]any{"organization": "acme", "sender": "15550001000", "reason": "payment_plan"}).json(t, &o)
	if o.Number != "+15551230001" || o.State != "pending" || o.Event == nil || o.Event.Type != "consent_requested" ||
		o.Event.Actor != "agent" || o.Event.Method != "agent" || !slices.Contains(o.Sent, policy.TplSenderFirstRequest) {
		t.Fatalf("request outcome: %+v", o)
	}
	if got := e.out.to("+15551230001"); len(got) != 1 || got[0].From != "15550001000" {
		t.Fatalf("texts to the handset: %+v", got)
	}

	// Looked up in the national form the organization reads.
	var n numberReply
	e.ok("auditor", "GET", "/api/v1/numbers/5551230001?organization=acme", nil).json(t, &n)
	if n.Number != "+15551230001" || len(n.Scopes) != 1 || n.Scopes[0].State != "pending" ||
		n.Scopes[0].LatestEvent == nil || n.Scopes[0].LatestEvent.Type != "consent_requested" {
		t.Fatalf("number: %s", mustJSON(n))
	}

	e.apply(store.OrgScope("acme", "+15551230001"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	before := e.head()
	r := e.call("agent", "POST", "/api/v1/numbers/+15551230001/consents",
		map[string]any{"organization": "acme", "consent_type": "paper", "proof": "signed form 12"})
	if msg := r.wantError(t, http.StatusConflict, "override_refused", "").Error.Message; !strings.Contains(msg, "only the handset") {
		t.Fatalf("409 message %q does not say who may opt back in", msg)
	}
	if e.head() != before {
		t.Fatal("a refused consent changed the ledger")
	}
	// Another request may not be texted to an opted-out number either.
	e.call("agent", "POST", "/api/v1/numbers/+15551230001/opt-in-requests",
		map[string]any{"organization": "acme", "sender": "15550001000"}).wantError(t, http.StatusConflict, "override_refused", "")

	var a auditReply
	e.ok("auditor", "GET", "/api/v1/numbers/+15551230001/audit", nil).json(t, &a)
	if len(a.Items) != 2 {
		t.Fatalf("audit: %s", mustJSON(a))
	}
	req, stop := a.Items[0], a.Items[1]
	if req.Event != "consent_requested" || req.ChangedBy != "agent" || req.Channel != "agent" || req.NewValue != "pending" || req.Template != policy.TplSenderFirstRequest {
		t.Fatalf("request row: %+v", req)
	}
	if stop.Event != "opted_out" || stop.ChangedBy != "handset" || stop.Channel != "sms_keyword" || stop.MOText != "STOP" ||
		stop.OldValue != "pending" || stop.NewValue != "opted_out" || stop.Field != "consent_state" {
		t.Fatalf("STOP row: %+v", stop)
	}

	// The CSV has the same rows under the documented header.
	r = e.ok("auditor", "GET", "/api/v1/numbers/+15551230001/audit?format=csv", nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != "seq,when,organization,sender,event,field,old_value,new_value,changed_by,channel,mo_text,template,template_version,message_id,note" ||
		rows[2][4] != "opted_out" || rows[2][8] != "handset" || rows[2][10] != "STOP" {
		t.Fatalf("audit CSV:\n%s", r.Body)
	}
}

// Recording consent with proof opts the handset in, the consent type and
// proof in the event, and with a sender the confirmation goes out.
func TestRecordConsentWithProof(t *testing.T) {
	e := newEnv(t)
	var o outcome
	e.ok("agent", "POST", "/api/v1/numbers/+15551230002/consents",
		map[string]any{"organization": "acme", "sender": "15550001000", "consent_type": "email", "proof": "mail of 2026-11-30 from the customer"}).json(t, &o)
	if o.State != "opted_in" || o.Event == nil || o.Event.Actor != "agent" || !strings.Contains(o.Event.Note, "consent type: email") ||
		!strings.Contains(o.Event.Note, "mail of 2026-11-30") || len(o.Sent) != 1 {
		t.Fatalf("outcome: %+v", o)
	}
	// Without proof, or with a type that is not one, nothing is recorded.
	before := e.head()
	e.call("agent", "POST", "/api/v1/numbers/+15551230003/consents",
		map[string]any{"organization": "acme", "consent_type": "email"}).wantError(t, http.StatusBadRequest, "invalid_field", "proof")
	e.call("agent", "POST", "/api/v1/numbers/+15551230003/consents",
		map[string]any{"organization": "acme", "consent_type": "fax", "proof": "x"}).wantError(t, http.StatusBadRequest, "invalid_field", "consent_type")
	if e.head() != before {
		t.Fatal("a refused consent changed the ledger")
	}
	// The consent list finds it by state and prefix.
	var list struct {
		Items []store.ConsentView
	}
	e.ok("auditor", "GET", "/api/v1/consents?organization=acme&state=opted_in&number_prefix=%2B1555123", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Number != "+15551230002" || list.Items[0].OptedInMethod != "agent" {
		t.Fatalf("list: %s", mustJSON(list))
	}
	e.ok("auditor", "GET", "/api/v1/consents?organization=acme&state=opted_out", nil).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("opted_out list: %s", mustJSON(list))
	}
}

// An agent opt-out texts the final confirmation; the line it comes from
// is required, and a second opt-out texts nothing.
func TestAgentOptOutSendsTheFinalText(t *testing.T) {
	e := newEnv(t)
	e.call("agent", "POST", "/api/v1/numbers/+15551230004/opt-out",
		map[string]any{"organization": "acme"}).wantError(t, http.StatusBadRequest, "invalid_field", "sender")
	var o outcome
	e.ok("agent", "POST", "/api/v1/numbers/+15551230004/opt-out",
		map[string]any{"organization": "acme", "sender": "15550001000", "note": "customer asked on the phone"}).json(t, &o)
	if o.State != "opted_out" || !slices.Equal(o.Sent, []string{policy.TplAgentOptOut}) || o.Event.Actor != "agent" {
		t.Fatalf("outcome: %+v", o)
	}
	e.ok("agent", "POST", "/api/v1/numbers/+15551230004/opt-out",
		map[string]any{"organization": "acme", "sender": "15550001000"}).json(t, &o)
	if len(o.Sent) != 0 {
		t.Fatalf("second opt-out texted %v", o.Sent)
	}
	if got := e.out.to("+15551230004"); len(got) != 1 {
		t.Fatalf("texts: %+v", got)
	}
}

// A double opt-in's PIN cannot be verified before the handset's YES, and
// a wrong PIN counts down the attempts.
func TestVerifyPINBeforeTheYes(t *testing.T) {
	e := newEnv(t)
	pin := map[string]any{"organization": "acme", "sender": "15550001000", "pin": "123456"}
	e.call("agent", "POST", "/api/v1/numbers/+15551230005/pin", pin).wantError(t, http.StatusConflict, "pin_unavailable", "")
	var o outcome
	e.ok("agent", "POST", "/api/v1/numbers/+15551230005/opt-in-requests",
		map[string]any{"organization": "acme", "sender": "15550001000", "double": true}).json(t, &o)
	if o.State != "pending" {
		t.Fatalf("outcome: %+v", o)
	}
	r := e.call("agent", "POST", "/api/v1/numbers/+15551230005/pin", pin)
	if msg := r.wantError(t, http.StatusConflict, "pin_unavailable", "").Error.Message; !strings.Contains(msg, "YES") {
		t.Fatalf("message %q", msg)
	}
}

// A token sees its own organizations only: a sub-organization's token sees
// its account's consent, another organization's numbers answer 404, and
// a list without an organization shows nothing of the others.
func TestTokensSeeTheirOrganizationsOnly(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230006"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.apply(store.OrgScope("globex", "+447700900006"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")

	e.ok("acme-sales-agent", "GET", "/api/v1/numbers/+15551230006", nil)
	e.ok("acme-admin", "GET", "/api/v1/numbers/+15551230006?organization=acme-sales", nil)
	e.call("globex-auditor", "GET", "/api/v1/numbers/+15551230006", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("globex-auditor", "GET", "/api/v1/numbers/+15551230006?organization=acme", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("globex-auditor", "GET", "/api/v1/numbers/+15551230006/audit", nil).wantError(t, http.StatusNotFound, "not_found", "")

	var list struct{ Items []store.ConsentView }
	e.ok("globex-auditor", "GET", "/api/v1/consents", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Organization != "globex" {
		t.Fatalf("globex sees %s", mustJSON(list))
	}
	e.ok("auditor", "GET", "/api/v1/consents", nil).json(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("an unlimited token sees %s", mustJSON(list))
	}
	var orgs struct{ Items []struct{ Name, Main string } }
	e.ok("acme-admin", "GET", "/api/v1/organizations", nil).json(t, &orgs)
	if len(orgs.Items) != 2 || orgs.Items[0].Name != "acme" || orgs.Items[1].Name != "acme-sales" || orgs.Items[1].Main != "acme" {
		t.Fatalf("acme-admin's organizations: %+v", orgs)
	}

	// Changes are refused the same way, and change nothing.
	before := e.head()
	e.call("acme-admin", "POST", "/api/v1/dnc", map[string]any{"organization": "globex", "number": "+447700900007"}).
		wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("acme-sales-agent", "POST", "/api/v1/numbers/+447700900006/consents",
		map[string]any{"organization": "globex", "consent_type": "web", "proof": "x"}).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	if e.head() != before {
		t.Fatal("a refused change wrote the ledger")
	}
}

// Numbers outside an organization's allowed countries are refused with
// 422 naming the rule; numbers that are none are refused too.
func TestNumbersAreCheckedAgainstTheOrganization(t *testing.T) {
	e := newEnv(t)
	before := e.head()
	r := e.call("agent", "POST", "/api/v1/numbers/+447700900123/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000"})
	if msg := r.wantError(t, http.StatusUnprocessableEntity, "country_not_allowed", "number").Error.Message; !strings.Contains(msg, "countries.allowed") {
		t.Fatalf("message %q does not name the rule", msg)
	}
	e.call("agent", "POST", "/api/v1/numbers/12ab/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000"}).
		wantError(t, http.StatusUnprocessableEntity, "invalid_number", "number")
	e.call("auditor", "GET", "/api/v1/numbers/not-a-number?organization=acme", nil).wantError(t, http.StatusUnprocessableEntity, "invalid_number", "number")
	e.call("auditor", "GET", "/api/v1/numbers/+447700900123?organization=acme", nil).wantError(t, http.StatusUnprocessableEntity, "country_not_allowed", "number")
	// globex takes any country, and reads national numbers as British.
	e.ok("agent", "POST", "/api/v1/numbers/07700 900123/opt-in-requests", map[string]any{"organization": "globex", "sender": "447700900000"})
	if got := e.out.to("+447700900123"); len(got) != 1 {
		t.Fatalf("texts to the British number: %+v", got)
	}
	if e.head() != before+1 {
		t.Fatalf("ledger moved from %d to %d, want one event", before, e.head())
	}
}

// The message log shows what was held and sent to the number.
func TestMessageLogOfANumber(t *testing.T) {
	e := newEnv(t)
	e.ok("agent", "POST", "/api/v1/numbers/+15551230008/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000"})
	var m struct {
		Items []store.MessageView
	}
	waitFor(t, func() bool {
		e.ok("auditor", "GET", "/api/v1/numbers/+15551230008/messages", nil).json(t, &m)
		return len(m.Items) == 1
	})
	if m.Items[0].Status != "sent" || m.Items[0].Organization != "acme" {
		t.Fatalf("messages: %s", mustJSON(m))
	}
	e.ok("globex-auditor", "GET", "/api/v1/numbers/+15551230008/messages", nil).json(t, &m)
	if len(m.Items) != 0 {
		t.Fatalf("globex sees acme's messages: %s", mustJSON(m))
	}
}

// The consent list filters by how the opt-in was given (seed 002's
// Consent Type): a person's proof, the handset's own reply, an import.
func TestListByConsentType(t *testing.T) {
	e := newEnv(t)
	for n, typ := range map[string]string{"+15551230021": "phone", "+15551230022": "paper"} {
		e.ok("agent", "POST", "/api/v1/numbers/"+n+"/consents", map[string]any{"organization": "acme", "consent_type": typ, "proof": "ref " + n})
	}
	e.apply(store.OrgScope("acme", "+15551230023"), store.EventOptedIn, store.MethodSMSKeyword, "YES")
	e.clk.add(time.Hour)
	e.upload("admin", "cutoff=2026-12-01", "number,organization,consent_type\n+15551230024,acme,web\n+15551230025,acme,\n")
	// A phone consent later lifted by the handset's STOP has no type.
	e.ok("agent", "POST", "/api/v1/numbers/+15551230026/consents", map[string]any{"organization": "acme", "consent_type": "phone", "proof": "call 9"})
	e.apply(store.OrgScope("acme", "+15551230026"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")

	types := func(q string) map[string]string {
		var list struct {
			Items []struct {
				Number      string
				State       string
				ConsentType string `json:"consent_type"`
			}
		}
		e.ok("auditor", "GET", "/api/v1/consents?organization=acme"+q, nil).json(t, &list)
		got := map[string]string{}
		for _, it := range list.Items {
			got[it.Number] = it.State + ":" + it.ConsentType
		}
		return got
	}
	all := types("")
	for n, want := range map[string]string{"+15551230021": "opted_in:phone", "+15551230022": "opted_in:paper", "+15551230023": "opted_in:sms_response",
		"+15551230024": "opted_in:web", "+15551230025": "opted_in:", "+15551230026": "opted_out:"} {
		if all[n] != want {
			t.Errorf("%s: %q, want %q", n, all[n], want)
		}
	}
	if got := types("&consent_type=phone"); len(got) != 1 || got["+15551230021"] == "" {
		t.Errorf("consent_type=phone: %v", got)
	}
	if got := types("&consent_type=sms_response"); len(got) != 1 || got["+15551230023"] == "" {
		t.Errorf("consent_type=sms_response: %v", got)
	}
	if got := types("&consent_type=phone&state=opted_out"); len(got) != 0 {
		t.Errorf("consent_type with state opted_out: %v", got)
	}
	e.call("auditor", "GET", "/api/v1/consents?consent_type=fax", nil).wantError(t, http.StatusBadRequest, "invalid_field", "consent_type")
}

// The audit trail's CSV, golden: seed 002's field, old and new value,
// changed by, when and channel, with the handset's own words (kept as
// written, a formula defused) and the template and version texted, and
// the sender the agent's request was texted from (organization scope:
// the event's via; the two events applied without one have none).
func TestAuditTrailCSV(t *testing.T) {
	e := newEnv(t)
	const n = "+15551230031"
	e.ok("agent", "POST", "/api/v1/numbers/"+n+"/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000", "reason": "quick"})
	e.clk.add(time.Minute)
	e.apply(store.OrgScope("acme", n), store.EventOptedIn, store.MethodSMSKeyword, `Yes, "please"`)
	e.clk.add(time.Minute)
	e.apply(store.OrgScope("acme", n), store.EventOptedOut, store.MethodSMSKeyword, "=STOP()")
	r := e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/audit?organization=acme&format=csv", nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	// The message id of an auto-message is made fresh each run.
	golden(t, "audit.csv", regexp.MustCompile(`og-auto-[0-9a-z]+`).ReplaceAll(r.Body, []byte("og-auto-ID")))
}
