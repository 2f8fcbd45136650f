package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// dncEntry is one opted-out scope on the do-not-contact list (seed 004):
// when, how and by whom it was opted out.
type dncEntry struct {
	Number       string     `json:"number"`
	Organization string     `json:"organization"`
	Sender       string     `json:"sender,omitempty"`
	OptedOutAt   *time.Time `json:"opted_out_at,omitempty"` // absent for an erased subject: its time went with it
	Method       string     `json:"method"`
	By           string     `json:"by"`
	Erased       bool       `json:"erased,omitempty"`
}

var dncColumns = []string{"number", "organization", "sender", "opted_out_at", "method", "by"}

func (e dncEntry) csv() []string {
	at := ""
	if e.OptedOutAt != nil {
		at = e.OptedOutAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{e.Number, e.Organization, e.Sender, at, e.Method, e.By}
}

// dncEntryOf is rec's entry, its actor read from the ledger: the latest
// event that opted the scope out. An erased subject's suppression entry
// has no number or history left to show.
func (a *API) dncEntryOf(ctx context.Context, rec store.Consent) (dncEntry, error) {
	e := dncEntry{Number: rec.Scope.Number, Organization: rec.Scope.Org, Sender: rec.Scope.Sender,
		Method: rec.OptedOutMethod.String(), Erased: rec.Erased}
	if rec.Erased || rec.Scope.Number == "" {
		e.By = "erased"
		return e, nil
	}
	e.OptedOutAt = &rec.OptedOutAt
	ev, ok, err := a.stateEvent(ctx, rec)
	if ok {
		e.By = ev.Actor
	}
	return e, err
}

func (a *API) listDNC(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	acct, err := c.listAccount(q.str("organization"))
	asCSV, ferr := q.format()
	f := store.ConsentFilter{Org: acct, States: []store.State{store.StateOptedOut}, Cursor: q.str("cursor"), Limit: q.limit()}
	if err == nil {
		err = ferr
	}
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	dncList.serve(a, w, r, c, acct, f, asCSV)
}

var dncList = recordList[dncEntry]{"do-not-contact.csv", dncColumns, (*API).dncEntryOf}

type dncAddBody struct {
	Organization string `json:"organization"`
	Number       string `json:"number"`
	Sender       string `json:"sender"` // optional: with it the handset gets the opt-out confirmation
	Note         string `json:"note"`
}

// addDNC opts a number out with method api (seed 004's list is
// "changeable"): no text to the handset unless a sender is given.
func (a *API) addDNC(w http.ResponseWriter, r *http.Request) {
	var b dncAddBody
	a.act(w, r, &b, func() policy.AgentRequest {
		return policy.AgentRequest{Org: b.Organization, Sender: b.Sender, Number: b.Number, Method: store.MethodAPI, Note: b.Note}
	}, func(e *policy.Engine, r *http.Request, ar policy.AgentRequest) (policy.Outcome, error) {
		if strings.TrimSpace(ar.Number) == "" {
			return policy.Outcome{}, badRequest("number", "is required")
		}
		return e.OptOut(r.Context(), ar)
	})
}

// removeDNC takes a number off the list where the override rules allow:
// an opt-out the handset texted itself is refused with 409 and the rule.
func (a *API) removeDNC(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	ar := policy.AgentRequest{Org: q.str("organization"), Sender: q.str("sender"), Number: strings.TrimSpace(r.PathValue("number")),
		Method: store.MethodAPI, Actor: c.Name, Note: q.str("note")}
	o, err := c.org(ar.Org)
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	ar.Org = o.Name
	out, err := a.pol.RemoveOptOut(r.Context(), ar)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOutcome(out))
}
