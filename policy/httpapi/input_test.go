package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/store"
)

// Bad requests get a 4xx that names what is wrong, and change nothing.
func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.MaxBody = 2048 })
	const path = "/api/v1/numbers/+15551230050/opt-in-requests"
	cases := []struct {
		name          string
		body          any
		status        int
		code, field   string
		messageSaying string
	}{
		{"malformed JSON", `{"organization": "acme",`, 400, "malformed_json", "", "ends in the middle"},
		{"syntax error", "{\n  \"organization\": acme\n}", 400, "malformed_json", "", "line 2"},
		{"not an object", `["acme"]`, 400, "malformed_json", "", "JSON object"},
		{"two objects", `{"organization":"acme","sender":"15550001000"} {}`, 400, "malformed_json", "", "one JSON object"},
		{"empty body", ``, 400, "malformed_json", "", "empty"},
		{"unknown field", map[string]any{"organization": "acme", "sender": "15550001000", "bogus": 1}, 400, "unknown_field", "bogus", "bogus"},
		{"wrong type", map[string]any{"organization": "acme", "sender": "15550001000", "double": "yes"}, 400, "invalid_field", "double", "true or false"},
		{"oversize", map[string]any{"organization": "acme", "sender": "15550001000", "note": strings.Repeat("x", 4000)}, 413, "body_too_large", "", "admin.max_body_bytes"},
		{"note too long", map[string]any{"organization": "acme", "sender": "15550001000", "note": strings.Repeat("x", 1500)}, 400, "invalid_field", "note", "at most"},
		{"terminal escape in note", map[string]any{"organization": "acme", "sender": "15550001000", "note": "\x1b[31mred"}, 400, "invalid_field", "note", "control character"},
		{"header injection in note", map[string]any{"organization": "acme", "sender": "15550001000", "note": "ok\r\nX-Evil: 1"}, 400, "invalid_field", "note", "control character"},
		{"NUL in reason", map[string]any{"organization": "acme", "sender": "15550001000", "reason": "agent\x00"}, 400, "invalid_field", "reason", "agent"},
		{"SQL in organization", map[string]any{"organization": "acme' OR '1'='1", "sender": "15550001000"}, 404, "unknown_organization", "organization", "no such organization"},
		{"script in sender", map[string]any{"organization": "acme", "sender": "<script>alert(1)</script>"}, 400, "invalid_field", "sender", "alphanumeric"},
		{"missing sender", map[string]any{"organization": "acme"}, 400, "invalid_field", "sender", "required"},
	}
	before := e.head()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("agent", "POST", path, c.body)
			got := r.wantError(t, c.status, c.code, c.field)
			if !strings.Contains(got.Error.Message, c.messageSaying) {
				t.Fatalf("message %q does not say %q", got.Error.Message, c.messageSaying)
			}
		})
	}
	// Path and query are checked as strictly.
	e.call("agent", "POST", "/api/v1/numbers/'; DROP TABLE consent; --/opt-in-requests",
		map[string]any{"organization": "acme", "sender": "15550001000"}).wantError(t, 422, "invalid_number", "number")
	e.call("auditor", "GET", "/api/v1/consents?organisation=acme", nil).wantError(t, 400, "unknown_parameter", "organisation")
	e.call("auditor", "GET", "/api/v1/consents?state=maybe", nil).wantError(t, 400, "invalid_field", "state")
	e.call("auditor", "GET", "/api/v1/consents?updated_from=yesterday", nil).wantError(t, 400, "invalid_field", "updated_from")
	e.call("auditor", "GET", "/api/v1/consents?limit=5000", nil).wantError(t, 400, "invalid_field", "limit")
	e.call("auditor", "GET", "/api/v1/consents?number_prefix=1555%25", nil).wantError(t, 400, "invalid_field", "number_prefix")
	e.call("auditor", "GET", "/api/v1/numbers/+15551230050/audit?format=xml", nil).wantError(t, 400, "invalid_field", "format")

	// A body that is not JSON is refused as such.
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader("organization=acme"))
	req.Header.Set("Authorization", "Bearer agent")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form body: %d, want 415", resp.StatusCode)
	}
	if e.head() != before || len(e.out.to("+15551230050")) != 0 {
		t.Fatal("a refused request changed the ledger or texted the handset")
	}
}

// Free text is kept as written and shown safely: escaped in JSON, and in
// CSV kept from being read as a spreadsheet formula.
func TestFreeTextIsShownSafely(t *testing.T) {
	e := newEnv(t)
	note := `=HYPERLINK("http://evil.example","x") <script>alert(1)</script>`
	e.ok("admin", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": "+15551230051", "note": note})
	r := e.ok("auditor", "GET", "/api/v1/numbers/+15551230051/audit", nil)
	if strings.Contains(string(r.Body), "<script>") || !strings.Contains(string(r.Body), `\u003cscript\u003e`) {
		t.Fatalf("JSON does not escape the markup:\n%s", r.Body)
	}
	var a struct{ Items []struct{ Note string } }
	r.json(t, &a)
	if len(a.Items) != 1 || a.Items[0].Note != note {
		t.Fatalf("the note is not kept as written: %+v", a.Items)
	}
	e.apply(store.OrgScope("acme", "+15551230051"), store.EventHelpSent, store.MethodSystem, "=1+2")
	r = e.ok("auditor", "GET", "/api/v1/numbers/+15551230051/audit?format=csv", nil)
	if !strings.Contains(string(r.Body), `"'=HYPERLINK(`) || !strings.Contains(string(r.Body), ",'=1+2,") {
		t.Fatalf("CSV cells not defused:\n%s", r.Body)
	}
}

// A known endpoint with another method is a JSON 405 that names the
// methods it takes; an unknown path is a JSON 404.
func TestWrongMethodsAndPaths(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/dnc", "GET, POST, HEAD"},
		{"GET", "/api/v1/dnc/+15551230050", "DELETE"},
		{"DELETE", "/api/v1/numbers/+15551230050", "GET, HEAD"},
		{"POST", "/openapi.json", "GET, HEAD"},
	} {
		r := e.call("admin", c.method, c.path, nil)
		r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed", "")
		if got := r.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	e.call("admin", "GET", "/api/v1/nothing-here", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("admin", "GET", "/api/v2/consents", nil).wantError(t, http.StatusNotFound, "not_found", "")
}
