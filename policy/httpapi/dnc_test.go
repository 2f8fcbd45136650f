package httpapi_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/optguard/optguard/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from %s:\n%s", name, path, got)
	}
}

type dncList struct {
	Items []struct {
		Number, Organization, Sender, Method, By string
	}
	NextCursor string `json:"next_cursor"`
}

// The do-not-contact list shows who is opted out, when, how and by whom;
// admins add numbers (method api, no text without a sender) and remove
// them where the override rules allow; a handset's own STOP stays.
func TestDoNotContactList(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230010"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	var o outcome
	e.ok("admin", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": "+1 (555) 123-0011", "note": "asked by letter"}).json(t, &o)
	if o.State != "opted_out" || len(o.Sent) != 0 || o.Event.Method != "api" || o.Event.Actor != "admin" {
		t.Fatalf("add: %+v", o)
	}
	if got := e.out.to("+15551230011"); len(got) != 0 {
		t.Fatalf("a DNC add without a sender texted %+v", got)
	}
	e.call("agent", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": "+15551230012"}).wantError(t, http.StatusForbidden, "forbidden", "")

	var l dncList
	e.ok("auditor", "GET", "/api/v1/dnc?organization=acme", nil).json(t, &l)
	by := map[string]string{}
	for _, it := range l.Items {
		by[it.Number] = it.Method + "/" + it.By
	}
	if len(l.Items) != 2 || by["+15551230010"] != "sms_keyword/handset" || by["+15551230011"] != "api/admin" {
		t.Fatalf("list: %s", mustJSON(l))
	}
	r := e.ok("auditor", "GET", "/api/v1/dnc?organization=acme&format=csv", nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "do-not-contact.csv") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	golden(t, "dnc.csv", sortedCSV(r.Body))

	// Removing: the handset's STOP is its own to lift; the API's add is not.
	before := e.head()
	r = e.call("admin", "DELETE", "/api/v1/dnc/+15551230010?organization=acme", nil)
	if msg := r.wantError(t, http.StatusConflict, "override_refused", "").Error.Message; !strings.Contains(msg, "handset") {
		t.Fatalf("message %q", msg)
	}
	e.call("admin", "DELETE", "/api/v1/dnc/+15551230013?organization=acme", nil).wantError(t, http.StatusConflict, "not_applicable", "")
	if e.head() != before {
		t.Fatal("a refused removal wrote the ledger")
	}
	e.ok("admin", "DELETE", "/api/v1/dnc/+15551230011?organization=acme&note=sent+in+error", nil).json(t, &o)
	if o.State != "unknown" || o.Event.Type != "reset" || o.Event.Actor != "admin" {
		t.Fatalf("remove: %+v", o)
	}
	e.ok("auditor", "GET", "/api/v1/dnc?organization=acme", nil).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Number != "+15551230010" {
		t.Fatalf("list after the removal: %s", mustJSON(l))
	}
}

// A page of the list is at most limit long and its cursor goes on.
func TestDoNotContactListPages(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"+15551230020", "+15551230021", "+15551230022"} {
		e.apply(store.OrgScope("acme", n), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	}
	seen := map[string]bool{}
	cursor := ""
	for range 3 {
		var l dncList
		e.ok("auditor", "GET", "/api/v1/dnc?organization=acme&limit=2&cursor="+cursor, nil).json(t, &l)
		if len(l.Items) > 2 {
			t.Fatalf("page of %d", len(l.Items))
		}
		for _, it := range l.Items {
			seen[it.Number] = true
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 3 || cursor != "" {
		t.Fatalf("pages gave %v, cursor %q", seen, cursor)
	}
	e.call("auditor", "GET", "/api/v1/dnc?organization=acme&cursor=bogus", nil).wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
}

// sortedCSV sorts a CSV's rows after the header: the list comes in the
// store's key order, which is no order of the numbers.
func sortedCSV(b []byte) []byte {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(lines[1:])
	return []byte(strings.Join(lines, "\n") + "\n")
}
