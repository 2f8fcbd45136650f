package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/store"
)

// record appends ch to the ledger a second after the clock's last
// second, as the SMS path or an import would have; the actor is the
// handset unless ch names one.
func (e *env) record(ch store.Change) store.Event {
	e.t.Helper()
	e.clk.add(time.Second)
	ch.OccurredAt = e.clk.now()
	if ch.Actor == "" {
		ch.Actor = "handset"
	}
	a, err := e.st.Apply(e.t.Context(), ch)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Event
}

func (e *env) erase(number string) {
	e.t.Helper()
	if _, err := e.st.EraseNumber(e.t.Context(), number, store.MethodAPI, "admin"); err != nil {
		e.t.Fatal(err)
	}
}

// walkPages GETs path (whose query ends where "&cursor=" can follow) as
// token page by page, each decoded into a fresh P and given to page with
// its number (from 1), until one has no next cursor.
func walkPages[P any](e *env, token, path string, cursorOf func(P) string, page func(n int, p P)) {
	e.t.Helper()
	cursor := ""
	for n := 1; ; n++ {
		var p P
		e.ok(token, "GET", path+"&cursor="+cursor, nil).json(e.t, &p)
		page(n, p)
		if cursor = cursorOf(p); cursor == "" {
			return
		}
		if n > 50 {
			e.t.Fatal("the cursor does not end")
		}
	}
}

// shown is a row's number as the tests compare it: "erased" for an erased
// subject's.
func shown(number string, erased bool) string {
	if erased {
		return "erased"
	}
	return number
}

type optInReport struct {
	Tab   string
	Items []struct {
		Seq              uint64
		Organization     string
		OrganizationName string `json:"organization_name"`
		SenderName       string `json:"sender_name"`
		SenderNumber     string `json:"sender_number"`
		Number           string
		Timestamp        time.Time
		Method, State    string
		Erased           bool
	}
	NextCursor string `json:"next_cursor"`
}

// rows are the report's rows as "number|sender name|sender number|method|state".
func (r optInReport) rows() []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, strings.Join([]string{shown(it.Number, it.Erased), it.SenderName, it.SenderNumber, it.Method, it.State}, "|"))
	}
	return out
}

// numbers are the report's handsets, in order.
func (r optInReport) numbers() []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, it.Number)
	}
	return out
}

// optInLedger writes seed 000's kinds of events over two days: opt-ins
// in consent mode (by YES, by an agent, by an import), disclaimers in
// disclaimer mode, and what neither tab lists; scopes with a sender are
// those of an account that keeps consent per sender number, organization
// scopes name their conversation's sender in Via (a number, or an
// alphanumeric sender), except an import and +15551230110's opt-in (as an
// event written before the ledger kept Via). Then the handset of the
// first opt-in opts out, and the subject of the second is erased.
func optInLedger(e *env) {
	consent, disclaimer := store.ModeConsent, store.ModeDisclaimer
	yes := &store.MO{Raw: []byte("YES"), Text: "YES"}
	for _, ch := range []store.Change{
		{Scope: store.OrgScope("acme", "+15551230101"), Via: "15550001000", Type: store.EventOptedIn, Mode: consent, Method: store.MethodSMSKeyword, MO: yes},
		{Scope: store.SenderScope("acme", "15550001000", "+15551230102"), Type: store.EventOptedIn, Mode: consent, Method: store.MethodSMSKeyword, MO: yes},
		{Scope: store.SenderScope("acme", "15557770000", "+15551230103"), Type: store.EventConsentRequested, Mode: consent, Method: store.MethodAgent, Actor: "agent"},
		{Scope: store.SenderScope("acme", "15557770000", "+15551230103"), Type: store.EventOptedIn, Mode: consent, Method: store.MethodAgent, Actor: "agent"},
		{Scope: store.OrgScope("globex", "+447700900104"), Via: "447700900999", Type: store.EventOptedIn, Mode: consent, Method: store.MethodSMSKeyword, MO: yes},
		{Scope: store.OrgScope("acme", "+15551230105"), Type: store.EventStateImported, State: store.StateOptedIn, Mode: consent, Method: store.MethodImport, Actor: "admin"},
		{Scope: store.OrgScope("acme", "+15551230106"), Type: store.EventStateImported, State: store.StateOptedOut, Mode: consent, Method: store.MethodImport, Actor: "admin"},
		{Scope: store.OrgScope("acme", "+15551230107"), Via: "AcmeAlerts", Type: store.EventDisclaimerSent, Mode: disclaimer, Method: store.MethodSystem, Actor: "system"},
		{Scope: store.SenderScope("globex", "447700900999", "+447700900108"), Type: store.EventDisclaimerSent, Mode: disclaimer, Method: store.MethodSystem, Actor: "system"},
		{Scope: store.OrgScope("acme", "+15551230109"), Type: store.EventOptedIn, Mode: disclaimer, Method: store.MethodSMSKeyword, MO: yes},
	} {
		e.record(ch)
	}
	e.clk.add(24 * time.Hour)
	for _, ch := range []store.Change{
		{Scope: store.OrgScope("acme", "+15551230101"), Type: store.EventOptedOut, Mode: consent, Method: store.MethodSMSKeyword, MO: &store.MO{Raw: []byte("STOP"), Text: "STOP"}},
		{Scope: store.OrgScope("acme", "+15551230110"), Type: store.EventOptedIn, Mode: consent, Method: store.MethodSMSKeyword, MO: yes},
		{Scope: store.SenderScope("acme", "15550001000", "+15551230111"), Type: store.EventDisclaimerSent, Mode: disclaimer, Method: store.MethodSystem, Actor: "system"},
	} {
		e.record(ch)
	}
	e.erase("+15551230102")
}

// The two tabs list what seed 000's report shows: With Consent the
// opt-ins of consent-mode organizations, however they came, With
// Disclaimer the disclaimers sent; each row with the sender's name as the
// organization names that number (the scope's sender, or in organization
// scope the conversation's), and the scope's state now. An erased
// subject's row stays, without its number.
func TestOptInReportTabs(t *testing.T) {
	e := newEnv(t)
	optInLedger(e)

	var rep optInReport
	e.ok("auditor", "GET", "/api/v1/reports/opt-in", nil).json(t, &rep)
	want := []string{
		"+15551230101|Acme Billing|15550001000|sms_keyword|opted_out", // organization scope; opted out since: the state is today's
		"erased|Acme Billing|15550001000|sms_keyword|",
		"+15551230103|Acme|15557770000|agent|opted_in",
		"+447700900104|globex|447700900999|sms_keyword|opted_in",
		"+15551230105|||import|opted_in",      // an import has no conversation
		"+15551230110|||sms_keyword|opted_in", // an event without a Via
	}
	if rep.Tab != "consent" || !slices.Equal(rep.rows(), want) || rep.NextCursor != "" {
		t.Fatalf("With Consent:\n%s\nwant rows %q", mustJSON(rep), want)
	}
	first := rep.Items[0]
	if first.Organization != "acme" || first.OrganizationName != "Acme" || !first.Timestamp.Equal(time.Date(2026, 12, 1, 9, 0, 1, 0, time.UTC)) {
		t.Fatalf("first row: %+v", first)
	}
	if rep.Items[3].Organization != "globex" || rep.Items[3].OrganizationName != "globex" {
		t.Fatalf("globex row: %+v", rep.Items[3])
	}
	for i := 1; i < len(rep.Items); i++ {
		if rep.Items[i].Seq <= rep.Items[i-1].Seq {
			t.Fatalf("rows out of ledger order: %s", mustJSON(rep))
		}
	}

	rep = optInReport{}
	e.ok("auditor", "GET", "/api/v1/reports/opt-in?tab=disclaimer", nil).json(t, &rep)
	want = []string{
		"+15551230107|Acme|AcmeAlerts|system|unknown",
		"+447700900108|globex|447700900999|system|unknown",
		"+15551230111|Acme Billing|15550001000|system|unknown",
	}
	if rep.Tab != "disclaimer" || !slices.Equal(rep.rows(), want) {
		t.Fatalf("With Disclaimer:\n%s\nwant rows %q", mustJSON(rep), want)
	}

	for _, tab := range []string{"consent", "disclaimer"} {
		r := e.ok("auditor", "GET", "/api/v1/reports/opt-in?format=csv&tab="+tab, nil)
		if ct, cd := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(cd, "opt-in-"+tab+".csv") {
			t.Fatalf("%s CSV: Content-Type %q, Content-Disposition %q", tab, ct, cd)
		}
		golden(t, "opt-in-"+tab+".csv", r.Body)
	}
}

// The filters narrow the rows as seed 000's search does: a keyword in the
// organization or the sender's name or number, a number that is the
// handset's or the sender's (From or To) in any common form or its first
// digits, a date range whose end date is included, an organization.
func TestOptInReportFilters(t *testing.T) {
	e := newEnv(t)
	optInLedger(e)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"keyword=billing", []string{"+15551230101", ""}}, // Acme Billing is the conversation's sender, and the erased subject's scope's
		{"keyword=GLOB", []string{"+447700900104"}},
		{"keyword=acme", []string{"+15551230101", "", "+15551230103", "+15551230105", "+15551230110"}},
		{"keyword=7770", []string{"+15551230103"}},
		{"keyword=900999", []string{"+447700900104"}}, // the conversation's sender number
		{"keyword=nobody", nil},
		{"number=" + url.QueryEscape("+1 (555) 123-0103"), []string{"+15551230103"}},
		{"number=5551230103", []string{"+15551230103"}},
		{"number=15557770000", []string{"+15551230103"}},                            // the sender's number
		{"number=15550001000", []string{"+15551230101", ""}},                        // the conversation's, and a sender scope's
		{"number=" + url.QueryEscape("+44 7700 900999"), []string{"+447700900104"}}, // the conversation's
		{"number=" + url.QueryEscape("+44 77"), []string{"+447700900104"}},
		{"number=1555123010*", []string{"+15551230101", "+15551230103", "+15551230105"}},
		{"number=" + url.QueryEscape("+1 555 123 010"), []string{"+15551230101", "+15551230103", "+15551230105"}},
		{"number=1555123010", nil}, // read as a whole number of the US, which nobody has
		{"from=2026-12-02", []string{"+15551230110"}},
		{"to=2026-12-01", []string{"+15551230101", "", "+15551230103", "+447700900104", "+15551230105"}},
		{"from=2026-12-01T09:00:05Z&to=2026-12-01T09:00:06Z", []string{"+447700900104"}},
		{"organization=globex", []string{"+447700900104"}},
		{"organization=acme-sales&from=2026-12-02", []string{"+15551230110"}},
		{"tab=disclaimer&organization=acme", []string{"+15551230107", "+15551230111"}},
		{"tab=disclaimer&keyword=billing&from=2026-12-02", []string{"+15551230111"}},
		{"tab=disclaimer&keyword=alerts", []string{"+15551230107"}}, // an alphanumeric sender
	} {
		var rep optInReport
		e.ok("auditor", "GET", "/api/v1/reports/opt-in?"+c.query, nil).json(t, &rep)
		if got := rep.numbers(); !slices.Equal(got, c.want) {
			t.Errorf("%s: rows %q, want %q", c.query, got, c.want)
		}
	}
}

// Pages follow the ledger: each is at most limit rows, the cursor goes on
// where the last one stopped, and an event written between two pages comes
// on a later one, with nothing repeated or left out. A page reads a
// bounded stretch of the ledger, so one may hold fewer rows, even none,
// and still have a cursor.
func TestOptInReportPages(t *testing.T) {
	e := newEnv(t)
	optInLedger(e)
	all := func() []string {
		var rep optInReport
		e.ok("auditor", "GET", "/api/v1/reports/opt-in", nil).json(t, &rep)
		return rep.numbers()
	}
	want := all()
	var got []string
	cursorOf := func(r optInReport) string { return r.NextCursor }
	walkPages(e, "auditor", "/api/v1/reports/opt-in?limit=2", cursorOf, func(n int, rep optInReport) {
		if len(rep.Items) > 2 {
			t.Fatalf("a page of %d rows", len(rep.Items))
		}
		got = append(got, rep.numbers()...)
		if n == 1 {
			e.record(store.Change{Scope: store.OrgScope("acme", "+15551230112"), Type: store.EventOptedIn, Mode: store.ModeConsent, Method: store.MethodSMSKeyword})
			want = append(want, "+15551230112")
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave %q, want %q", got, want)
	}

	httpapi.SetOptInWindow(3)
	t.Cleanup(func() { httpapi.SetOptInWindow(0) })
	got = nil
	empty := 0
	walkPages(e, "auditor", "/api/v1/reports/opt-in?tab=consent", cursorOf, func(_ int, rep optInReport) {
		got = append(got, rep.numbers()...)
		if len(rep.Items) == 0 && rep.NextCursor != "" {
			empty++
		}
	})
	if !slices.Equal(got, want) || empty == 0 {
		t.Fatalf("windowed pages gave %q (%d empty with a cursor), want %q", got, empty, want)
	}
	// The CSV goes through every window in one download.
	r := e.ok("auditor", "GET", "/api/v1/reports/opt-in?format=csv", nil)
	if n := strings.Count(string(r.Body), "\n"); n != len(want)+1 {
		t.Fatalf("windowed CSV has %d lines, want %d:\n%s", n, len(want)+1, r.Body)
	}
}

// A token limited to organizations sees their rows only, and another
// organization named answers as one that does not exist.
func TestReportsTenancy(t *testing.T) {
	e := newEnv(t)
	optInLedger(e)
	for _, c := range []struct {
		token, query string
		want         []string
	}{
		{"globex-auditor", "", []string{"+447700900104"}},
		{"globex-auditor", "tab=disclaimer", []string{"+447700900108"}},
		{"acme-admin", "", []string{"+15551230101", "", "+15551230103", "+15551230105", "+15551230110"}},
		{"acme-sales-agent", "from=2026-12-02", []string{"+15551230110"}}, // a sub-organization sees its account's consent
	} {
		var rep optInReport
		e.ok(c.token, "GET", "/api/v1/reports/opt-in?"+c.query, nil).json(t, &rep)
		if got := rep.numbers(); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: rows %q, want %q", c.token, c.query, got, c.want)
		}
	}
	r := e.ok("globex-auditor", "GET", "/api/v1/reports/opt-in?format=csv", nil)
	if strings.Contains(string(r.Body), "acme") || strings.Count(string(r.Body), "\n") != 2 {
		t.Fatalf("globex's CSV:\n%s", r.Body)
	}
	for _, path := range []string{"/api/v1/reports/opt-in", "/api/v1/reports/consent-status"} {
		e.call("globex-auditor", "GET", path+"?organization=acme", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
		e.call("acme-admin", "GET", path+"?organization=globex&format=csv", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
		e.call("auditor", "GET", path+"?organization=initech", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
		e.call("", "GET", path, nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		e.call("wrong", "GET", path, nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
}

// Bad parameters are refused with the parameter named.
func TestReportsRefuseBadParameters(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		query, code, field string
	}{
		{"/api/v1/reports/opt-in?tab=both", "invalid_field", "tab"},
		{"/api/v1/reports/opt-in?tabs=consent", "unknown_parameter", "tabs"},
		{"/api/v1/reports/opt-in?tab=consent&tab=disclaimer", "invalid_field", "tab"},
		{"/api/v1/reports/opt-in?from=yesterday", "invalid_field", "from"},
		{"/api/v1/reports/opt-in?to=2026-13-01", "invalid_field", "to"},
		{"/api/v1/reports/opt-in?from=2026-12-02&to=2026-12-01T00:00:00Z", "invalid_field", "to"},
		{"/api/v1/reports/opt-in?number=call-me", "invalid_field", "number"},
		{"/api/v1/reports/opt-in?number=0123", "invalid_field", "number"},
		{"/api/v1/reports/opt-in?number=%2B1234567890123456", "invalid_field", "number"},
		{"/api/v1/reports/opt-in?keyword=" + strings.Repeat("x", 101), "invalid_field", "keyword"},
		{"/api/v1/reports/opt-in?cursor=bogus", "invalid_field", "cursor"},
		{"/api/v1/reports/opt-in?cursor=AAAAAAAAAAA", "invalid_field", "cursor"},
		{"/api/v1/reports/opt-in?limit=0", "invalid_field", "limit"},
		{"/api/v1/reports/opt-in?format=xml", "invalid_field", "format"},
		{"/api/v1/reports/consent-status?state=maybe", "invalid_field", "state"},
		{"/api/v1/reports/consent-status?number=%27%20OR%201%3D1", "invalid_field", "number"},
		{"/api/v1/reports/consent-status?cursor=bogus", "invalid_field", "cursor"},
		{"/api/v1/reports/consent-status?limit=1001", "invalid_field", "limit"},
		{"/api/v1/reports/consent-status?format=pdf", "invalid_field", "format"},
		{"/api/v1/reports/consent-status?keyword=x", "unknown_parameter", "keyword"},
	} {
		e.call("auditor", "GET", c.query, nil).wantError(t, http.StatusBadRequest, c.code, c.field)
	}
}

type statusReport struct {
	Items []struct {
		Number, Organization, Sender, State, Mode string
		Consented                                 bool
		When                                      *time.Time
		Method                                    string
		ChangedBy                                 string `json:"changed_by"`
		Erased                                    bool
	}
	NextCursor string `json:"next_cursor"`
}

// byNumber is the report's rows by number as "state|consented|method|changed by".
func (r statusReport) byNumber() map[string]string {
	out := map[string]string{}
	for _, it := range r.Items {
		out[shown(it.Number, it.Erased)] = strings.Join([]string{it.State, strconv.FormatBool(it.Consented), it.Method, it.ChangedBy}, "|")
	}
	return out
}

func (r statusReport) numbers() []string {
	var out []string
	for n := range r.byNumber() {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// statusLedger gives acme a consent recorded by an agent, a handset's
// STOP, an agent's pending request and a scope sent only the disclaimer,
// globex an imported opt-in, and erases two subjects: one opted out (its
// suppression entry stays) and one opted in (its record goes).
func statusLedger(e *env) {
	e.ok("agent", "POST", "/api/v1/numbers/+15551230201/consents",
		map[string]any{"organization": "acme", "sender": "15550001000", "consent_type": "paper", "proof": "form 7"})
	e.apply(store.OrgScope("acme", "+15551230202"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.clk.add(time.Second)
	e.ok("agent", "POST", "/api/v1/numbers/+15551230203/opt-in-requests", map[string]any{"organization": "acme", "sender": "15550001000"})
	e.record(store.Change{Scope: store.OrgScope("globex", "+447700900204"), Type: store.EventStateImported, State: store.StateOptedIn,
		Mode: store.ModeConsent, Method: store.MethodImport, Actor: "admin"})
	e.record(store.Change{Scope: store.OrgScope("acme", "+15551230205"), Type: store.EventDisclaimerSent, Mode: store.ModeDisclaimer,
		Method: store.MethodSystem, Actor: "system"})
	e.apply(store.OrgScope("acme", "+15551230206"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.apply(store.OrgScope("acme", "+15551230207"), store.EventOptedIn, store.MethodSMSKeyword, "YES")
	e.erase("+15551230206")
	e.erase("+15551230207")
}

// Seed 003's consent status report: each record's state, whether consent
// was provided, since when, how and by whom; filtered by state, searched by
// number in any common form or by its first digits.
func TestConsentStatusReport(t *testing.T) {
	e := newEnv(t)
	statusLedger(e)

	var rep statusReport
	e.ok("auditor", "GET", "/api/v1/reports/consent-status", nil).json(t, &rep)
	want := map[string]string{
		"+15551230201":  "opted_in|true|agent|agent",
		"+15551230202":  "opted_out|false|sms_keyword|handset",
		"+15551230203":  "pending|false|agent|agent",
		"+447700900204": "opted_in|true|import|admin",
		"+15551230205":  "unknown|false||", // a disclaimer sets no state
		"erased":        "opted_out|false|sms_keyword|",
	}
	if got := rep.byNumber(); mustJSON(got) != mustJSON(want) || len(rep.Items) != len(want) {
		t.Fatalf("report:\n%s\nwant %s", mustJSON(rep), mustJSON(want))
	}
	for _, it := range rep.Items {
		if (it.When == nil) != (it.Number == "+15551230205" || it.Erased) {
			t.Fatalf("when of %s: %v", it.Number, it.When)
		}
		if it.Number == "+15551230202" && !it.When.Equal(time.Date(2026, 12, 1, 9, 0, 1, 0, time.UTC)) {
			t.Fatalf("the STOP's when: %v", it.When)
		}
	}

	for _, c := range []struct {
		token, query string
		want         []string
	}{
		{"auditor", "state=opted_in", []string{"+15551230201", "+447700900204"}},
		{"auditor", "state=opted_out,pending", []string{"+15551230202", "+15551230203", "erased"}},
		{"auditor", "number=" + url.QueryEscape("(555) 123-0202") + "&organization=acme", []string{"+15551230202"}},
		{"auditor", "number=5551230202", []string{"+15551230202"}},
		{"auditor", "number=" + url.QueryEscape("+1 555 123 020"), []string{"+15551230201", "+15551230202", "+15551230203", "+15551230205"}},
		{"auditor", "number=" + url.QueryEscape("07700 900204") + "&organization=globex", []string{"+447700900204"}},
		{"auditor", "number=%2B44&state=opted_out", nil},
		{"globex-auditor", "", []string{"+447700900204"}},
		{"acme-admin", "", []string{"+15551230201", "+15551230202", "+15551230203", "+15551230205", "erased"}},
		{"acme-admin", "number=%2B447700900204", nil}, // a whole number is read across accounts: still only acme's
		{"acme-sales-agent", "state=pending", []string{"+15551230203"}},
	} {
		var rep statusReport
		e.ok(c.token, "GET", "/api/v1/reports/consent-status?"+c.query, nil).json(t, &rep)
		if got := rep.numbers(); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: rows %q, want %q", c.token, c.query, got, c.want)
		}
	}

	seen := map[string]bool{}
	walkPages(e, "auditor", "/api/v1/reports/consent-status?limit=2", func(r statusReport) string { return r.NextCursor }, func(_ int, rep statusReport) {
		if len(rep.Items) > 2 {
			t.Fatalf("a page of %d", len(rep.Items))
		}
		for _, n := range rep.numbers() {
			if seen[n] {
				t.Fatalf("%s on two pages", n)
			}
			seen[n] = true
		}
	})
	if len(seen) != len(want) {
		t.Fatalf("pages gave %v", seen)
	}

	r := e.ok("auditor", "GET", "/api/v1/reports/consent-status?format=csv", nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "consent-status.csv") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	golden(t, "consent-status.csv", sortedCSV(r.Body))
	r = e.ok("globex-auditor", "GET", "/api/v1/reports/consent-status?format=csv&state=opted_in", nil)
	if got := string(r.Body); strings.Count(got, "\n") != 2 || !strings.Contains(got, "+447700900204,globex,,opted_in,yes,consent,") {
		t.Fatalf("globex's CSV:\n%s", got)
	}
}
