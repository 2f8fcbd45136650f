package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// cli runs `optguard args…` against a's admin listener with token, and
// returns its exit status, stdout and stderr.
func (a *apiEnv) cli(token string, args ...string) (int, string, string) {
	a.t.Helper()
	a.t.Setenv("OPTGUARD_TOKEN", token)
	var out, errb bytes.Buffer
	code := run(append(args, "-server", a.base), &out, &errb)
	return code, out.String(), errb.String()
}

// The consent commands drive the seed flows from a script: request a
// double opt-in, read the PIN at the SMSC, verify it, and read the state
// back as a table and as JSON.
func TestCLIConsentCommands(t *testing.T) {
	a := startAPI(t)
	a.esme("acme", pdu.BindTransceiver)
	code, out, errs := a.cli("agent.alice", "consent", "request", "(555) 123-0001", "-sender", employee, "-double", "-reason", "supervisor")
	if code != 0 || !strings.Contains(out, "pending") || !strings.Contains(out, "consent_requested") {
		t.Fatalf("request: %d\n%s%s", code, out, errs)
	}
	a.mo("acme", "YES")
	pin := a.pinOf()
	if code, out, errs = a.cli("agent.alice", "consent", "verify-pin", "+"+guest, "-sender", employee, "-pin", "999999x"); code != 1 || !strings.Contains(errs, "pin") {
		t.Fatalf("a malformed PIN: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = a.cli("agent.alice", "consent", "verify-pin", "+"+guest, "-sender", employee, "-pin", pin); code != 0 || !strings.Contains(out, "opted_in") {
		t.Fatalf("verify-pin: %d\n%s%s", code, out, errs)
	}
	code, out, errs = a.cli("agent.alice", "consent", "get", guest, "-json")
	var got struct{ Scopes []struct{ State string } }
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got.Scopes) != 1 || got.Scopes[0].State != "opted_in" {
		t.Fatalf("get -json: %d\n%s%s", code, out, errs)
	}
	code, out, _ = a.cli("compliance", "consent", "list", "-org", "acme", "-state", "opted_in")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "+"+guest) {
		t.Fatalf("list: %d\n%s", code, out)
	}

	// Refusals come back in the API's words, with exit status 1.
	a.mo("acme", "STOP")
	a.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	code, _, errs = a.cli("agent.alice", "consent", "optin", "+"+guest, "-sender", employee, "-type", "phone", "-proof", "call 4711")
	if code != 1 || !strings.Contains(errs, "409 override_refused") || !strings.Contains(errs, "only the handset can opt back in") {
		t.Fatalf("optin after STOP: %d %s", code, errs)
	}
	if code, _, errs = a.cli("globex.auditor", "consent", "get", guest, "-org", "acme"); code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("another organization's number: %d %s", code, errs)
	}
	if code, _, errs = a.cli("", "consent", "get", guest); code != 1 || !strings.Contains(errs, "OPTGUARD_TOKEN") {
		t.Fatalf("no token: %d %s", code, errs)
	}
	if code, _, errs = a.cli("agent.alice", "consent", "optin", guest); code != 2 || !strings.Contains(errs, "-type is required") && !strings.Contains(errs, "-proof is required") {
		t.Fatalf("missing flags: %d %s", code, errs)
	}
}

// The do-not-contact commands: add shows in the list (table and CSV),
// remove follows the override rules.
func TestCLIDoNotContact(t *testing.T) {
	a := startAPI(t)
	if code, out, errs := a.cli("compliance", "dnc", "add", "+1 555 123 0007", "-org", "acme", "-note", "letter of 2 Dec"); code != 0 || !strings.Contains(out, "opted_out") {
		t.Fatalf("dnc add: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := a.cli("not-a-token", "dnc", "list", "-org", "acme"); code != 1 || !strings.Contains(errs, "401 unauthorized") {
		t.Fatalf("a wrong token: %d %s", code, errs)
	}
	code, out, errs := a.cli("compliance", "dnc", "list", "-org", "acme")
	if code != 0 || !strings.Contains(out, "+15551230007") || !strings.Contains(out, "compliance") {
		t.Fatalf("dnc list: %d\n%s%s", code, out, errs)
	}
	file := filepath.Join(t.TempDir(), "dnc.csv")
	if code, _, errs = a.cli("compliance", "dnc", "list", "-org", "acme", "-csv", "-o", file); code != 0 {
		t.Fatalf("dnc list -csv: %d %s", code, errs)
	}
	csv, err := os.ReadFile(file)
	if err != nil || !strings.HasPrefix(string(csv), "number,") || !strings.Contains(string(csv), "+15551230007,acme,") {
		t.Fatalf("the CSV file: %v\n%s", err, csv)
	}
	if code, out, errs = a.cli("compliance", "dnc", "remove", "+15551230007", "-org", "acme"); code != 0 || !strings.Contains(out, "unknown") {
		t.Fatalf("dnc remove: %d\n%s%s", code, out, errs)
	}
	if code, _, errs = a.cli("compliance", "dnc", "remove", "+15551230007", "-org", "acme"); code != 1 || !strings.Contains(errs, "409") {
		t.Fatalf("removing it twice: %d %s", code, errs)
	}
}

// consent import uploads a file, follows the job and prints the report:
// the dry run changes nothing, the real run does. The guest's MT, held for
// want of consent, is counted and then released.
func TestCLIImport(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	submit(t, a.ctx, e, "Your statement", 0)
	a.waitSubmit("the consent request", textHas("is trying to reach you"))
	file := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(file, []byte("number,organization\n+"+guest+",acme\n+15551230012,acme\nnot-a-number,acme\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := a.cli("compliance", "consent", "import", file, "-cutoff", "2026-01-31", "-dry-run")
	if code != 0 || !strings.Contains(out, "dry run (nothing was changed)") || !strings.Contains(out, "2 changed") || !strings.Contains(out, "not a phone number") ||
		!strings.Contains(out, "held messages: 1 released to the SMSC, 0 dropped") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}
	if st := a.p.store.State(store.OrgScope("acme", "+15551230012")); st != store.StateUnknown {
		t.Fatalf("the dry run changed the state to %s", st)
	}
	code, out, errs = a.cli("compliance", "consent", "import", file, "-cutoff", "2026-01-31", "-json")
	var job struct {
		Status string
		Report struct {
			Changed, Bad int
			HeldReleased int `json:"held_released"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &job) != nil || job.Status != "done" || job.Report.Changed != 2 || job.Report.Bad != 1 || job.Report.HeldReleased != 1 {
		t.Fatalf("import: %d\n%s%s", code, out, errs)
	}
	if st := a.p.store.State(store.OrgScope("acme", "+15551230012")); st != store.StateOptedIn {
		t.Fatalf("after the import the state is %s", st)
	}
	a.waitSubmit("the MT the import released", textHas("Your statement"))
	if code, _, errs = a.cli("agent.alice", "consent", "import", file, "-cutoff", "2026-01-31"); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("an agent's import: %d %s", code, errs)
	}
}

// Every API command has -h text that names its flags.
func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"consent", "-h"}, {"dnc", "help"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(out.String(), "OPTGUARD_TOKEN") && !strings.Contains(out.String(), "$OPTGUARD_TOKEN") {
			t.Errorf("%v: %d\n%s%s", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"consent", "optin", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "The flags of optguard consent optin") ||
		!strings.Contains(errb.String(), "-proof") || !strings.Contains(errb.String(), "-server") {
		t.Errorf("consent optin -h: %d\n%s", code, errb.String())
	}
}

// The report commands: seed 000's two tabs and seed 003's status report,
// as tables and as the API's own CSV.
func TestCLIReports(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	submit(t, a.ctx, e, "Your statement", 0)
	a.waitSubmit("the consent request", textHas("is trying to reach you"))
	a.mo("acme", "YES")
	a.waitSubmit("the released MT", textHas("Your statement"))
	g := a.esme("globex", pdu.BindTransmitter)
	submit(t, a.ctx, g, "Globex news", 0)
	a.waitSubmit("the disclaimer's MT", textHas("Globex news"))

	code, out, errs := a.cli("compliance", "report", "consent", "-org", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "+"+guest) || !strings.Contains(lines[1], "sms_keyword") {
		t.Fatalf("report consent: %d\n%s%s", code, out, errs)
	}
	code, out, errs = a.cli("compliance", "report", "disclaimer", "-org", "globex", "-number", guest)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "+"+guest) {
		t.Fatalf("report disclaimer: %d\n%s%s", code, out, errs)
	}
	if code, out, _ = a.cli("compliance", "report", "disclaimer", "-org", "acme"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("acme's disclaimer tab is not empty: %d\n%s", code, out)
	}
	code, out, errs = a.cli("compliance", "report", "status", "-state", "opted_in")
	if code != 0 || !strings.Contains(out, "+"+guest) || !strings.Contains(out, "yes") {
		t.Fatalf("report status: %d\n%s%s", code, out, errs)
	}
	// -csv is the API's CSV, byte for byte.
	code, viaCLI, errs := a.cli("compliance", "report", "consent", "-csv")
	if code != 0 {
		t.Fatalf("report consent -csv: %d %s", code, errs)
	}
	req, _ := http.NewRequestWithContext(a.ctx, "GET", a.base+"/api/v1/reports/opt-in?tab=consent&format=csv", nil)
	req.Header.Set("Authorization", "Bearer compliance")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if viaCLI != string(direct) || !strings.Contains(viaCLI, "+"+guest) {
		t.Fatalf("the CLI's CSV differs from the API's:\n%s\n---\n%s", viaCLI, direct)
	}
	if code, _, errs = a.cli("globex.auditor", "report", "consent", "-org", "acme"); code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("another organization's report: %d %s", code, errs)
	}
}

// consent export streams the ledger to a file, and dnc daily writes a
// day's opt-out file, both whole or not at all.
func TestCLIExportAndDailyFile(t *testing.T) {
	a := startAPI(t)
	a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "STOP")
	a.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	// The STOP's events: the opt-out, its confirmation, the notice to the
	// sender, which is written once the ESME has it.
	testenv.Eventually(t, 5*time.Second, func() bool {
		head, _, _ := a.p.store.Head(a.ctx)
		return head == 3
	}, "the STOP's three events")
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	dir := t.TempDir()

	file := filepath.Join(dir, "events.jsonl")
	if code, _, errs := a.cli("compliance", "consent", "export", "-from", today, "-to", tomorrow, "-format", "jsonl", "-o", file); code != 0 {
		t.Fatalf("consent export: %d %s", code, errs)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head := a.ok("compliance", "GET", "/api/v1/ledger/head", nil)["seq"].(float64)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if float64(len(lines)) != head || !strings.Contains(lines[0], `"type":"opted_out"`) {
		t.Fatalf("export has %d lines, the ledger %v events:\n%s", len(lines), head, raw)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("export file mode %v %v; want 0640 (it holds phone numbers)", st.Mode().Perm(), err)
	}

	code, out, errs := a.cli("compliance", "dnc", "daily", "-day", today, "-dir", dir)
	want := filepath.Join(dir, "optouts-"+today+".csv")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("dnc daily: %d\n%s%s", code, out, errs)
	}
	daily, err := os.ReadFile(want)
	if err != nil || !strings.Contains(string(daily), "+"+guest+",acme,") || strings.Count(string(daily), "\n") != 2 {
		t.Fatalf("the daily file: %v\n%s", err, daily)
	}
	if code, _, errs = a.cli("compliance", "dnc", "daily", "-day", "yesterday"); code != 2 || !strings.Contains(errs, "-day") {
		t.Fatalf("a bad -day: %d %s", code, errs)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the directory holds %d files, want the export and the daily file only", len(entries))
	}
}
