package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
)

// The sender directory (issue item 7): the {sender_name} each organization
// uses for its senders, set by admins on top of the configuration's
// sender_names; the policy holds the rules (senders.go there).

// senderView is one sender's name in one organization.
type senderView struct {
	Organization  string     `json:"organization"`
	Sender        string     `json:"sender"`
	Name          string     `json:"name"`
	Source        string     `json:"source"`
	InheritedFrom string     `json:"inherited_from,omitempty"`
	ChangedBy     string     `json:"changed_by,omitempty"`
	ChangedAt     *time.Time `json:"changed_at,omitempty"`
	ConfigName    string     `json:"config_name,omitempty"`
}

func viewSender(n policy.SenderName) senderView {
	v := senderView{Organization: n.Org, Sender: n.Sender, Name: n.Name, Source: n.Source, InheritedFrom: n.InheritedFrom,
		ChangedBy: n.ChangedBy, ConfigName: n.ConfigName}
	if !n.ChangedAt.IsZero() {
		v.ChangedAt = &n.ChangedAt
	}
	return v
}

// listSenders lists the names of the named organization, or of every
// organization the caller sees.
func (a *API) listSenders(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	name := q.str("organization")
	if err := q.err; err != nil {
		writeError(w, r, a.log, err)
		return
	}
	var orgs []string
	if name != "" {
		o, err := c.org(name)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		orgs = []string{o.Name}
	} else {
		for _, o := range a.pol.Organizations() {
			if c.sees(o.Name) {
				orgs = append(orgs, o.Name)
			}
		}
	}
	items := []senderView{}
	for _, org := range orgs {
		names, err := a.pol.SenderNames(org)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		for _, n := range names {
			items = append(items, viewSender(n))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []senderView `json:"items"`
	}{items})
}

type senderBody struct {
	Organization string `json:"organization"`
	Name         string `json:"name"`
}

// putSender sets {sender}'s name in the body's organization.
func (a *API) putSender(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	var b senderBody
	if err := a.decodeJSON(w, r, &b); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	o, err := c.org(b.Organization)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	n, err := a.pol.SetSenderName(r.Context(), o.Name, r.PathValue("sender"), b.Name, c.Name)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewSender(n))
}

// deleteSender deletes the organization's entry for {sender} and answers
// the name it uses now.
func (a *API) deleteSender(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	o, err := c.org(q.str("organization"))
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	sender := r.PathValue("sender")
	n, err := a.pol.DeleteSenderName(r.Context(), o.Name, sender, c.Name)
	if errors.Is(err, policy.ErrNoSenderEntry) {
		err = notFound("organization " + o.Name + "'s sender directory has no entry for " + strings.TrimSpace(sender) +
			" (a configured name is changed in the configuration, or hidden with PUT)")
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, viewSender(n))
}
