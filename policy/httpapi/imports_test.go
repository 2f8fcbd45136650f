package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/store"
)

type importJob struct {
	ID        string
	Status    string
	DryRun    bool `json:"dry_run"`
	RowsTotal int  `json:"rows_total"`
	RowsDone  int  `json:"rows_done"`
	Report    *policy.ImportReport
	Error     string
}

// upload posts a CSV to /api/v1/imports with query q and waits for the job.
func (e *env) upload(token, q, csvText string) (reply, importJob) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/imports?wait=true&"+q, strings.NewReader(csvText))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Body: body}
	var job importJob
	if r.Status == http.StatusOK {
		r.json(e.t, &job)
	}
	return r, job
}

// seed 003's import: the list opts its numbers in as of the cutoff, but a
// handset that opted out by SMS stays opted out; the dry run reports
// exactly what the import then does; bad rows are reported by line; the
// same file again changes nothing.
func TestImportWithCutoff(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230061"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.apply(store.OrgScope("acme", "+15551230062"), store.EventOptedIn, store.MethodSMSKeyword, "START")
	list := "number,organization,state,consent_type,date\n" +
		"+15551230060,acme,,paper,2026-10-01\n" + // line 2: opted in
		"(555) 123-0061,acme,,,\n" + // line 3: kept opted out (STOP)
		"+15551230062,acme,opted_in,web,\n" + // line 4: already opted in
		"+15551230063,acme,opted_out,,\n" + // line 5: opted out by the list
		"+447700900064,acme,,,\n" + // line 6: not a country of acme
		"12,acme,,,\n" + // line 7: not a number
		"+15551230065,acme,maybe,,\n" + // line 8: bad state
		"+15551230060,acme,,,\n" + // line 9: repeats line 2
		"+15551230066,globex,,,\n" + // line 10: globex takes any country
		"+15551230067,nosuch,,,\n" + // line 11: unknown organization
		"+15551230068,acme,,fax,\n" + // line 12: bad consent type
		"+15551230069,acme,,,2026-12-02\n" // line 13: after the cutoff
	const q = "cutoff=2026-12-01T09:00:02Z"
	before := e.head()
	r, dry := e.upload("admin", q+"&dry_run=true", list)
	if r.Status != http.StatusOK || dry.Status != "done" || !dry.DryRun || dry.RowsTotal != 12 || dry.RowsDone != 12 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	if e.head() != before {
		t.Fatal("the dry run wrote the ledger")
	}
	rep := dry.Report
	if rep.Rows != 12 || rep.Changed != 3 || rep.Unchanged != 1 || rep.Kept != 1 || rep.Bad != 7 {
		t.Fatalf("dry run counts: %+v", rep)
	}
	reasons := map[int]string{}
	for _, l := range rep.Lines {
		reasons[l.Line] = string(l.Outcome) + ": " + l.Reason
	}
	for line, want := range map[int]string{
		2: "changed", 3: "kept: an import cannot lift an opt-out", 5: "changed", 6: "bad: ", 7: "bad: not a phone number",
		8: "bad: state must be", 9: "bad: the number is already on line 2", 10: "changed", 11: "bad: ", 12: "bad: consent_type", 13: "bad: date",
	} {
		if !strings.HasPrefix(reasons[line], want) {
			t.Errorf("line %d: %q, want %q…", line, reasons[line], want)
		}
	}
	if strings.Contains(reasons[7], "store:") || strings.Count(reasons[7], "E.164") > 1 {
		t.Errorf("line 7's reason repeats itself: %q", reasons[7])
	}
	if !strings.Contains(reasons[6], "countries.allowed") || !strings.Contains(reasons[3], "before the cutoff") {
		t.Errorf("reasons: %v", reasons)
	}

	_, done := e.upload("admin", q, list)
	if done.Status != "done" || done.Report.Changed != rep.Changed || done.Report.Kept != rep.Kept || done.Report.Bad != rep.Bad {
		t.Fatalf("import: %+v", done.Report)
	}
	if e.head() != before+3 {
		t.Fatalf("the import appended %d events, want 3", e.head()-before)
	}
	state := func(org, n string) store.State {
		c, _ := e.st.Lookup(store.OrgScope(org, n))
		return c.State
	}
	if state("acme", "+15551230060") != store.StateOptedIn || state("acme", "+15551230061") != store.StateOptedOut ||
		state("acme", "+15551230063") != store.StateOptedOut || state("globex", "+15551230066") != store.StateOptedIn {
		t.Fatal("the states after the import are not the report's")
	}
	var a auditReply
	e.ok("auditor", "GET", "/api/v1/numbers/+15551230060/audit", nil).json(t, &a)
	if len(a.Items) != 1 || a.Items[0].Event != "state_imported" || a.Items[0].ChangedBy != "admin" || a.Items[0].Channel != "import" {
		t.Fatalf("audit of an imported number: %s", mustJSON(a))
	}

	_, again := e.upload("admin", q, list)
	if again.Report.Changed != 0 || again.Report.Unchanged != 4 || e.head() != before+3 {
		t.Fatalf("the same file again: %+v", again.Report)
	}
}

// An organization's admin imports into its own organizations only, and
// uploads are checked before anything runs.
func TestImportRefusals(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.MaxUpload = 4096 })
	_, job := e.upload("acme-admin", "cutoff=2026-11-15", "number,organization\n+15551230070,acme\n+447700900071,globex\n+15551230072,\n")
	if job.Report.Changed != 2 || job.Report.Bad != 1 || !strings.Contains(job.Report.Lines[1].Reason, "not one this token may change") {
		t.Fatalf("acme-admin's import: %+v", job.Report)
	}
	r, _ := e.upload("admin", "", "number\n+15551230073\n")
	r.wantError(t, 400, "invalid_field", "cutoff")
	r, _ = e.upload("admin", "cutoff=2027-01-01", "number\n+15551230073\n")
	r.wantError(t, 400, "invalid_field", "cutoff")
	r, _ = e.upload("admin", "cutoff=2026-11-15", "phone,org\n+15551230073,acme\n")
	r.wantError(t, 400, "invalid_csv", "")
	r, _ = e.upload("admin", "cutoff=2026-11-15", "")
	r.wantError(t, 400, "invalid_csv", "")
	r, _ = e.upload("admin", "cutoff=2026-11-15", "number,organization\n"+strings.Repeat("+15551230074,acme\n", 400))
	r.wantError(t, 413, "upload_too_large", "")
	r, _ = e.upload("agent", "cutoff=2026-11-15", "number\n+15551230073\n")
	r.wantError(t, 403, "forbidden", "")
}
