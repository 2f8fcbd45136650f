package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// reviewView is one possible opt-out waiting for a person: the handset's
// words, who and when.
type reviewView struct {
	Seq          uint64    `json:"seq"`
	Number       string    `json:"number"`
	Organization string    `json:"organization"`
	Sender       string    `json:"sender,omitempty"`
	MOText       string    `json:"mo_text"`
	ReceivedAt   time.Time `json:"received_at"`
	Holding      bool      `json:"holding"` // later MTs to the number wait for the decision
}

func (a *API) listReview(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	acct, err := c.listAccount(q.str("organization"))
	since := q.time("since")
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	list, err := a.pol.ReviewItems(r.Context(), acct, since)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	items := []reviewView{}
	for _, it := range list {
		ev := it.Event
		if !c.visible(ev.Scope.Org, acct) {
			continue
		}
		v := reviewView{Seq: ev.Seq, Number: ev.Scope.Number, Organization: ev.Scope.Org, Sender: ev.Scope.Sender,
			ReceivedAt: ev.OccurredAt, Holding: it.Holding}
		if ev.MO != nil {
			v.MOText = ev.MO.Text
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, struct {
		Items []reviewView `json:"items"`
	}{items})
}

type decisionBody struct {
	Organization string `json:"organization"`
	Sender       string `json:"sender"`
	Number       string `json:"number"`
	Decision     string `json:"decision"` // opt_out or dismiss
	Note         string `json:"note"`
}

// decideReview settles a possible opt-out: the decision is a ledger event
// with the caller as its actor.
func (a *API) decideReview(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var b decisionBody
	if err := a.decodeJSON(w, r, &b); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var optOut bool
	switch b.Decision {
	case "opt_out":
		optOut = true
	case "dismiss":
	default:
		writeError(w, r, a.log, badRequest("decision", `must be "opt_out" or "dismiss", got "`+b.Decision+`"`))
		return
	}
	if strings.TrimSpace(b.Number) == "" {
		writeError(w, r, a.log, badRequest("number", "is required"))
		return
	}
	o, err := c.org(b.Organization)
	var s store.Scope
	if err == nil {
		s, err = a.pol.Scope(o.Name, b.Sender, b.Number)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	applied, err := a.pol.DecideReview(r.Context(), s, optOut, c.Name, b.Note)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOutcome(policy.Outcome{Scope: s, State: applied.Consent.State, Event: applied.Event,
		Detail: decisionDetail(optOut, len(applied.Released)+len(applied.Dropped))}))
}

func decisionDetail(optOut bool, held int) string {
	if optOut {
		return "opted out on the reviewer's decision; " + uintText(uint64(held)) + " held message(s) refused"
	}
	return "dismissed; " + uintText(uint64(held)) + " held message(s) released to the SMSC"
}
