package main

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// An import settles what its numbers held for want of consent, as an
// agent's word would: the MT held for a number imported as opted in goes
// to the SMSC with its bytes intact, the MT held for a number imported as
// opted out is answered with a REJECTD receipt and never sent. The dry run
// counts both and sends nothing.
func TestAPIImportSettlesHeldMessages(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	const declined = "15551230002"
	released := submit(t, a.ctx, e, "Your statement is ready", 1)
	card := mtTo(declined, "Your card has shipped")
	card.RegisteredDelivery = 1
	dropped, err := e.Submit(a.ctx, card)
	if err != nil || released.Header.Status != pdu.ESME_ROK || dropped.Header.Status != pdu.ESME_ROK {
		t.Fatalf("held MTs answered %v and %v (%v)", released.Header.Status, dropped.Header.Status, err)
	}
	for range 2 {
		a.waitSubmit("a consent request", textHas("is trying to reach you"))
		if _, m := nextDeliver(t, a.ctx, e); noticeOf(m) != "requested" {
			t.Fatalf("want the requested notice, got %q", decode(m))
		}
	}
	cutoff := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	list := csvBody("number,organization,state\n" +
		"+" + guest + ",acme,opted_in\n" +
		"+" + declined + ",acme,opted_out\n")
	path := "/api/v1/imports?wait=true&cutoff=" + cutoff

	dry := a.ok("compliance", "POST", path+"&dry_run=true", list)["report"].(map[string]any)
	if dry["changed"] != 2.0 || dry["held_released"] != 1.0 || dry["held_dropped"] != 1.0 {
		t.Fatalf("dry run: %v; want 2 changed, 1 held message to release and 1 to drop", dry)
	}
	time.Sleep(200 * time.Millisecond) // what a dry run wrongly sent would have crossed by now
	if n := len(a.submits(textHas("statement"))); n != 0 {
		t.Fatalf("the dry run released the held MT")
	}

	rep := a.ok("compliance", "POST", path, list)["report"].(map[string]any)
	if rep["changed"] != 2.0 || rep["held_released"] != 1.0 || rep["held_dropped"] != 1.0 {
		t.Fatalf("import: %v; want 2 changed, 1 held message released and 1 dropped", rep)
	}
	rec := a.waitSubmit("the released MT", textHas("Your statement is ready"))
	if sent, _ := pdu.AppendSubmitSM(nil, 0, mtOf("Your statement is ready", 1)); !sameButSeq(rec.Raw, sent) {
		t.Error("the released MT differs from what the ESME sent")
	}
	_, dlr := nextDeliver(t, a.ctx, e)
	id, _ := pdu.ReceiptID(dlr)
	stat, _, _ := pdu.ReceiptField(dlr.ShortMessage, "stat")
	if !dlr.IsReceipt() || string(id) != dropped.MessageID || string(stat) != "REJECTD" {
		t.Fatalf("want a REJECTD receipt for %s, got %q", dropped.MessageID, decode(dlr))
	}
	if n := len(a.submits(textHas("card has shipped"))); n != 0 {
		t.Fatalf("the MT of the number imported as opted out reached the SMSC")
	}
	a.waitMessageStatus("+"+guest, released.MessageID, "sent")
	a.waitMessageStatus("+"+declined, dropped.MessageID, "rejected")
}

// waitMessageStatus waits until the message log of number, read through
// the API, gives message id the status want (the log is written behind the
// messages it records).
func (a *apiEnv) waitMessageStatus(number, id, want string) {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := ""
		for _, it := range a.ok("compliance", "GET", "/api/v1/numbers/"+number+"/messages?organization=acme", nil)["items"].([]any) {
			if m := it.(map[string]any); m["id"] == id {
				got, _ = m["status"].(string)
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("message %s of %s is %q in the message log; want %q", id, number, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
