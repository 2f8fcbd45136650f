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

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The seed flows through the operator API of a live optguard: HTTP on the
// admin listener, SMPP through the proxy to the testenv simulator, and the
// ledger in a real store. Every assertion is on what crossed one of the
// two wires.

// The tokens of these tests; each secret is its name.
var apiTestTokens = []config.APIToken{
	{Name: "agent.alice", Role: config.RoleAgent, Organizations: []string{"acme"}, SHA256: config.TokenHash("agent.alice")},
	{Name: "compliance", Role: config.RoleAdmin, SHA256: config.TokenHash("compliance")},
	{Name: "globex.auditor", Role: config.RoleAuditor, Organizations: []string{"globex"}, SHA256: config.TokenHash("globex.auditor")},
}

const apiOrgs = consentOrg + `    countries:
      allowed: [US, CA]
  - name: globex
    system_ids: [globex]
    mode: disclaimer
`

// apiEnv is a live optguard with its admin listener and operator API.
type apiEnv struct {
	*consentEnv
	base string // http://host:port of the admin listener
}

func startAPI(t *testing.T, opts ...startOptions) *apiEnv {
	t.Helper()
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, apiOrgs, t.TempDir())
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Admin.Tokens = apiTestTokens
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := startWith(t, sim, cfg, opts...)
	return &apiEnv{consentEnv: c, base: "http://" + c.p.admin.ln.Addr().String()}
}

// call sends body (JSON, or a string sent as contentType) as token and
// returns the status and the decoded JSON answer.
func (a *apiEnv) call(token, method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case csvBody:
		rd, contentType = strings.NewReader(string(b)), "text/csv"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(a.ctx, method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s %s: %d, not a JSON object: %v\n%s", method, path, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

// ok is call that wants 200.
func (a *apiEnv) ok(token, method, path string, body any) map[string]any {
	a.t.Helper()
	st, out := a.call(token, method, path, body)
	if st != http.StatusOK {
		a.t.Fatalf("%s %s as %s: %d %v", method, path, token, st, out)
	}
	return out
}

// refused is call that wants an error with status and code.
func (a *apiEnv) refused(token, method, path string, body any, status int, code string) string {
	a.t.Helper()
	st, out := a.call(token, method, path, body)
	e, _ := out["error"].(map[string]any)
	if st != status || e["code"] != code {
		a.t.Fatalf("%s %s as %s: %d %v; want %d %s", method, path, token, st, out, status, code)
	}
	msg, _ := e["message"].(string)
	return msg
}

type csvBody string

// auditEvents lists the event types of number's audit trail, oldest first,
// with the actor of each.
func (a *apiEnv) auditEvents(number string) []string {
	a.t.Helper()
	out := a.ok("compliance", "GET", "/api/v1/numbers/"+number+"/audit?organization=acme", nil)
	var evs []string
	for _, it := range out["items"].([]any) {
		row := it.(map[string]any)
		evs = append(evs, row["event"].(string)+" by "+row["changed_by"].(string))
	}
	return evs
}

// Seed 001's double opt-in through the API: the employee's MT is held, the
// agent requests a double opt-in, the handset replies YES over SMPP and is
// texted a PIN, the agent enters the PIN the SMSC got, and the held MT is
// delivered byte for byte.
func TestAPIDoubleOptInWithPIN(t *testing.T) {
	a := startAPI(t)
	a.holdFirstMT("Your payment plan")

	path := "/api/v1/numbers/" + "(555)%20123-0001"
	out := a.ok("agent.alice", "POST", path+"/opt-in-requests", map[string]any{"sender": employee, "reason": "payment_plan", "double": true})
	if out["state"] != "pending" || out["number"] != "+"+guest || out["organization"] != "acme" {
		t.Fatalf("request: %v", out)
	}
	// Before the YES there is no PIN to enter.
	a.refused("agent.alice", "POST", path+"/pin", map[string]any{"sender": employee, "pin": "123456"}, http.StatusConflict, "pin_unavailable")

	if st := a.mo("acme", "YES"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	pin := a.pinOf()
	if len(a.submits(textHas("payment plan"))) != 0 {
		t.Fatal("the held MT left on the YES alone")
	}
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	msg := a.refused("agent.alice", "POST", path+"/pin", map[string]any{"sender": employee, "pin": wrong}, http.StatusUnprocessableEntity, "wrong_pin")
	if !strings.Contains(msg, "4") {
		t.Errorf("wrong PIN message %q does not say how many attempts are left", msg)
	}
	out = a.ok("agent.alice", "POST", path+"/pin", map[string]any{"sender": employee, "pin": pin})
	if out["state"] != "opted_in" {
		t.Fatalf("right PIN: %v", out)
	}
	released := a.waitSubmit("the released MT", textHas("payment plan"))
	sent, _ := pdu.AppendSubmitSM(nil, 0, mtOf("Your payment plan", 0))
	if !sameButSeq(released.Raw, sent) {
		t.Error("the released MT differs from what the ESME sent")
	}

	want := []string{"consent_requested by system", "notice_sent by system", "consent_requested by agent.alice",
		"pin_sent by handset", "pin_rejected by agent.alice", "opted_in by agent.alice", "confirmation_sent by system"}
	if got := a.auditEvents("+" + guest); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("audit trail:\n got %q\nwant %q", got, want)
	}
	state := a.ok("agent.alice", "GET", "/api/v1/numbers/"+guest, nil)
	scopes := state["scopes"].([]any)
	if len(scopes) != 1 || scopes[0].(map[string]any)["state"] != "opted_in" {
		t.Fatalf("number state: %v", state)
	}
	// Another organization's auditor sees nothing of acme's number.
	a.refused("globex.auditor", "GET", "/api/v1/numbers/+"+guest+"?organization=acme", nil, http.StatusNotFound, "unknown_organization")
}

// Seed 001's agent opt-out: the handset gets the final confirmation, the
// next MT is refused, and the ledger names the agent.
func TestAPIAgentOptOutSendsTheFinalText(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "YES")
	a.waitSubmit("the opt-in confirmation", textHas("you are opted in"))

	a.refused("agent.alice", "POST", "/api/v1/numbers/+"+guest+"/opt-out", map[string]any{}, http.StatusBadRequest, "invalid_field")
	out := a.ok("agent.alice", "POST", "/api/v1/numbers/+"+guest+"/opt-out", map[string]any{"sender": employee, "note": "asked on the phone"})
	if out["state"] != "opted_out" || len(out["sent"].([]any)) != 1 {
		t.Fatalf("agent opt-out: %v", out)
	}
	final := a.waitSubmit("the final confirmation", textHas("you have been opted out"))
	var m pdu.Message
	if err := pdu.Scan(final.Raw, &m); err != nil {
		t.Fatal(err)
	}
	if string(m.Source.Addr) != employee || string(m.Dest.Addr) != guest {
		t.Errorf("final text from %s to %s; want from the agent's line to the handset", m.Source.Addr, m.Dest.Addr)
	}
	if st := submit(t, a.ctx, e, "after the opt-out", 0).Header.Status; st != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT after the agent opt-out answered %v; want ESME_RX_P_APPN", st)
	}
	got := a.auditEvents("+" + guest)
	if len(got) < 2 || got[len(got)-2] != "opted_out by agent.alice" {
		t.Fatalf("audit trail %q; want the agent's opt-out", got)
	}
	// The do-not-contact list shows it, by whom.
	dnc := a.ok("compliance", "GET", "/api/v1/dnc?organization=acme", nil)
	items := dnc["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["by"] != "agent.alice" {
		t.Fatalf("dnc: %v", dnc)
	}
}

// Seed 003: once the handset itself said STOP, neither an agent's consent
// with proof nor a consent request may override it: 409 with the reason,
// and nothing is texted.
func TestAPIHandsetSTOPRefusesAnAgentOptIn(t *testing.T) {
	a := startAPI(t)
	a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "STOP")
	a.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	before := len(a.sim.Received())

	path := "/api/v1/numbers/+" + guest
	msg := a.refused("agent.alice", "POST", path+"/consents", map[string]any{"sender": employee, "consent_type": "phone", "proof": "call 4711"},
		http.StatusConflict, "override_refused")
	if !strings.Contains(msg, "only the handset can opt back in") {
		t.Errorf("refusal %q does not say why", msg)
	}
	a.refused("agent.alice", "POST", path+"/opt-in-requests", map[string]any{"sender": employee}, http.StatusConflict, "override_refused")
	a.refused("compliance", "DELETE", "/api/v1/dnc/+"+guest+"?organization=acme", nil, http.StatusConflict, "override_refused")
	// A UK number is outside acme's countries: 422 naming the rule.
	msg = a.refused("agent.alice", "POST", "/api/v1/numbers/+442079460958/consents", map[string]any{"sender": employee, "consent_type": "web", "proof": "form 9"},
		http.StatusUnprocessableEntity, "country_not_allowed")
	if !strings.Contains(msg, "countries.allowed") {
		t.Errorf("country refusal %q does not name the rule", msg)
	}
	if len(a.sim.Received()) != before {
		t.Fatal("a refused action put PDUs on the wire")
	}
	if cur, _ := a.p.store.Lookup(store.OrgScope("acme", "+"+guest)); cur.State != store.StateOptedOut {
		t.Fatalf("scope %s; want opted_out", cur.State)
	}
}

// Seed 003's import with a cutoff: the list opts its numbers in as of the
// cutoff, except one whose handset said STOP over SMPP before it; the dry
// run reports that and changes nothing, and running the file twice
// changes nothing the second time.
func TestAPIImportKeepsAnSMSOptOutBeforeTheCutoff(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "STOP")
	a.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	// The cutoff is a whole second after the STOP.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	cutoff := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)

	list := csvBody("number,organization,consent_type\n" +
		"+" + guest + ",acme,paper\n" + // line 2: opted out by SMS before the cutoff
		"(555) 123-0002,acme,web\n" + // line 3: opted in as of the cutoff
		"+442079460958,acme,web\n") // line 4: not one of acme's countries
	path := "/api/v1/imports?wait=true&cutoff=" + cutoff
	a.refused("agent.alice", "POST", path, list, http.StatusForbidden, "forbidden")
	head := a.ok("compliance", "GET", "/api/v1/ledger/head", nil)

	dry := a.ok("compliance", "POST", path+"&dry_run=true", list)
	rep := dry["report"].(map[string]any)
	if rep["changed"] != 1.0 || rep["kept"] != 1.0 || rep["bad"] != 1.0 {
		t.Fatalf("dry run: %v", rep)
	}
	lines := map[float64]map[string]any{}
	for _, l := range rep["lines"].([]any) {
		lines[l.(map[string]any)["line"].(float64)] = l.(map[string]any)
	}
	if r, _ := lines[2]["reason"].(string); lines[2]["outcome"] != "kept" || !strings.Contains(r, "before the cutoff") {
		t.Errorf("line 2: %v; want kept, opted out before the cutoff", lines[2])
	}
	if r, _ := lines[4]["reason"].(string); lines[4]["outcome"] != "bad" || !strings.Contains(r, "countries.allowed") {
		t.Errorf("line 4: %v; want bad, naming countries.allowed", lines[4])
	}
	if again := a.ok("compliance", "GET", "/api/v1/ledger/head", nil); again["seq"] != head["seq"] {
		t.Fatalf("the dry run wrote the ledger: head %v → %v", head["seq"], again["seq"])
	}

	done := a.ok("compliance", "POST", path, list)
	if r := done["report"].(map[string]any); done["status"] != "done" || r["changed"] != 1.0 || r["kept"] != 1.0 {
		t.Fatalf("import: %v", done)
	}
	if cur, _ := a.p.store.Lookup(store.OrgScope("acme", "+"+guest)); cur.State != store.StateOptedOut {
		t.Fatalf("the STOP before the cutoff was lifted: %s", cur.State)
	}
	if cur, _ := a.p.store.Lookup(store.OrgScope("acme", "+15551230002")); cur.State != store.StateOptedIn {
		t.Fatalf("the listed number is %s; want opted_in", cur.State)
	}
	trail := a.ok("compliance", "GET", "/api/v1/numbers/+15551230002/audit?organization=acme", nil)["items"].([]any)
	if row := trail[0].(map[string]any); len(trail) != 1 || row["changed_by"] != "compliance" || row["channel"] != "import" || row["when"] != cutoff {
		t.Fatalf("imported number's trail: %v", trail)
	}
	// The imported opt-in lets an MT to that number through at once.
	if r, err := e.Submit(a.ctx, mtTo("15551230002", "welcome back")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT to the imported number: %v %v", r.Header.Status, err)
	}
	a.waitSubmit("the MT to the imported number", textHas("welcome back"))

	again := a.ok("compliance", "POST", path, list)
	if r := again["report"].(map[string]any); r["changed"] != 0.0 || r["unchanged"] != 1.0 {
		t.Fatalf("the second run changed something: %v", r)
	}
}

// A SIGHUP's reload applies admin.tokens at once: a token taken out of the
// file stops working, one put in starts.
func TestAPIReloadRevokesTokens(t *testing.T) {
	a := startAPI(t)
	a.ok("compliance", "GET", "/api/v1/organizations", nil)
	path := filepath.Join(t.TempDir(), "optguard.yaml")
	file := apiOrgs + "admin:\n  tokens:\n    - name: night-shift\n      role: auditor\n      sha256: " + config.TokenHash("night-shift") + "\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if a.p.reload(path, "") == nil {
		t.Fatalf("reload refused:\n%s", a.logs.String())
	}
	a.refused("compliance", "GET", "/api/v1/organizations", nil, http.StatusUnauthorized, "unauthorized")
	a.ok("night-shift", "GET", "/api/v1/organizations", nil)
	if !strings.Contains(a.logs.String(), "admin.tokens reloaded") {
		t.Error("the reload's log line does not say the tokens were reloaded")
	}
}

// The profiler shows the proxy's insides: serve lets only admin tokens
// read it, with the API's 401 and 403 for the rest.
func TestAPIProfilesNeedAnAdminToken(t *testing.T) {
	a := startAPI(t)
	get := func(token string) int {
		req, _ := http.NewRequestWithContext(a.ctx, "GET", a.base+"/debug/pprof/goroutine?debug=1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for token, want := range map[string]int{"": 401, "agent.alice": 403, "compliance": 200} {
		if got := get(token); got != want {
			t.Errorf("/debug/pprof with token %q: %d, want %d", token, got, want)
		}
	}
}
