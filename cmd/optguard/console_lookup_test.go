package main

import (
	"net/http"
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
)

// An agent signs in to the console, runs seed 001's double opt-in to its
// end (the PIN read from what the SMSC got), sees the handset's STOP sent
// over SMPP in the number's audit trail with its own words, and is
// refused an opt-in request afterwards with the rule in words.
func TestConsoleLookupAndAgentActions(t *testing.T) {
	a := startAPI(t)
	a.holdFirstMT("Your payment plan")
	b := openConsole(t, a)
	b.shot("sign-in")

	// A wrong token is the API's 401, in words, and nothing else shows.
	b.typeIn("#token", "not-a-token")
	b.click("#signin-button")
	b.waitText("#signin-error", "Sign in again", "valid API token")
	b.eval(`document.getElementById('nav').hidden && sessionStorage.length === 0`)

	b.signIn("agent.alice")
	b.waitText("#who", "agent.alice", "agent", "acme")
	// The token is in sessionStorage only, and the browser has no cookie.
	b.eval(`sessionStorage.getItem('optguard.console.token') === 'agent.alice' && localStorage.length === 0 && document.cookie === ''`)
	// An agent sees no import page (admin only).
	b.eval(`document.querySelector('a[data-page=import]').parentElement.hidden && !document.querySelector('a[data-page=lookup]').parentElement.hidden`)

	// The held MT made the number pending, asked from the employee's line.
	b.open("#/lookup", "Number lookup")
	b.typeIn("#lookup-number", "(555) 123-0001")
	b.click("#lookup-submit")
	b.waitText("#lookup-results", "+"+guest, "pending", "consent requested")
	b.waitText("#audit", "consent requested", "system", "sender_first_request")

	// Double opt-in: the request, the handset's YES, the PIN.
	b.click("#act-double")
	b.waitVisible("dialog #act-sender")
	if got := evalAs[string](b, `document.getElementById('act-sender').value`); got != employee {
		t.Errorf("the dialog's sender is %q, want the conversation's %s", got, employee)
	}
	b.choose("#act-reason", "payment_plan")
	b.click("dialog button[type=submit]")
	b.waitText("#status", "Done", "pending")
	b.until(`!document.querySelector('dialog')`)
	if st := a.mo("acme", "YES"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	pin := a.pinOf()
	b.click("#act-pin")
	b.typeIn("#act-pin-code", pin)
	b.shotDialog("lookup-pin-dialog")
	b.click("dialog button[type=submit]")
	b.waitText("#status", "opted in")
	b.waitText("#scope-0", "opted in")
	a.waitSubmit("the MT released by the PIN", textHas("payment plan"))
	b.waitText("#audit", "pin sent", "opted in", "agent.alice")

	// The handset's STOP over SMPP, then the lookup shows it with its words.
	if st := a.mo("acme", "Stop texting me"); st != pdu.ESME_ROK {
		t.Fatalf("STOP answered %v", st)
	}
	a.waitSubmit("the opt-out confirmation", textHas("opted out"))
	b.click("#lookup-submit")
	b.waitText("#scope-0", "opted out", "by handset", "sms keyword", "Stop texting me")
	b.waitText("#audit", "Stop texting me", "handset")
	b.eval(`[...document.querySelectorAll('#audit tbody tr')].some(tr => tr.innerText.includes('Stop texting me') && tr.innerText.includes('handset') && tr.innerText.includes('sms keyword') && tr.innerText.includes('opted in') && tr.innerText.includes('opted out'))`)
	b.shot("lookup")

	// An agent's opt-in request is refused: the handset opted out itself.
	want := a.refused("agent.alice", "POST", "/api/v1/numbers/+"+guest+"/opt-in-requests", map[string]any{"sender": employee}, http.StatusConflict, "override_refused")
	head := a.ok("compliance", "GET", "/api/v1/ledger/head", nil)["seq"]
	b.click("#act-opt-in")
	b.click("dialog button[type=submit]")
	refusal := b.waitText("dialog .error", "Refused by the consent rules", want, "409")
	t.Logf("the refusal reads: %s", refusal)
	b.shotDialog("lookup-refused")
	b.key("\u001b") // Escape closes the dialog, and focus returns to its button
	b.until(`!document.querySelector('dialog') && document.activeElement.id === 'act-opt-in'`)
	if now := a.ok("compliance", "GET", "/api/v1/ledger/head", nil)["seq"]; now != head {
		t.Errorf("the refused request moved the ledger's head from %v to %v", head, now)
	}

	// Sign-out forgets the token.
	b.click("#sign-out")
	b.waitVisible("#token")
	b.eval(`sessionStorage.length === 0 && document.getElementById('nav').hidden && document.getElementById('page').childElementCount === 0`)
}
