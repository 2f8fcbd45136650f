package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// The bodies of the consent actions on /api/v1/numbers/{number}/…. Each
// names the organization (the caller's own when it has one only) and,
// for accounts that keep consent per sender number, the sender.
type (
	optInRequestBody struct {
		Organization string `json:"organization"`
		Sender       string `json:"sender"`
		Reason       string `json:"reason"` // agent (default), quick, payment_plan, supervisor
		Double       bool   `json:"double"` // a PIN follows the YES
		Note         string `json:"note"`
	}
	pinBody struct {
		Organization string `json:"organization"`
		Sender       string `json:"sender"`
		PIN          string `json:"pin"`
	}
	consentBody struct {
		Organization string `json:"organization"`
		Sender       string `json:"sender"`
		ConsentType  string `json:"consent_type"`
		Proof        string `json:"proof"`
		Note         string `json:"note"`
	}
	optOutBody struct {
		Organization string `json:"organization"`
		Sender       string `json:"sender"`
		Note         string `json:"note"`
	}
)

// outcomeView is what an action did.
type outcomeView struct {
	Number       string           `json:"number"`
	Organization string           `json:"organization"`
	Sender       string           `json:"sender,omitempty"`
	State        string           `json:"state"`
	Event        *store.EventView `json:"event,omitempty"`
	Sent         []string         `json:"sent"`
	PINExpiresAt *time.Time       `json:"pin_expires_at,omitempty"`
	AttemptsLeft int              `json:"attempts_left,omitempty"`
	Detail       string           `json:"detail"`
}

func viewOutcome(o policy.Outcome) outcomeView {
	v := outcomeView{Number: o.Scope.Number, Organization: o.Scope.Org, Sender: o.Scope.Sender, State: o.State.String(),
		Sent: nonNil(o.Sent), AttemptsLeft: o.AttemptsLeft, Detail: o.Detail}
	if o.Event.Seq != 0 {
		ev := store.ViewEvent(o.Event)
		v.Event = &ev
	}
	if !o.PINExpiresAt.IsZero() {
		t := o.PINExpiresAt
		v.PINExpiresAt = &t
	}
	return v
}

// act runs one consent action: body is decoded into, then req builds the
// policy request from it, and do runs it.
func (a *API) act(w http.ResponseWriter, r *http.Request, body any, req func() policy.AgentRequest,
	do func(*policy.Engine, *http.Request, policy.AgentRequest) (policy.Outcome, error)) {
	c := callerOf(r)
	if err := a.decodeJSON(w, r, body); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	ar := req()
	o, err := c.org(ar.Org)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	ar.Org, ar.Actor = o.Name, c.Name
	if ar.Number == "" {
		ar.Number = strings.TrimSpace(r.PathValue("number"))
	}
	out, err := do(a.pol, r, ar)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOutcome(out))
}

func (a *API) requestOptIn(w http.ResponseWriter, r *http.Request) {
	var b optInRequestBody
	a.act(w, r, &b, func() policy.AgentRequest {
		return policy.AgentRequest{Org: b.Organization, Sender: b.Sender, Method: store.MethodAgent,
			Reason: policy.OptInReason(b.Reason), Double: b.Double, Note: b.Note}
	}, func(e *policy.Engine, r *http.Request, ar policy.AgentRequest) (policy.Outcome, error) {
		return e.RequestOptIn(r.Context(), ar)
	})
}

func (a *API) verifyPIN(w http.ResponseWriter, r *http.Request) {
	var b pinBody
	a.act(w, r, &b, func() policy.AgentRequest {
		return policy.AgentRequest{Org: b.Organization, Sender: b.Sender, Method: store.MethodAgent, PIN: b.PIN}
	}, func(e *policy.Engine, r *http.Request, ar policy.AgentRequest) (policy.Outcome, error) {
		return e.VerifyPIN(r.Context(), ar)
	})
}

func (a *API) recordConsent(w http.ResponseWriter, r *http.Request) {
	var b consentBody
	a.act(w, r, &b, func() policy.AgentRequest {
		return policy.AgentRequest{Org: b.Organization, Sender: b.Sender, Method: store.MethodAgent,
			ConsentType: policy.ConsentType(b.ConsentType), Proof: b.Proof, Note: b.Note}
	}, func(e *policy.Engine, r *http.Request, ar policy.AgentRequest) (policy.Outcome, error) {
		return e.RecordConsent(r.Context(), ar)
	})
}

// agentOptOut is seed 001's agent opt-out: the handset gets the final
// confirmation text, so the line it comes from is required.
func (a *API) agentOptOut(w http.ResponseWriter, r *http.Request) {
	var b optOutBody
	a.act(w, r, &b, func() policy.AgentRequest {
		return policy.AgentRequest{Org: b.Organization, Sender: b.Sender, Method: store.MethodAgent, Note: b.Note}
	}, func(e *policy.Engine, r *http.Request, ar policy.AgentRequest) (policy.Outcome, error) {
		if strings.TrimSpace(ar.Sender) == "" {
			return policy.Outcome{}, badRequest("sender", "is required: the handset gets the final opt-out confirmation from this number (to opt out without a text, add the number to the do-not-contact list)")
		}
		return e.OptOut(r.Context(), ar)
	})
}
