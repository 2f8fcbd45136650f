package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// A person's erasure through the API of a live optguard: the handset's
// STOP over SMPP survives it as a suppression entry, so the next MT is
// still refused, while the audit trail has nothing of the number left but
// that it was erased.
func TestAPIErasureKeepsTheOptOut(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	a.mo("acme", "STOP")
	a.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	// The STOP's follow-ups (the confirmation, the notice to the sender)
	// are recorded once answered: erase after them.
	testenv.Eventually(t, 5*time.Second, func() bool { return len(a.auditEvents("+"+guest)) == 3 }, "the STOP's three events")

	path := "/api/v1/subjects/+" + guest
	if out := a.ok("compliance", "GET", path, nil); len(out["events"].([]any)) == 0 {
		t.Fatalf("export before the erasure: %v", out)
	}
	a.refused("agent.alice", "POST", path+"/erasure", map[string]any{"confirm_number": guest}, http.StatusForbidden, "forbidden")
	out := a.ok("compliance", "POST", path+"/erasure", map[string]any{"confirm_number": "(555) 123-0001"})
	if out["suppressed"] != 1.0 || out["number"] != "+"+guest {
		t.Fatalf("erasure: %v", out)
	}
	if got := a.auditEvents("+" + guest); len(got) != 1 || got[0] != "erased by erased" {
		t.Fatalf("audit trail after the erasure: %q", got)
	}
	if st := submit(t, a.ctx, e, "after the erasure", 0).Header.Status; st != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT to the erased, opted-out number answered %v; want ESME_RX_P_APPN", st)
	}
}

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

// An erasure forgets a double opt-in in progress: after it, the handset's
// YES to a new consent request opts in as any YES does, rather than
// getting the PIN of a request made to the erased subject.
func TestErasureForgetsADoubleOptIn(t *testing.T) {
	// The API erases through the policy; optguard subject erase and the
	// retention sweep erase in the store alone, and must forget it too.
	for name, erase := range map[string]func(c *consentEnv) error{
		"policy": func(c *consentEnv) error {
			_, err := c.p.pol.EraseNumber(c.ctx, "+"+guest, store.MethodAPI, "compliance")
			return err
		},
		"store": func(c *consentEnv) error {
			_, err := c.p.store.EraseNumber(c.ctx, "+"+guest, store.MethodAPI, "compliance")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := startConsent(t, consentOrg)
			e := c.esme("acme", pdu.BindTransceiver)
			if _, err := c.p.pol.RequestOptIn(c.ctx, agent(func(r *policy.AgentRequest) { r.Double = true })); err != nil {
				t.Fatal(err)
			}
			c.waitSubmit("the double opt-in request", textHas("is trying to reach you"))
			if err := erase(c); err != nil {
				t.Fatal(err)
			}
			if r := submit(t, c.ctx, e, "held after the erasure", 0); r.Header.Status != pdu.ESME_ROK {
				t.Fatalf("MT after the erasure: %v", r.Header.Status)
			}
			testenv.Eventually(t, 5*time.Second, func() bool {
				return len(c.submits(textHas("is trying to reach you"))) == 2
			}, "the new consent request")
			c.mo("acme", "YES")
			c.waitSubmit("the held MT, released by the YES", textHas("held after the erasure"))
			if n := len(c.submits(textHas("authorization code is"))); n != 0 {
				t.Fatal("the YES after the erasure got the erased subject's PIN")
			}
		})
	}
}
