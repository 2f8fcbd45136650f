package httpapi_test

import (
	"bytes"
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
