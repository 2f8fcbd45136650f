package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// Operator actions (policy/agent.go) against a live proxy: each call is the
// Go function the operator API's handlers call, and every assertion is on
// what crossed the wire or what the ledger holds.

// agent is an operator request for the guest as the tests' agent makes it.
func agent(extra func(r *policy.AgentRequest)) policy.AgentRequest {
	r := policy.AgentRequest{Org: "acme", Sender: employee, Number: "+1 (555) 123-0001", Actor: "agent.alice", Method: store.MethodAgent}
	if extra != nil {
		extra(&r)
	}
	return r
}

var pinText = regexp.MustCompile(`authorization code is (\d{6})`)

// pinOf reads the PIN out of the text the SMSC got.
func (c *consentEnv) pinOf() string {
	c.t.Helper()
	rec := c.waitSubmit("the PIN", textHas("authorization code is"))
	var m pdu.Message
	if err := pdu.Scan(rec.Raw, &m); err != nil {
		c.t.Fatal(err)
	}
	got := pinText.FindStringSubmatch(decode(&m))
	if got == nil {
		c.t.Fatalf("no PIN in %q", decode(&m))
	}
	if string(m.Source.Addr) != employee || string(m.Dest.Addr) != guest {
		c.t.Errorf("PIN from %s to %s; want from the agent's line to the handset", m.Source.Addr, m.Dest.Addr)
	}
	return got[1]
}

func TestAgentDoubleOptInWithPIN(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	r := submit(t, c.ctx, e, "Your payment plan", 0)
	if r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("held MT answered %v", r.Header.Status)
	}
	c.waitSubmit("the consent request of the held MT", textHas("is trying to reach you"))

	out, err := c.p.pol.RequestOptIn(c.ctx, agent(func(r *policy.AgentRequest) { r.Double, r.Reason = true, policy.ReasonPaymentPlan }))
	if err != nil {
		t.Fatal(err)
	}
	if out.State != store.StatePending || out.Event.Actor != "agent.alice" || out.Event.Method != store.MethodAgent || !strings.Contains(out.Event.Note, "payment_plan") {
		t.Fatalf("request: %+v", out)
	}
	// The request is on its way to the SMSC when RequestOptIn returns.
	testenv.Eventually(t, 5*time.Second, func() bool { return len(c.submits(textHas("is trying to reach you"))) == 2 },
		"the SMSC got the held MT's consent request and the agent's")

	if st := c.mo("acme", "Yes"); st != pdu.ESME_ROK {
		t.Fatalf("YES answered %v", st)
	}
	pin := c.pinOf()
	if n := len(c.submits(textHas("payment plan"))); n != 0 {
		t.Fatal("the held MT left on the YES alone; a double opt-in waits for the PIN")
	}
	if cur, _ := c.p.store.Lookup(store.OrgScope("acme", "+"+guest)); cur.State != store.StatePending {
		t.Fatalf("after the YES the scope is %s; want pending until the PIN", cur.State)
	}

	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	_, err = c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = wrong }))
	var perr *policy.PINError
	if !errors.As(err, &perr) || perr.AttemptsLeft != 4 {
		t.Fatalf("wrong PIN: %v; want a PINError with 4 attempts left", err)
	}
	out, err = c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = pin }))
	if err != nil || out.State != store.StateOptedIn {
		t.Fatalf("right PIN: %+v %v", out, err)
	}
	released := c.waitSubmit("the released MT", textHas("payment plan"))
	sent, _ := pdu.AppendSubmitSM(nil, 0, mtOf("Your payment plan", 0))
	if !sameButSeq(released.Raw, sent) {
		t.Errorf("released MT differs from what the ESME sent")
	}
	c.waitSubmit("the opt-in confirmation", textHas("you are opted in"))
	if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = pin })); !errors.Is(err, policy.ErrNoPIN) {
		t.Fatalf("the PIN used twice: %v; want ErrNoPIN", err)
	}

	s := store.OrgScope("acme", "+"+guest)
	c.checkLedger(s, store.EventConsentRequested, store.EventNoticeSent, store.EventConsentRequested, store.EventPINSent,
		store.EventPINRejected, store.EventOptedIn, store.EventConfirmationSent)
	c.checkVia(s, employee) // the held MT's request, the agent's, the YES, the PIN, the opt-in: one conversation
	var evs []store.Event
	_ = c.p.store.Events(c.ctx, store.EventFilter{Number: s.Number}, func(ev store.Event) error { evs = append(evs, ev); return nil })
	pinSent, optedIn := evs[3], evs[5]
	if pinSent.Actor != "handset" || pinSent.Method != store.MethodSMSKeyword || pinSent.MO == nil || pinSent.MO.Text != "Yes" || pinSent.Template != policy.TplPIN {
		t.Errorf("pin_sent event: actor %q method %s MO %+v template %q; want the handset's YES as its proof", pinSent.Actor, pinSent.Method, pinSent.MO, pinSent.Template)
	}
	if strings.Contains(pinSent.Note, pin) {
		t.Error("the ledger keeps the PIN itself")
	}
	if optedIn.Actor != "agent.alice" || optedIn.Method != store.MethodAgent || !strings.Contains(optedIn.Note, "PIN verified") {
		t.Errorf("opted_in event: actor %q method %s note %q", optedIn.Actor, optedIn.Method, optedIn.Note)
	}
}

func TestAgentPINLocksAfterAttempts(t *testing.T) {
	c := startConsent(t, consentOrg)
	c.esme("acme", pdu.BindTransceiver)
	if _, err := c.p.pol.RequestOptIn(c.ctx, agent(func(r *policy.AgentRequest) { r.Double = true })); err != nil {
		t.Fatal(err)
	}
	if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = "123456" })); !errors.Is(err, policy.ErrPINNotSent) {
		t.Fatalf("PIN before the YES: %v; want ErrPINNotSent", err)
	}
	c.mo("acme", "YES")
	pin := c.pinOf()
	wrong := "999999"
	if pin == wrong {
		wrong = "888888"
	}
	for i := 0; i < 4; i++ {
		if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = wrong })); !errors.Is(err, policy.ErrWrongPIN) {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = wrong })); !errors.Is(err, policy.ErrPINLocked) {
		t.Fatalf("fifth wrong PIN: %v; want ErrPINLocked", err)
	}
	if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = pin })); !errors.Is(err, policy.ErrPINLocked) {
		t.Fatalf("the right PIN after the lock: %v; want ErrPINLocked", err)
	}
	if cur, _ := c.p.store.Lookup(store.OrgScope("acme", "+"+guest)); cur.State != store.StatePending {
		t.Fatalf("scope %s after a locked PIN; want pending", cur.State)
	}
	if _, err := c.p.pol.VerifyPIN(c.ctx, agent(func(r *policy.AgentRequest) { r.PIN = "12" })); err == nil || !strings.Contains(err.Error(), "6 digits") {
		t.Fatalf("a short PIN: %v; want a field error", err)
	}
}

func TestAgentOptOutSendsTheFinalText(t *testing.T) {
	c := startConsent(t, consentOrg)
	e := c.esme("acme", pdu.BindTransceiver)
	if _, err := c.p.pol.RecordConsent(c.ctx, agent(func(r *policy.AgentRequest) {
		r.ConsentType, r.Proof = policy.ConsentPaper, "signed form 1234"
	})); err != nil {
		t.Fatal(err)
	}
	c.waitSubmit("the opt-in confirmation", textHas("you are opted in"))
	if st := submit(t, c.ctx, e, "hello", 0).Header.Status; st != pdu.ESME_ROK {
		t.Fatalf("MT after consent on paper: %v", st)
	}
	c.waitSubmit("the MT", textHas("hello"))

	out, err := c.p.pol.OptOut(c.ctx, agent(func(r *policy.AgentRequest) { r.Note = "customer asked on the phone" }))
	if err != nil || out.State != store.StateOptedOut || len(out.Sent) != 1 {
		t.Fatalf("agent opt-out: %+v %v", out, err)
	}
	c.waitSubmit("the final confirmation", textHas("you have been opted out"))
	if st := submit(t, c.ctx, e, "after the opt-out", 0).Header.Status; st != pdu.ESME_RX_P_APPN {
		t.Fatalf("MT after the agent opt-out answered %v; want ESME_RX_P_APPN", st)
	}
	out, err = c.p.pol.OptOut(c.ctx, agent(nil))
	if err != nil || len(out.Sent) != 0 || !strings.Contains(out.Detail, "already") {
		t.Fatalf("second opt-out: %+v %v; want no second text", out, err)
	}
	if n := len(c.submits(textHas("you have been opted out"))); n != 1 {
		t.Fatalf("the handset got %d final texts; want 1", n)
	}
	// An agent opt-out is lifted by proof, but no request may be texted.
	if _, err := c.p.pol.RequestOptIn(c.ctx, agent(nil)); !errors.Is(err, policy.ErrRequestOptedOut) {
		t.Fatalf("request after an agent opt-out: %v; want ErrRequestOptedOut", err)
	}
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventOptedIn, store.EventConfirmationSent, store.EventOptedOut, store.EventConfirmationSent, store.EventOptedOut)
	c.checkVia(store.OrgScope("acme", "+"+guest), employee) // the agent's line
}

func TestAgentCannotLiftAHandsetSTOP(t *testing.T) {
	c := startConsent(t, consentOrg)
	c.esme("acme", pdu.BindTransceiver)
	c.mo("acme", "STOP")
	c.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	before := len(c.sim.Received())
	for name, call := range map[string]func() error{
		"record consent": func() error {
			_, err := c.p.pol.RecordConsent(c.ctx, agent(func(r *policy.AgentRequest) { r.ConsentType, r.Proof = policy.ConsentPhone, "call 77" }))
			return err
		},
		"request": func() error { _, err := c.p.pol.RequestOptIn(c.ctx, agent(nil)); return err },
	} {
		if err := call(); !errors.Is(err, policy.ErrHandsetOptedOut) {
			t.Errorf("%s after the handset's STOP: %v; want ErrHandsetOptedOut", name, err)
		}
	}
	if n := len(c.submits(textHas("trying to reach you"))) + len(c.submits(textHas("you are opted in"))); n != 0 {
		t.Fatalf("%d texts went to a handset that said STOP", n)
	}
	if len(c.sim.Received()) != before {
		t.Error("a refused action put PDUs on the wire")
	}
	if cur, _ := c.p.store.Lookup(store.OrgScope("acme", "+"+guest)); cur.State != store.StateOptedOut {
		t.Fatalf("scope %s; want opted_out", cur.State)
	}
}

func TestAgentRequestsAreChecked(t *testing.T) {
	c := startConsent(t, consentOrg+`
    countries:
      allowed: [US, CA]
`)
	var ferr *policy.FieldError
	var cerr *policy.CountryError
	for name, tc := range map[string]struct {
		r     policy.AgentRequest
		check func(error) bool
	}{
		"UK number":       {agent(func(r *policy.AgentRequest) { r.Number = "+44 20 7946 0958" }), func(err error) bool { return errors.As(err, &cerr) }},
		"not a number":    {agent(func(r *policy.AgentRequest) { r.Number = "12ab" }), func(err error) bool { return errors.Is(err, policy.ErrInvalidNumber) }},
		"unknown org":     {agent(func(r *policy.AgentRequest) { r.Org = "nobody" }), func(err error) bool { return errors.Is(err, policy.ErrUnknownOrganization) }},
		"no actor":        {agent(func(r *policy.AgentRequest) { r.Actor = "" }), func(err error) bool { return errors.As(err, &ferr) && ferr.Field == "actor" }},
		"no sender":       {agent(func(r *policy.AgentRequest) { r.Sender = "" }), func(err error) bool { return errors.As(err, &ferr) && ferr.Field == "sender" }},
		"bad reason":      {agent(func(r *policy.AgentRequest) { r.Reason = "because" }), func(err error) bool { return errors.As(err, &ferr) && ferr.Field == "reason" }},
		"control in note": {agent(func(r *policy.AgentRequest) { r.Note = "a\x1b[2Jb" }), func(err error) bool { return errors.As(err, &ferr) && ferr.Field == "note" }},
	} {
		if _, err := c.p.pol.RequestOptIn(c.ctx, tc.r); !tc.check(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if cerr != nil && !strings.Contains(cerr.Error(), "countries.allowed") {
		t.Errorf("country error %q does not name the rule", cerr)
	}
	if n := len(c.submits(func(*pdu.Message) bool { return true })); n != 0 {
		t.Fatalf("refused requests sent %d texts", n)
	}
}

func TestDoNotContactRemoveFollowsTheOverrideRules(t *testing.T) {
	c := startConsent(t, consentOrg)
	c.esme("acme", pdu.BindTransceiver)
	noSender := func(r *policy.AgentRequest) { r.Sender, r.Method = "", store.MethodAPI }
	if _, err := c.p.pol.RemoveOptOut(c.ctx, agent(noSender)); !errors.Is(err, policy.ErrNotOptedOut) {
		t.Fatalf("removing a number never opted out: %v; want ErrNotOptedOut", err)
	}
	out, err := c.p.pol.OptOut(c.ctx, agent(noSender))
	if err != nil || out.State != store.StateOptedOut || len(out.Sent) != 0 || !strings.Contains(out.Detail, "no sender") {
		t.Fatalf("DNC add: %+v %v; want opted out with no text", out, err)
	}
	out, err = c.p.pol.RemoveOptOut(c.ctx, agent(noSender))
	if err != nil || out.State != store.StateUnknown || out.Event.Type != store.EventReset || out.Event.Actor != "agent.alice" {
		t.Fatalf("DNC remove of an API opt-out: %+v %v", out, err)
	}
	c.mo("acme", "STOP")
	c.waitSubmit("the opt-out confirmation", textHas("you are opted out"))
	if _, err := c.p.pol.RemoveOptOut(c.ctx, agent(noSender)); !errors.Is(err, policy.ErrHandsetOptedOut) {
		t.Fatalf("DNC remove of a handset STOP: %v; want ErrHandsetOptedOut", err)
	}
	if n := len(c.submits(func(*pdu.Message) bool { return true })); n != 1 {
		t.Fatalf("the SMSC got %d texts; want only the STOP's confirmation", n)
	}
	c.checkLedger(store.OrgScope("acme", "+"+guest), store.EventOptedOut, store.EventReset, store.EventOptedOut, store.EventConfirmationSent, store.EventNoticeSent)
}

func TestReviewItemsAreTheOpenPossibleOptOuts(t *testing.T) {
	c := startConsent(t, reviewOrg)
	e := c.esme("bank", pdu.BindTransceiver)
	c.mo("bank", "can you stop the autopay")
	nextDeliver(t, c.ctx, e)
	scope := store.OrgScope("bank", "+"+guest)
	c.checkLedger(scope, store.EventPossibleOptOut)
	items, err := c.p.pol.ReviewItems(c.ctx, "", time.Time{})
	if err != nil || len(items) != 1 {
		t.Fatalf("review items: %+v %v; want one", items, err)
	}
	if it := items[0]; it.Event.Scope != scope || it.Event.MO == nil || it.Event.MO.Text != "can you stop the autopay" || !it.Holding {
		t.Fatalf("review item %+v; want the reply, its number, and holding", it)
	}
	if items, _ := c.p.pol.ReviewItems(c.ctx, "acme", time.Time{}); len(items) != 0 {
		t.Fatalf("another account's review items: %+v", items)
	}
	if _, err := c.p.pol.DecideReview(c.ctx, scope, false, "officer", ""); err != nil {
		t.Fatal(err)
	}
	if items, _ := c.p.pol.ReviewItems(c.ctx, "", time.Time{}); len(items) != 0 {
		t.Fatalf("review items after the decision: %+v", items)
	}
}
