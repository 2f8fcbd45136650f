package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
)

// dncNumbers lists the numbers on acme's do-not-contact list, as the API
// has it.
func (a *apiEnv) dncNumbers() []string {
	a.t.Helper()
	var out []string
	for _, it := range a.ok("compliance", "GET", "/api/v1/dnc?organization=acme", nil)["items"].([]any) {
		out = append(out, it.(map[string]any)["number"].(string))
	}
	return out
}

// stateOf is number's state in acme as the API has it ("unknown" when
// it has no record).
func (a *apiEnv) stateOf(number string) string {
	a.t.Helper()
	st, out := a.call("compliance", "GET", "/api/v1/numbers/"+number+"?organization=acme", nil)
	if st == http.StatusNotFound {
		return "unknown"
	}
	scopes, _ := out["scopes"].([]any)
	if st != http.StatusOK || len(scopes) != 1 {
		a.t.Fatalf("GET %s: %d %v", number, st, out)
	}
	return scopes[0].(map[string]any)["state"].(string)
}

// An admin changes the do-not-contact list (seed 004: visible and
// changeable), within the override rules; imports a consent list after
// its dry run (seed 003); and decides a possible opt-out in the review
// queue. Each change is checked through the API.
func TestConsoleDNCImportAndReview(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	// An MT to a number the list below opts in waits for its consent.
	if r, err := e.Submit(a.ctx, mtTo("15557770001", "Your new card is on its way")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT to be held: %v", err)
	}
	a.waitSubmit("the consent request", func(m *pdu.Message) bool { return string(m.Dest.Addr) == "15557770001" })
	// The guest opts in, then writes something that reads like an
	// opt-out but is none: a review item.
	a.mo("acme", "YES")
	a.waitSubmit("the opt-in confirmation", textHas("opted in"))
	a.mo("acme", "can you stop the autopay")
	// Another handset texted STOP itself: on the list, and only it can lift that.
	a.moFrom("acme", "15551230002", "STOP")
	a.waitSubmit("the opt-out confirmation", func(m *pdu.Message) bool { return string(m.Dest.Addr) == "15551230002" })

	b := openConsole(t, a)
	b.signIn("compliance")

	// The do-not-contact list: add a number, see it, take it off again.
	b.open("#/dnc", "Do-not-contact list")
	b.waitText("#dnc", "+15551230002", "sms keyword", "handset")
	b.typeIn("#dnc-number", "(555) 123-9999")
	b.choose("#dnc-add-org", "acme")
	b.typeIn("#dnc-note", "asked by letter")
	b.click("#dnc-add-submit")
	b.waitText("dialog", "Add (555) 123-9999 to the do-not-contact list?")
	b.click("dialog button[type=submit]")
	b.waitText("#status", "Added +15551239999")
	b.waitText("#dnc", "+15551239999", "compliance", "api")
	if got := strings.Join(a.dncNumbers(), " "); !strings.Contains(got, "+15551239999") {
		t.Fatalf("the API's list after the console's add: %s", got)
	}
	b.shot("dnc")
	// The handset's own STOP cannot be lifted by an admin: 409, in words.
	b.click(`#dnc button[data-number="+15551230002"]`)
	b.click("dialog button[type=submit]")
	b.waitText("dialog .error", "Refused by the consent rules", "only the handset", "409")
	b.shotDialog("dnc-remove-refused")
	b.click("dialog .btn:not([type=submit])") // Cancel
	b.click(`#dnc button[data-number="+15551239999"]`)
	b.typeIn("#dnc-remove-note", "letter withdrawn")
	b.click("dialog button[type=submit]")
	b.waitText("#status", "Took +15551239999 off the list")
	b.eval(`!document.querySelector('#dnc').innerText.includes('+15551239999')`)
	if got := strings.Join(a.dncNumbers(), " "); strings.Contains(got, "+15551239999") || !strings.Contains(got, "+15551230002") {
		t.Fatalf("the API's list after the console's removal: %s", got)
	}

	// Import: the dry run shows what would change and the bad rows by
	// line, and writes nothing; then the import of the same file.
	list := filepath.Join(t.TempDir(), "consent-list.csv")
	if err := os.WriteFile(list, []byte("number,organization,state,consent_type\n"+
		"+15557770001,acme,opted_in,paper\n"+
		"+15557770002,acme,opted_in,web\n"+
		"not a number,acme,opted_in,paper\n"+
		"+15551230002,acme,opted_in,paper\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.open("#/import", "Import a consent list")
	b.eval(`document.getElementById('imp-apply').disabled`)
	b.upload("#imp-file", list)
	b.click("#imp-dry")
	b.waitText("#imp-report", "Dry run: what the import would do")
	b.waitText("#imp-changed", "2")
	b.waitText("#imp-bad", "1")
	b.waitText("#imp-released", "1")
	b.waitText("#imp-lines", "not a number", "bad", "+15551230002", "kept", "+15557770001", "changed")
	b.eval(`[...document.querySelectorAll('#imp-lines tbody tr')].some(tr => tr.cells[0].innerText === '4' && tr.innerText.includes('bad'))`)
	b.waitText("#imp-progress", "done, 4 of 4 rows")
	if st := a.stateOf("+15557770001"); st != "pending" {
		t.Fatalf("the dry run wrote: +15557770001 is %s; want pending, its consent asked for", st)
	}
	b.shot("import-dry-run")
	b.click("#imp-apply")
	b.waitText("dialog", "The dry run found 4 rows: 2 change", "1 released to the SMSC")
	if n := len(a.submits(textHas("new card"))); n != 0 {
		t.Fatal("the held MT went out before the import")
	}
	b.click("dialog button[type=submit]")
	b.waitText("#imp-report", "What the import did")
	b.waitText("#status", "Imported consent-list.csv: 2 changed")
	b.waitText("#imp-released", "1")
	a.waitSubmit("the MT the import released", textHas("Your new card is on its way"))
	b.waitText("#imp-list", "import", "dry run", "done", "compliance", "Held released / dropped", "1 / 0")
	if st := a.stateOf("+15557770001"); st != "opted_in" {
		t.Fatalf("after the import +15557770001 is %s", st)
	}
	if st := a.stateOf("+15551230002"); st != "opted_out" {
		t.Fatalf("the import lifted a handset's STOP: %s", st)
	}
	b.eval(`document.getElementById('imp-apply').disabled`) // importing again needs a new dry run
	b.shot("import")

	// The review queue: the reply is there with its words; the admin
	// decides it was an opt-out.
	b.open("#/review", "Review queue")
	b.waitText("#review", "+"+guest, "can you stop the autopay")
	b.shot("review")
	b.click(`#review button[data-decision=opt_out]`)
	b.waitText("dialog", "The handset wrote: can you stop the autopay")
	b.typeIn("#rev-note", "reads as a revocation")
	b.click("dialog button[type=submit]")
	b.waitText("#status", "opted out on the reviewer's decision")
	b.waitText("#rev-count", "0 items wait")
	if st := a.stateOf("+" + guest); st != "opted_out" {
		t.Fatalf("after the decision the guest is %s", st)
	}
	if got := a.auditEvents("+" + guest); !strings.Contains(strings.Join(got, ","), "opted_out by compliance") {
		t.Fatalf("the decision is not in the ledger as the admin's: %v", got)
	}
}
