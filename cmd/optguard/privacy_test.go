package main

import (
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// An erasure forgets the number's scopes under review (possible_opt_out:
// hold): the held MT goes with the subject, and the next MT is relayed as
// to a handset never seen, not held for a decision on a reply nobody can
// read any more.
func TestErasureEndsAReviewHold(t *testing.T) {
	c := startConsent(t, reviewOrg)
	e := c.esme("bank", pdu.BindTransceiver)
	c.mo("bank", "can you stop the autopay")
	nextDeliver(t, c.ctx, e)
	if r := submit(t, c.ctx, e, "held for review", 1); r.Header.Status != pdu.ESME_ROK || r.MessageID == "" {
		t.Fatalf("MT under review: %v %q", r.Header.Status, r.MessageID)
	}
	time.Sleep(100 * time.Millisecond)
	if len(c.submits(textHas("held for review"))) != 0 {
		t.Fatal("an MT under review reached the SMSC")
	}
	rep, err := c.p.pol.EraseNumber(c.ctx, "+"+guest, store.MethodAPI, "compliance")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Held != 1 {
		t.Fatalf("erasure: %+v; want the held MT deleted", rep)
	}
	if r := submit(t, c.ctx, e, "after the erasure", 0); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT after the erasure: %v", r.Header.Status)
	}
	c.waitSubmit("the MT after the erasure", textHas("after the erasure"))
	if len(c.submits(textHas("held for review"))) != 0 {
		t.Fatal("the erased held MT reached the SMSC")
	}
}
