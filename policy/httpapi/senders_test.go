package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/rs/zerolog"
)

type senderItem struct {
	Organization, Sender, Name, Source string
	InheritedFrom                      string     `json:"inherited_from"`
	ChangedBy                          string     `json:"changed_by"`
	ChangedAt                          *time.Time `json:"changed_at"`
	ConfigName                         string     `json:"config_name"`
}

type senderList struct{ Items []senderItem }

// zero empties *v for a decode, so that a field the answer leaves out
// reads as absent rather than as what the last answer had.
func zero[T any](v *T) *T {
	var z T
	*v = z
	return v
}

// requestedName asks number for consent from acme's billing line in org
// and returns the {sender_name} the handset was texted.
func (e *env) requestedName(org, number string) string {
	e.t.Helper()
	e.ok("agent", "POST", "/api/v1/numbers/"+number+"/opt-in-requests", map[string]any{"organization": org, "sender": "15550001000"})
	texts := e.out.to(number)
	if len(texts) == 0 {
		e.t.Fatalf("no consent request reached %s", number)
	}
	name, _, ok := strings.Cut(texts[len(texts)-1].Text, " is trying to reach you")
	if !ok {
		e.t.Fatalf("the request to %s reads %q", number, texts[len(texts)-1].Text)
	}
	return strings.TrimPrefix(name, "[Auto Message] ")
}

// An admin's name for a sender is what the very next consent request
// says, with no reload; a sub-organization uses its main organization's
// entry until it has its own; deleting an entry brings back the
// configured name; every change says who made it and when.
func TestSenderDirectoryNamesTheNextText(t *testing.T) {
	e := newEnv(t)
	var l senderList
	e.ok("auditor", "GET", "/api/v1/senders?organization=acme", nil).json(t, zero(&l))
	if len(l.Items) != 1 || l.Items[0] != (senderItem{Organization: "acme", Sender: "15550001000", Name: "Acme Billing", Source: "config"}) {
		t.Fatalf("acme's names from the configuration: %s", mustJSON(l))
	}
	if got := e.requestedName("acme", "+15551230201"); got != "Acme Billing" {
		t.Fatalf("before any entry the request names %q", got)
	}

	var it senderItem
	e.ok("admin", "PUT", "/api/v1/senders/+1%20(555)%20000-1000", map[string]any{"organization": "acme", "name": "  Acme Collections "}).json(t, zero(&it))
	want := senderItem{Organization: "acme", Sender: "15550001000", Name: "Acme Collections", Source: "directory", ChangedBy: "admin", ConfigName: "Acme Billing"}
	if it.ChangedAt == nil || !it.ChangedAt.Equal(e.clk.now()) {
		t.Fatalf("changed_at %v, want the clock's %v", it.ChangedAt, e.clk.now())
	}
	it.ChangedAt = nil
	if it != want {
		t.Fatalf("PUT answered %+v, want %+v", it, want)
	}
	if got := e.requestedName("acme", "+15551230202"); got != "Acme Collections" {
		t.Fatalf("after the PUT the next request names %q", got)
	}
	// acme-sales inherits acme's entry, then has its own, set by acme's own
	// admin.
	if got := e.requestedName("acme-sales", "+15551230203"); got != "Acme Collections" {
		t.Fatalf("acme-sales names %q; want acme's entry", got)
	}
	e.ok("acme-sales-agent", "GET", "/api/v1/senders?organization=acme-sales", nil).json(t, zero(&l))
	if len(l.Items) != 1 || l.Items[0].InheritedFrom != "acme" || l.Items[0].Source != "directory" || l.Items[0].Organization != "acme-sales" {
		t.Fatalf("acme-sales's names: %s", mustJSON(l))
	}
	e.clk.add(time.Minute)
	e.ok("acme-admin", "PUT", "/api/v1/senders/15550001000", map[string]any{"organization": "acme-sales", "name": "Zoë at Acme Sales"}).json(t, zero(&it))
	if it.ChangedBy != "acme-admin" || it.InheritedFrom != "" || !it.ChangedAt.Equal(e.clk.now()) {
		t.Fatalf("acme-sales's own entry: %+v", it)
	}
	if got := e.requestedName("acme-sales", "+15551230204"); got != "Zoë at Acme Sales" {
		t.Fatalf("acme-sales names %q; want its own entry", got)
	}
	// An alphanumeric sender keeps its letters.
	e.ok("admin", "PUT", "/api/v1/senders/AcmeAlerts", map[string]any{"organization": "acme", "name": "Acme Alerts"}).json(t, zero(&it))
	if it.Sender != "AcmeAlerts" || it.ConfigName != "" {
		t.Fatalf("alphanumeric sender: %+v", it)
	}
	// Every organization the caller sees, without a filter: acme-admin
	// sees acme and acme-sales only.
	e.ok("acme-admin", "GET", "/api/v1/senders", nil).json(t, zero(&l))
	orgs := map[string]int{}
	for _, i := range l.Items {
		orgs[i.Organization]++
	}
	if len(orgs) != 2 || orgs["acme"] != 2 || orgs["acme-sales"] != 2 {
		t.Fatalf("acme-admin's names: %s", mustJSON(l))
	}

	// Deleting acme's entry: acme falls back to the configured name, and
	// says so; acme-sales keeps its own.
	e.ok("admin", "DELETE", "/api/v1/senders/15550001000?organization=acme", nil).json(t, zero(&it))
	if it != (senderItem{Organization: "acme", Sender: "15550001000", Name: "Acme Billing", Source: "config"}) {
		t.Fatalf("DELETE answered %+v", it)
	}
	if got := e.requestedName("acme", "+15551230205"); got != "Acme Billing" {
		t.Fatalf("after the DELETE the request names %q", got)
	}
	if got := e.requestedName("acme-sales", "+15551230206"); got != "Zoë at Acme Sales" {
		t.Fatalf("acme-sales names %q after acme's entry went", got)
	}
	e.call("admin", "DELETE", "/api/v1/senders/15550001000?organization=acme", nil).wantError(t, http.StatusNotFound, "not_found", "")
	// Without an entry of its own or acme's, acme-sales (which this
	// test's configuration gives no sender names) uses its default.
	e.ok("admin", "DELETE", "/api/v1/senders/15550001000?organization=acme-sales", nil).json(t, zero(&it))
	if it.Name != "acme-sales" || it.Source != "default" {
		t.Fatalf("acme-sales after its delete: %+v", it)
	}

	// A new engine on the same store (a restart) reads the directory back.
	e.ok("admin", "PUT", "/api/v1/senders/15550001000", map[string]any{"organization": "acme", "name": "Acme Recovery"})
	eng, err := policy.New(policy.Options{Store: e.st, Transport: e.out, Logger: zerolog.Nop(), Organizations: testOrgs(), Clock: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	names, err := eng.SenderNames("acme")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, n := range names {
		found[n.Sender] = n.Name + "/" + n.Source + "/" + n.ChangedBy
	}
	if len(found) != 2 || found["15550001000"] != "Acme Recovery/directory/admin" || found["AcmeAlerts"] != "Acme Alerts/directory/admin" {
		t.Fatalf("after a restart: %v", found)
	}
}

// Refused changes to the directory say why and change nothing.
func TestSenderDirectoryRefusals(t *testing.T) {
	e := newEnv(t)
	put := func(token, sender string, body any) reply {
		return e.call(token, "PUT", "/api/v1/senders/"+sender, body)
	}
	body := func(name string) map[string]any { return map[string]any{"organization": "acme", "name": name} }
	put("admin", "15550001000", body("")).wantError(t, http.StatusBadRequest, "invalid_field", "name")
	put("admin", "15550001000", body("   ")).wantError(t, http.StatusBadRequest, "invalid_field", "name")
	put("admin", "15550001000", body(strings.Repeat("é", policy.MaxSenderName+1))).wantError(t, http.StatusBadRequest, "invalid_field", "name")
	for _, bad := range []string{"Acme\nBilling", "Acme\x07", "Acme\u202eBilling", "Acme\u200bBilling", "Acme\u2028Billing", "\u00a0\u2029\u00a0"} {
		put("admin", "15550001000", body(bad)).wantError(t, http.StatusBadRequest, "invalid_field", "name")
	}
	put("admin", "not%20a%20sender%20name", body("x")).wantError(t, http.StatusBadRequest, "invalid_field", "sender")
	put("admin", "%3Cscript%3E", body("x")).wantError(t, http.StatusBadRequest, "invalid_field", "sender")
	put("admin", "15550001000", map[string]any{"organization": "acme", "name": "x", "sender": "1"}).wantError(t, http.StatusBadRequest, "unknown_field", "sender")
	put("admin", "15550001000", `{"name": "x"`).wantError(t, http.StatusBadRequest, "malformed_json", "")
	put("admin", "15550001000", map[string]any{"organization": "initech", "name": "x"}).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	put("agent", "15550001000", body("x")).wantError(t, http.StatusForbidden, "forbidden", "")
	put("acme-admin", "15550001000", map[string]any{"organization": "globex", "name": "x"}).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("acme-admin", "DELETE", "/api/v1/senders/15550001000?organization=globex", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("globex-auditor", "GET", "/api/v1/senders?organization=acme", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("auditor", "GET", "/api/v1/senders?org=acme", nil).wantError(t, http.StatusBadRequest, "unknown_parameter", "org")
	e.call("admin", "DELETE", "/api/v1/senders/15550001000?organization=acme", nil).wantError(t, http.StatusNotFound, "not_found", "")

	var l senderList
	e.ok("auditor", "GET", "/api/v1/senders", nil).json(t, zero(&l))
	for _, it := range l.Items {
		if it.Source != "config" {
			t.Fatalf("a refused change is in the directory: %s", mustJSON(l))
		}
	}
	if got := e.requestedName("acme", "+15551230210"); got != "Acme Billing" {
		t.Fatalf("after refused changes the request names %q", got)
	}
}
