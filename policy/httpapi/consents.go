package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// organizationView is an organization as the running configuration has it.
type organizationView struct {
	Name             string            `json:"name"`
	Main             string            `json:"main"`
	DisplayName      string            `json:"display_name,omitempty"`
	Mode             string            `json:"mode"`
	Scope            string            `json:"scope"`
	RevokeAll        bool              `json:"revoke_all"`
	AllowedCountries []string          `json:"allowed_countries"`
	DefaultCountry   string            `json:"default_country,omitempty"`
	DefaultSender    string            `json:"default_sender_name,omitempty"`
	SenderNames      map[string]string `json:"sender_names"`
}

func (a *API) listOrganizations(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	items := []organizationView{}
	for _, o := range a.pol.Organizations() {
		if !c.sees(o.Name) {
			continue
		}
		items = append(items, organizationView{Name: o.Name, Main: o.Main, DisplayName: o.DisplayName, Mode: o.Mode.String(),
			Scope: o.Scope.String(), RevokeAll: o.RevokeAll, AllowedCountries: nonNil(o.AllowedCountries),
			DefaultCountry: o.DefaultCountry, DefaultSender: o.DefaultSenderName, SenderNames: o.SenderNames})
	}
	writeJSON(w, http.StatusOK, struct {
		Items []organizationView `json:"items"`
	}{items})
}

// scopeView is one scope's consent with the event that last changed it.
type scopeView struct {
	store.ConsentView
	LatestEvent *store.EventView `json:"latest_event,omitempty"`
}

func (a *API) getNumber(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	number, acct, err := c.lookupNumber(r, q.str("organization"))
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	scopes, err := a.scopesOf(r, c, number, acct)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if len(scopes) == 0 {
		writeError(w, r, a.log, noRecord(number))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Number string      `json:"number"`
		Scopes []scopeView `json:"scopes"`
	}{number, scopes})
}

// scopesOf reads every consent record of number the caller sees (within
// account acct, unless ""), each with its latest event.
func (a *API) scopesOf(r *http.Request, c *caller, number, acct string) ([]scopeView, error) {
	out := []scopeView{}
	err := a.eachConsent(r.Context(), c, number, acct, func(rec store.Consent) error {
		v := scopeView{ConsentView: store.ViewConsent(rec)}
		v.Number = rec.Scope.Number
		if rec.LastSeq != 0 && !rec.Erased {
			ev, err := a.st.Event(r.Context(), rec.LastSeq)
			if err != nil {
				return err
			}
			ev2 := store.ViewEvent(ev)
			v.LatestEvent = &ev2
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// eachConsent calls fn with every consent record of number the caller
// sees (within account acct, unless ""), suppression entries included.
func (a *API) eachConsent(ctx context.Context, c *caller, number, acct string, fn func(store.Consent) error) error {
	for f := (store.ConsentFilter{Org: acct, NumberPrefix: number, Limit: 1000}); ; {
		page, err := a.st.ListConsents(ctx, f)
		if err != nil {
			return err
		}
		for _, rec := range page.Items {
			if !c.visible(rec.Scope.Org, acct) {
				continue
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			return nil
		}
	}
}

// erasedScopes is the audit row of each of number's suppression entries
// the caller sees: scopes of an erased subject that stay opted out, whose
// history went with the subject (the ledger's events of it can no longer
// be tied to the number).
func (a *API) erasedScopes(ctx context.Context, c *caller, number, acct string) ([]auditRow, error) {
	var rows []auditRow
	err := a.eachConsent(ctx, c, number, acct, func(rec store.Consent) error {
		if rec.Erased {
			rows = append(rows, auditRow{Organization: rec.Scope.Org, Sender: rec.Scope.Sender, Event: store.EventErased.String(),
				Field: "consent_state", NewValue: rec.State.String(), ChangedBy: "erased", Channel: rec.OptedOutMethod.String(),
				Note: "the number was erased: its history is gone, and its opt-out is kept as a suppression entry", Erased: true})
		}
		return nil
	})
	return rows, err
}

func (a *API) listConsents(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	f := store.ConsentFilter{Sender: q.str("sender"), NumberPrefix: q.str("number_prefix"),
		UpdatedFrom: q.time("updated_from"), UpdatedTo: q.time("updated_to"), Cursor: q.str("cursor"), Limit: q.limit()}
	ctype := policy.ConsentType(q.str("consent_type"))
	acct, err := c.listAccount(q.str("organization"))
	f.Org = acct
	if err == nil {
		f.States, err = parseList(q.str("state"), "state", store.ParseState)
	}
	if err == nil && ctype != "" {
		// A consent type is that of an opt-in: only opted-in records have one.
		if !slices.Contains(policy.ConsentTypes, ctype) {
			err = badRequest("consent_type", "must be one of email, phone, paper, web, sms_response, got "+string(ctype))
		} else if len(f.States) == 0 {
			f.States = []store.State{store.StateOptedIn}
		}
	}
	if err == nil {
		f.Modes, err = parseList(q.str("mode"), "mode", store.ParseMode)
	}
	if err == nil && f.NumberPrefix != "" && strings.Trim(f.NumberPrefix, "+0123456789") != "" {
		err = badRequest("number_prefix", "must be digits, optionally after a '+', got "+f.NumberPrefix)
	}
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	page, err := a.st.ListConsents(r.Context(), f)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	items := []consentItem{}
	for _, rec := range page.Items {
		if !c.visible(rec.Scope.Org, acct) {
			continue
		}
		v := consentItem{ConsentView: store.ViewConsent(rec)}
		v.Number = rec.Scope.Number
		if rec.State == store.StateOptedIn && !rec.Erased {
			// How the opt-in was given is on the event that opted it in.
			ev, ok, err := a.stateEvent(r.Context(), rec)
			if err != nil {
				writeError(w, r, a.log, err)
				return
			}
			if ok {
				v.ConsentType = string(policy.ConsentTypeOfEvent(ev))
			}
		}
		// The filter applies after the page is read, so a page may hold
		// fewer than limit items and still have a next one.
		if ctype != "" && v.ConsentType != string(ctype) {
			continue
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, struct {
		Items      []consentItem `json:"items"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{items, page.NextCursor})
}

// consentItem is a consent record in a list, with how its opt-in was
// given (seed 002's Consent Type) when it is opted in.
type consentItem struct {
	store.ConsentView
	ConsentType string `json:"consent_type,omitempty"`
}

// listAccount is the account a list is limited to: the named
// organization's, or none ("") for a caller that sees every one. A token
// of several organizations must name one.
func (c *caller) listAccount(name string) (string, error) {
	if name != "" {
		o, err := c.org(name)
		return o.Main, err
	}
	if len(c.Organizations) == 0 {
		return "", nil
	}
	var accts []string
	for _, org := range c.Organizations {
		if o, err := c.api.pol.Organization(org); err == nil && !slices.Contains(accts, o.Main) {
			accts = append(accts, o.Main)
		}
	}
	if len(accts) == 1 {
		return accts[0], nil
	}
	return "", badRequest("organization", "is required for a token of several organizations ("+strings.Join(c.Organizations, ", ")+")")
}

// parseList reads a comma-separated list of enum names.
func parseList[T any](s, field string, parse func(string) (T, error)) ([]T, error) {
	if s == "" {
		return nil, nil
	}
	var out []T
	for _, name := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(name))
		if err != nil {
			return nil, badRequest(field, words(err))
		}
		out = append(out, v)
	}
	return out, nil
}

func (a *API) getMessages(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	number, acct, err := c.lookupNumber(r, q.str("organization"))
	f := store.MessageFilter{Number: number, From: q.time("from"), To: q.time("to"), Cursor: q.str("cursor"), Limit: q.limit()}
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	page, err := a.st.Messages(r.Context(), f)
	var erased []auditRow
	if err == nil {
		erased, err = a.erasedScopes(r.Context(), c, number, acct)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	items := []store.MessageView{}
	for _, m := range page.Items {
		if c.visible(m.Org, acct) {
			items = append(items, store.ViewMessage(m))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Number     string              `json:"number"`
		Erased     bool                `json:"erased,omitempty"` // the log before the number's erasure is gone
		Items      []store.MessageView `json:"items"`
		NextCursor string              `json:"next_cursor,omitempty"`
	}{number, len(erased) > 0, items, page.NextCursor})
}

// auditRow is one ledger event as seed 002's audit table shows it: the
// field that changed, from what to what, by whom, when and through which
// channel, with the handset's own words and the text optguard sent.
// Sender is the line the event was with: the scope's sender, else its
// conversation's (store.Event.Via).
type auditRow struct {
	Seq             uint64     `json:"seq,omitempty"`  // absent on an erased scope's row
	When            *time.Time `json:"when,omitempty"` // likewise
	Organization    string     `json:"organization"`
	Sender          string     `json:"sender,omitempty"`
	Event           string     `json:"event"`
	Field           string     `json:"field"`
	OldValue        string     `json:"old_value"`
	NewValue        string     `json:"new_value"`
	ChangedBy       string     `json:"changed_by"`
	Channel         string     `json:"channel"`
	MOText          string     `json:"mo_text,omitempty"`
	Template        string     `json:"template,omitempty"`
	TemplateVersion uint32     `json:"template_version,omitempty"`
	MessageID       string     `json:"message_id,omitempty"`
	Note            string     `json:"note,omitempty"`
	Erased          bool       `json:"erased,omitempty"`
}

var auditColumns = []string{"seq", "when", "organization", "sender", "event", "field", "old_value", "new_value",
	"changed_by", "channel", "mo_text", "template", "template_version", "message_id", "note"}

func newAuditRow(ev store.Event) auditRow {
	row := auditRow{Seq: ev.Seq, When: &ev.OccurredAt, Organization: ev.Scope.Org, Sender: senderOfEvent(&ev), Event: ev.Type.String(),
		Field: "consent_state", OldValue: ev.PrevState.String(), NewValue: ev.NewState.String(), ChangedBy: ev.Actor,
		Channel: ev.Method.String(), Template: ev.Template, TemplateVersion: ev.TemplateVersion, MessageID: ev.MessageID,
		Note: ev.Note, Erased: ev.Erased}
	if ev.MO != nil {
		row.MOText = ev.MO.Text
	}
	return row
}

func (r auditRow) csv() []string {
	version, seq, when := "", "", ""
	if r.TemplateVersion != 0 {
		version = uintText(uint64(r.TemplateVersion))
	}
	if r.Seq != 0 {
		seq = uintText(r.Seq)
	}
	if r.When != nil {
		when = r.When.UTC().Format(time.RFC3339Nano)
	}
	return []string{seq, when, r.Organization, r.Sender, r.Event, r.Field,
		r.OldValue, r.NewValue, r.ChangedBy, r.Channel, r.MOText, r.Template, version, r.MessageID, r.Note}
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	number, acct, err := c.lookupNumber(r, q.str("organization"))
	asCSV, ferr := q.format()
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
	// An erased subject's suppression entries come first: they are older
	// than any event of a subject the number has had since.
	rows, err := a.erasedScopes(r.Context(), c, number, acct)
	if err == nil {
		err = a.st.Events(r.Context(), store.EventFilter{Number: number}, func(ev store.Event) error {
			if c.visible(ev.Scope.Org, acct) {
				rows = append(rows, newAuditRow(ev))
			}
			return nil
		})
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if len(rows) == 0 {
		writeError(w, r, a.log, noRecord(number))
		return
	}
	if asCSV {
		cw := startCSV(w, "audit-"+strings.TrimPrefix(number, "+")+".csv", auditColumns)
		for _, row := range rows {
			cw.row(row.csv())
		}
		cw.end()
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Number string     `json:"number"`
		Items  []auditRow `json:"items"`
	}{number, rows})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
