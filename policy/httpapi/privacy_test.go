package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/optguard/optguard/store"
)

// subjectDoc is the subject access export as the tests read it.
type subjectDoc struct {
	Number   string
	Subject  string
	Consents []store.ConsentView
	Events   []store.EventView
	Held     []map[string]any `json:"held_messages"`
	Messages []store.MessageView
}

type erasureReply struct {
	Number, Subject  string
	Scopes           int
	Suppressed       int
	Held             int `json:"held_deleted"`
	Events           []uint64
	MessagesUnlinked int `json:"messages_unlinked"`
}

// privacyEnv has one number known to two accounts: acme asked it for
// consent (a text in the message log) and it replied YES; it texted STOP
// to globex.
func privacyEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	n := "+15551230101"
	e.ok("agent", "POST", "/api/v1/numbers/"+n+"/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000"})
	e.apply(store.OrgScope("acme", n), store.EventOptedIn, store.MethodSMSKeyword, "YES")
	e.apply(store.OrgScope("globex", n), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	waitFor(t, func() bool {
		var m struct{ Items []store.MessageView }
		e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/messages", nil).json(t, &m)
		return len(m.Items) == 1
	})
	return e, n
}

// The subject access export is the document `optguard subject export`
// writes: every record, event (with the handset's words) and message of
// the number, the number read in any common form.
func TestSubjectExport(t *testing.T) {
	e, n := privacyEnv(t)
	r := e.ok("admin", "GET", "/api/v1/subjects/(555)%20123-0101", nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "subject-15551230101.json") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	d, err := e.st.SubjectData(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := d.WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, want.Bytes()) {
		t.Fatalf("the API's export differs from the store's document:\n%s\nwant\n%s", r.Body, want.Bytes())
	}
	var doc subjectDoc
	r.json(t, &doc)
	texts := ""
	for _, ev := range doc.Events {
		if ev.MO != nil {
			texts += ev.MO.Text + " "
		}
	}
	if doc.Number != n || doc.Subject == "" || len(doc.Consents) != 2 || len(doc.Events) != 3 || texts != "YES STOP " || len(doc.Messages) != 1 {
		t.Fatalf("export: %s", r.Body)
	}

	// A token of acme gets acme's part; globex's auditor is below admin;
	// a number nothing is held of is 404.
	e.ok("acme-admin", "GET", "/api/v1/subjects/"+n, nil).json(t, &doc)
	for _, c := range doc.Consents {
		if c.Organization != "acme" {
			t.Fatalf("acme's export has %s's record: %s", c.Organization, mustJSON(doc))
		}
	}
	if len(doc.Consents) != 1 || len(doc.Events) != 2 || len(doc.Messages) != 1 || doc.Subject == "" {
		t.Fatalf("acme's export: %s", mustJSON(doc))
	}
	e.call("globex-auditor", "GET", "/api/v1/subjects/"+n, nil).wantError(t, http.StatusForbidden, "forbidden", "")
	e.apply(store.OrgScope("globex", "+447700900123"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.call("acme-admin", "GET", "/api/v1/subjects/+447700900123", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("admin", "GET", "/api/v1/subjects/+15551230199", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("admin", "GET", "/api/v1/subjects/12ab", nil).wantError(t, http.StatusUnprocessableEntity, "invalid_number", "number")
	e.call("acme-admin", "GET", "/api/v1/subjects/"+n+"?organization=globex", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	// globex reads national numbers as British ones.
	e.ok("admin", "GET", "/api/v1/subjects/07700900123?organization=globex", nil).json(t, &doc)
	if doc.Number != "+447700900123" {
		t.Fatalf("07700900123 in globex read as %s", doc.Number)
	}
}

// An erasure must repeat the number, and only an admin token of every
// organization may make one; a refused one changes nothing.
func TestErasureRefusals(t *testing.T) {
	e, n := privacyEnv(t)
	before := e.head()
	path := "/api/v1/subjects/" + n + "/erasure"
	e.call("admin", "POST", path, map[string]any{}).wantError(t, http.StatusBadRequest, "invalid_field", "confirm_number")
	e.call("admin", "POST", path, map[string]any{"confirm_number": "+15551230102"}).wantError(t, http.StatusBadRequest, "invalid_field", "confirm_number")
	e.call("admin", "POST", path, map[string]any{"confirm_number": "not a number"}).wantError(t, http.StatusBadRequest, "invalid_field", "confirm_number")
	e.call("admin", "POST", path, map[string]any{"confirm_number": n, "why": "x"}).wantError(t, http.StatusBadRequest, "unknown_field", "why")
	e.call("admin", "POST", path, "").wantError(t, http.StatusBadRequest, "malformed_json", "")
	e.call("agent", "POST", path, map[string]any{"confirm_number": n}).wantError(t, http.StatusForbidden, "forbidden", "")
	msg := e.call("acme-admin", "POST", path, map[string]any{"confirm_number": n}).wantError(t, http.StatusForbidden, "forbidden", "").Error.Message
	if !strings.Contains(msg, "every organization") {
		t.Fatalf("the limited token's refusal says %q", msg)
	}
	e.call("admin", "POST", "/api/v1/subjects/+15551230199/erasure", map[string]any{"confirm_number": "+15551230199"}).wantError(t, http.StatusNotFound, "not_found", "")
	if e.head() != before {
		t.Fatal("a refused erasure wrote the ledger")
	}
	var nr numberReply
	e.ok("auditor", "GET", "/api/v1/numbers/"+n, nil).json(t, &nr)
	if len(nr.Scopes) != 2 || nr.Scopes[0].Erased || nr.Scopes[1].Erased {
		t.Fatalf("after refused erasures: %s", mustJSON(nr))
	}
}

// An erasure confirmed by the number in another form erases it in every
// organization, recorded with the token's name and method api; then every
// listing shows what is left as erased: globex's opt-out, kept as a
// suppression entry, with no number, time or history; acme's opt-in is
// gone, so acme sees an unknown number.
func TestErasureShownEverywhere(t *testing.T) {
	e, n := privacyEnv(t)
	var rep erasureReply
	e.ok("admin", "POST", "/api/v1/subjects/"+n+"/erasure", map[string]any{"confirm_number": "555-123-0101"}).json(t, &rep)
	if rep.Number != n || rep.Subject == "" || rep.Scopes != 2 || rep.Suppressed != 1 || len(rep.Events) != 2 || rep.MessagesUnlinked != 1 {
		t.Fatalf("erasure: %+v", rep)
	}
	for _, seq := range rep.Events {
		ev, err := e.st.Event(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != store.EventErased || ev.Actor != "admin" || ev.Method != store.MethodAPI {
			t.Fatalf("erased event %d: %+v", seq, ev)
		}
	}
	if v, err := e.st.Verify(t.Context()); err != nil || v.Events != e.head() {
		t.Fatalf("the chain after the erasure: %+v %v", v, err)
	}
	// Erased already: nothing to erase.
	e.call("admin", "POST", "/api/v1/subjects/"+n+"/erasure", map[string]any{"confirm_number": n}).wantError(t, http.StatusNotFound, "not_found", "")

	// GET /numbers/{n}: globex's suppression entry, erased, no event.
	var nr numberReply
	e.ok("auditor", "GET", "/api/v1/numbers/"+n, nil).json(t, &nr)
	if len(nr.Scopes) != 1 || !nr.Scopes[0].Erased || nr.Scopes[0].Organization != "globex" || nr.Scopes[0].State != "opted_out" || nr.Scopes[0].LatestEvent != nil {
		t.Fatalf("number: %s", mustJSON(nr))
	}
	e.call("auditor", "GET", "/api/v1/numbers/"+n+"?organization=acme", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.ok("globex-auditor", "GET", "/api/v1/numbers/"+n+"?organization=globex", nil).json(t, &nr)
	if len(nr.Scopes) != 1 || !nr.Scopes[0].Erased {
		t.Fatalf("number in globex: %s", mustJSON(nr))
	}

	// The audit trail: one erased row for globex, none of the old events.
	var ar struct {
		Items []map[string]any
	}
	e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/audit", nil).json(t, &ar)
	if len(ar.Items) != 1 || ar.Items[0]["erased"] != true || ar.Items[0]["event"] != "erased" || ar.Items[0]["organization"] != "globex" ||
		ar.Items[0]["new_value"] != "opted_out" || ar.Items[0]["seq"] != nil || ar.Items[0]["when"] != nil || ar.Items[0]["mo_text"] != nil {
		t.Fatalf("audit: %s", mustJSON(ar))
	}
	rows, err := csv.NewReader(bytes.NewReader(e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/audit?format=csv", nil).Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "" || rows[1][1] != "" || rows[1][2] != "globex" || rows[1][4] != "erased" || rows[1][8] != "erased" {
		t.Fatalf("audit CSV: %q", rows)
	}
	e.call("auditor", "GET", "/api/v1/numbers/"+n+"/audit?organization=acme", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.ok("globex-auditor", "GET", "/api/v1/numbers/"+n+"/audit?organization=globex", nil).json(t, &ar)
	if len(ar.Items) != 1 || ar.Items[0]["erased"] != true {
		t.Fatalf("audit in globex: %s", mustJSON(ar))
	}

	// The message log: gone, and said to be.
	var ml struct {
		Erased bool
		Items  []store.MessageView
	}
	e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/messages", nil).json(t, &ml)
	if !ml.Erased || len(ml.Items) != 0 {
		t.Fatalf("messages: %s", mustJSON(ml))
	}

	// Consent lists: the suppression entry, erased and without a number;
	// a whole number still finds it.
	var cl struct{ Items []store.ConsentView }
	e.ok("auditor", "GET", "/api/v1/consents", nil).json(t, &cl)
	if len(cl.Items) != 1 || !cl.Items[0].Erased || cl.Items[0].Number != "" || cl.Items[0].State != "opted_out" || cl.Items[0].UpdatedAt != nil {
		t.Fatalf("consents: %s", mustJSON(cl))
	}
	e.ok("auditor", "GET", "/api/v1/consents?number_prefix="+n[1:], nil).json(t, &cl)
	if len(cl.Items) != 1 || !cl.Items[0].Erased || cl.Items[0].Number != n {
		t.Fatalf("consents of the whole number: %s", mustJSON(cl))
	}
	e.ok("auditor", "GET", "/api/v1/consents?organization=acme", nil).json(t, &cl)
	if len(cl.Items) != 0 {
		t.Fatalf("acme's consents: %s", mustJSON(cl))
	}

	// The do-not-contact list: still opted out, erased, no time to show.
	var dl struct{ Items []map[string]any }
	e.ok("auditor", "GET", "/api/v1/dnc", nil).json(t, &dl)
	if len(dl.Items) != 1 || dl.Items[0]["erased"] != true || dl.Items[0]["by"] != "erased" || dl.Items[0]["number"] != "" ||
		dl.Items[0]["opted_out_at"] != nil || dl.Items[0]["method"] != "sms_keyword" {
		t.Fatalf("dnc: %s", mustJSON(dl))
	}
	got := string(e.ok("auditor", "GET", "/api/v1/dnc?format=csv", nil).Body)
	if want := "number,organization,sender,opted_out_at,method,by\n,globex,,,sms_keyword,erased\n"; got != want {
		t.Fatalf("dnc CSV:\n%s\nwant\n%s", got, want)
	}

	// The export: the suppression entry only, and no subject.
	var doc subjectDoc
	e.ok("admin", "GET", "/api/v1/subjects/"+n, nil).json(t, &doc)
	if doc.Subject != "" || len(doc.Consents) != 1 || !doc.Consents[0].Erased || len(doc.Events)+len(doc.Messages)+len(doc.Held) != 0 {
		t.Fatalf("export after the erasure: %s", mustJSON(doc))
	}
}

// A number erased with nothing to keep is unknown everywhere, as one
// never seen.
func TestErasureWithoutOptOut(t *testing.T) {
	e := newEnv(t)
	n := "+15551230102"
	e.apply(store.OrgScope("acme", n), store.EventOptedIn, store.MethodSMSKeyword, "YES")
	var rep erasureReply
	e.ok("admin", "POST", "/api/v1/subjects/"+n+"/erasure", map[string]any{"confirm_number": n}).json(t, &rep)
	if rep.Scopes != 1 || rep.Suppressed != 0 {
		t.Fatalf("erasure: %+v", rep)
	}
	e.call("auditor", "GET", "/api/v1/numbers/"+n, nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("auditor", "GET", "/api/v1/numbers/"+n+"/audit", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("admin", "GET", "/api/v1/subjects/"+n, nil).wantError(t, http.StatusNotFound, "not_found", "")
	var ml struct {
		Erased bool
		Items  []store.MessageView
	}
	e.ok("auditor", "GET", "/api/v1/numbers/"+n+"/messages", nil).json(t, &ml)
	if ml.Erased || len(ml.Items) != 0 {
		t.Fatalf("messages: %s", mustJSON(ml))
	}
	var cl struct{ Items []store.ConsentView }
	e.ok("auditor", "GET", "/api/v1/consents", nil).json(t, &cl)
	if len(cl.Items) != 0 {
		t.Fatalf("consents: %s", mustJSON(cl))
	}
}
