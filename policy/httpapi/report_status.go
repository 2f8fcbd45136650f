package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/optguard/optguard/store"
)

// Seed 003's consent status report: every consent record the caller sees,
// with its state ("Provided consent?"), since when, how and by whom it got
// there, filtered by state and searched by number. Its rows are the
// consent records (store.ListConsents), in the store's key order, and its
// cursor is the store's: a page is one ListConsents page, whose time and
// memory the store bounds.

// statusRow is one row of the report.
type statusRow struct {
	Number       string     `json:"number,omitempty"`
	Organization string     `json:"organization"`
	Sender       string     `json:"sender,omitempty"`
	State        string     `json:"state"`
	Consented    bool       `json:"consented"`
	Mode         string     `json:"mode"`
	When         *time.Time `json:"when,omitempty"`
	Method       string     `json:"method,omitempty"`
	ChangedBy    string     `json:"changed_by,omitempty"`
	Erased       bool       `json:"erased,omitempty"`
}

var statusColumns = []string{"number", "organization", "sender", "state", "consented", "mode", "when", "method", "changed_by"}

func (r statusRow) csv() []string {
	number, consented, when := r.Number, "no", ""
	if r.Erased {
		number = "erased"
	}
	if r.Consented {
		consented = "yes"
	}
	if r.When != nil {
		when = r.When.UTC().Format(time.RFC3339Nano)
	}
	return []string{number, r.Organization, r.Sender, r.State, consented, r.Mode, when, r.Method, r.ChangedBy}
}

// stateEvents are the event types that set a scope's state.
var stateEvents = []store.EventType{store.EventConsentRequested, store.EventOptedIn, store.EventOptedOut,
	store.EventStateImported, store.EventReset, store.EventOptOutKept}

// stateEvent is the latest event that set rec's scope to its current
// state; false when none did (a scope with only texts recorded, such as a
// disclaimer, is unknown from its start).
func (a *API) stateEvent(ctx context.Context, rec store.Consent) (store.Event, bool, error) {
	if slices.Contains(stateEvents, rec.LastEvent) {
		ev, err := a.st.Event(ctx, rec.LastSeq)
		return ev, err == nil, err
	}
	var found store.Event
	ok := false
	err := a.st.Events(ctx, store.EventFilter{Number: rec.Scope.Number, Org: rec.Scope.Org, Types: stateEvents}, func(ev store.Event) error {
		if ev.Scope == rec.Scope && ev.NewState == rec.State {
			found, ok = ev, true
		}
		return nil
	})
	return found, ok, err
}

// statusRowOf is rec's row. An erased subject's suppression entry keeps
// its state and how it was opted out, and nothing else: not even when.
func (a *API) statusRowOf(ctx context.Context, rec store.Consent) (statusRow, error) {
	row := statusRow{Number: rec.Scope.Number, Organization: rec.Scope.Org, Sender: rec.Scope.Sender, State: rec.State.String(),
		Consented: rec.State == store.StateOptedIn, Mode: rec.Mode.String(), Erased: rec.Erased}
	if rec.Erased || rec.Scope.Number == "" {
		row.Number, row.Erased = "", true
		if rec.State == store.StateOptedOut {
			row.Method = rec.OptedOutMethod.String() // who may lift it depends on it
		}
		return row, nil
	}
	ev, ok, err := a.stateEvent(ctx, rec)
	if ok {
		row.When, row.Method, row.ChangedBy = &ev.OccurredAt, ev.Method.String(), ev.Actor
	}
	return row, err
}

func (a *API) consentStatusReport(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	org := q.str("organization")
	acct, err := c.listAccount(org)
	f := store.ConsentFilter{Org: acct, Cursor: q.str("cursor"), Limit: q.limit()}
	if err == nil {
		f.States, err = parseList(q.str("state"), "state", store.ParseState)
	}
	if err == nil {
		f.NumberPrefix, err = numberSearch(q.str("number"), c.countryOf(org))
	}
	if f.NumberPrefix != "" && store.ValidateNumber(f.NumberPrefix) == nil {
		// A whole number: the store reads its few records by the number,
		// where with an organization it would scan the organization's.
		f.Org = ""
	}
	asCSV, ferr := q.format()
	if err = firstErr(err, ferr, q.err); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	statusList.serve(a, w, r, c, acct, f, asCSV)
}

var statusList = recordList[statusRow]{"consent-status.csv", statusColumns, (*API).statusRowOf}
