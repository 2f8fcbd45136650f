package main

import (
	"io"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

const reviewOrg = `
organizations:
  - name: bank
    system_ids: [bank]
    mode: off
    possible_opt_out: hold
`

// possible_opt_out: hold — a reply that contains an opt-out word but
// matches no list is relayed and recorded, and the scope's later MTs are
// held (ESME_ROK with an id) until a person decides: dismissing it sends
// them on in order; deciding it was an opt-out drops them with REJECTD
// receipts and refuses what follows.
func TestPossibleOptOutHoldUntilDecided(t *testing.T) {
	c := startConsent(t, reviewOrg)
	e := c.esme("bank", pdu.BindTransceiver)
	if r := submit(t, c.ctx, e, "your payment is due", 0); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("first MT: %v", r.Header.Status)
	}
	c.waitSubmit("the first MT", textHas("payment is due"))
	c.mo("bank", "can you stop the autopay")
	if _, m := nextDeliver(t, c.ctx, e); decode(m) != "can you stop the autopay" {
		t.Fatalf("the possible opt-out was not relayed: %q", decode(m))
	}
	r := submit(t, c.ctx, e, "held for review", 1)
	if r.Header.Status != pdu.ESME_ROK || r.MessageID == "" {
		t.Fatalf("MT under review: %v %q; want ESME_ROK and an id", r.Header.Status, r.MessageID)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(c.submits(textHas("held for review"))); n != 0 {
		t.Fatal("an MT under review reached the SMSC")
	}
	// An old consent list naming the number does not decide the review.
	rows := []policy.ImportRow{{Line: 2, Org: "bank", Number: "+" + guest}}
	rep, err := c.p.pol.Import(c.ctx, func() (policy.ImportRow, error) {
		if len(rows) == 0 {
			return policy.ImportRow{}, io.EOF
		}
		row := rows[0]
		rows = rows[1:]
		return row, nil
	}, policy.ImportOptions{Cutoff: time.Now(), Actor: "compliance-officer"})
	if err != nil || rep.Changed != 1 || rep.HeldReleased != 0 {
		t.Fatalf("import during the review: %+v, %v; want the number opted in and nothing released", rep, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(c.submits(textHas("held for review"))); n != 0 {
		t.Fatal("an import released an MT held for review")
	}
	scope := store.OrgScope("bank", "+"+guest)
	if _, err := c.p.pol.DecideReview(c.ctx, scope, false, "compliance-officer", "asked about autopay, not texts"); err != nil {
		t.Fatal(err)
	}
	c.waitSubmit("the MT released by the decision", textHas("held for review"))
	if r := submit(t, c.ctx, e, "after the decision", 0); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT after the review was dismissed: %v", r.Header.Status)
	}
	c.waitSubmit("the MT after the decision", textHas("after the decision"))

	// A second possible opt-out, decided as an opt-out this time.
	c.mo("bank", "please stop the payments from my account")
	nextDeliver(t, c.ctx, e)
	r = submit(t, c.ctx, e, "second hold", 1)
	if r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("second MT under review: %v", r.Header.Status)
	}
	if _, err := c.p.pol.DecideReview(c.ctx, scope, true, "compliance-officer", "reads as revocation"); err != nil {
		t.Fatal(err)
	}
	_, dlr := nextDeliver(t, c.ctx, e)
	if id, _ := pdu.ReceiptID(dlr); !dlr.IsReceipt() || string(id) != r.MessageID {
		t.Fatalf("want a REJECTD receipt for %s, got %q", r.MessageID, decode(dlr))
	}
	if r := submit(t, c.ctx, e, "refused now", 0); r.Header.Status != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT after the opt-out decision: %v", r.Header.Status)
	}
	if _, err := c.p.pol.DecideReview(c.ctx, scope, false, "x", ""); err == nil {
		t.Fatal("deciding a review that is no longer open succeeded")
	}
	c.checkLedger(scope, store.EventPossibleOptOut, store.EventStateImported, store.EventReviewDismissed, store.EventPossibleOptOut, store.EventOptedOut)
	c.checkVia(scope, employee) // a decision is recorded in the conversation of the reply it decides
}
