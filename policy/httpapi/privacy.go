package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// A person's rights over their number (the privacy issue): the subject
// access export, and erasure. Both are about the person, not about one
// organization: the number's subject is one across the organizations.
// An admin token limited to organizations exports only those
// organizations' part of it, and may not erase: erasure destroys the
// subject's key, and with it every organization's records of the number.

// exportSubject answers the subject access export of {number}: the
// document `optguard subject export` writes.
func (a *API) exportSubject(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	number, _, err := c.subjectNumber(r.PathValue("number"), q.str("organization"))
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	d, err := a.st.SubjectData(r.Context(), number)
	if err == nil && len(c.Organizations) > 0 {
		d = c.visibleSubject(d)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && d.Subject.IsZero() && len(d.Consents) == 0 {
		err = notFound("optguard holds nothing about " + store.MaskNumber(number) + " in the organizations this token sees (never seen, or erased without an opt-out to keep)")
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="subject-`+strings.TrimPrefix(number, "+")+`.json"`)
	w.WriteHeader(http.StatusOK)
	if err := d.WriteJSON(w); err != nil {
		a.log.Warn().Err(err).Msg("subject export cut short")
	}
}

// visibleSubject is d without what the caller may not see: the records of
// other accounts. The subject's id stays when any of its records does.
func (c *caller) visibleSubject(d store.SubjectData) store.SubjectData {
	out := store.SubjectData{Number: d.Number}
	for _, rec := range d.Consents {
		if c.seesAccount(rec.Scope.Org) {
			out.Consents = append(out.Consents, rec)
		}
	}
	for _, ev := range d.Events {
		if c.seesAccount(ev.Scope.Org) {
			out.Events = append(out.Events, ev)
		}
	}
	for _, m := range d.Held {
		if c.seesAccount(m.Scope.Org) {
			out.Held = append(out.Held, m)
		}
	}
	for _, m := range d.Messages {
		if c.seesAccount(m.Org) {
			out.Messages = append(out.Messages, m)
		}
	}
	if len(out.Consents)+len(out.Events)+len(out.Held)+len(out.Messages) > 0 {
		out.Subject, out.Created = d.Subject, d.Created
	}
	return out
}

type erasureBody struct {
	ConfirmNumber string `json:"confirm_number"`
}

// erasureView is what an erasure did (store.ErasureReport).
type erasureView struct {
	Number     string   `json:"number"`
	Subject    string   `json:"subject"`
	Scopes     int      `json:"scopes"`
	Suppressed int      `json:"suppressed"`
	Held       int      `json:"held_deleted"`
	Events     []uint64 `json:"events"`
	Messages   int      `json:"messages_unlinked"`
}

// eraseSubject erases {number} once the body repeats it; the erased
// events name the token as actor, method api.
func (a *API) eraseSubject(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if len(c.Organizations) > 0 {
		writeError(w, r, a.log, &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: "token " + c.Name + " is limited to organizations " + strings.Join(c.Organizations, ", ") +
				"; erasing a number destroys its records in every organization, so only an admin token without organizations may"})
		return
	}
	q := query{r: r}
	number, country, err := c.subjectNumber(r.PathValue("number"), q.str("organization"))
	if err == nil {
		err = q.err
	}
	var b erasureBody
	if err == nil {
		err = a.decodeJSON(w, r, &b)
	}
	if err == nil {
		err = confirmErasure(number, b.ConfirmNumber, country)
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	rep, err := a.pol.EraseNumber(r.Context(), number, store.MethodAPI, c.Name)
	if errors.Is(err, store.ErrNotFound) {
		err = notFound("optguard holds no subject of " + store.MaskNumber(number) + " to erase: it was never seen, or it was erased already")
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, erasureView{Number: number, Subject: rep.Subject.String(), Scopes: rep.Scopes,
		Suppressed: rep.Suppressed, Held: rep.Held, Events: append([]uint64{}, rep.Events...), Messages: rep.Messages})
}

// confirmErasure checks that confirm, read as the path's number was, is
// that number: an erasure cannot be undone.
func confirmErasure(number, confirm, country string) error {
	if strings.TrimSpace(confirm) == "" {
		return badRequest("confirm_number", "is required: write the number again to confirm the erasure, which cannot be undone")
	}
	again, err := e164(confirm, country)
	if err != nil || again != number {
		return badRequest("confirm_number", "is not the number being erased ("+store.MaskNumber(number)+"); write it again to confirm the erasure")
	}
	return nil
}

// subjectNumber reads the {number} of a subject endpoint in the default
// country of the named organization (the caller's default when none is
// named), without its allowed countries: a person may ask about a number
// of any country optguard holds records of.
func (c *caller) subjectNumber(raw, orgName string) (number, country string, err error) {
	if country, err = c.country(orgName); err != nil {
		return "", "", err
	}
	number, err = e164(raw, country)
	return number, country, err
}

// country is the default country numbers are read in for a request that
// names organization name ("" for the caller's default organization).
func (c *caller) country(name string) (string, error) {
	if name == "" {
		// Without a default organization, numbers are read as E.164 only.
		if o, err := c.api.pol.Organization(c.defaultOrg()); err == nil {
			return o.DefaultCountry, nil
		}
		return "", nil
	}
	o, err := c.org(name)
	return o.DefaultCountry, err
}

// e164 is raw, written by a person, as E.164 read in country.
func e164(raw, country string) (string, error) {
	n, err := store.NormalizeNumber(strings.TrimSpace(raw), country)
	if err != nil {
		return "", fmt.Errorf("%w: %v", policy.ErrInvalidNumber, err)
	}
	return n, nil
}
