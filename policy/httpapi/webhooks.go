package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/optguard/optguard/policy/webhooks"
	"github.com/optguard/optguard/store"
)

// The webhook endpoints and their delivery logs, for the auditor who must
// show that a CRM was told of an opt-out, and when. An endpoint is shown
// to a token limited to organizations only when the endpoint is limited
// to organizations the token sees: one that gets every account's events
// is the installation's, not a tenant's.

// webhookView is one endpoint: its configuration (no secret) and where
// it is.
type webhookView struct {
	Name          string     `json:"name"`
	URL           string     `json:"url"`
	Events        []string   `json:"events"`
	Organizations []string   `json:"organizations"`
	TimeoutMS     int64      `json:"timeout_ms"`
	Cursor        uint64     `json:"cursor"`
	Head          uint64     `json:"head"`
	Pending       int        `json:"pending"`
	PendingMore   bool       `json:"pending_more"`
	Delivered     uint64     `json:"delivered"`
	Attempts      uint64     `json:"attempts"`
	Failures      uint64     `json:"failures"`
	LastSuccess   *time.Time `json:"last_success,omitempty"`
	LastFailure   *time.Time `json:"last_failure,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	RetryAt       *time.Time `json:"retry_at,omitempty"`
}

// deliveryView is one attempt of the delivery log.
type deliveryView struct {
	N          uint64    `json:"n"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	Try        int       `json:"try"`
	Events     []string  `json:"events"`
	FirstSeq   uint64    `json:"first_seq"`
	LastSeq    uint64    `json:"last_seq"`
	Status     int       `json:"status"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
}

// seesWebhook reports whether the caller may see an endpoint limited to
// orgs (none: every account's events).
func (c *caller) seesWebhook(orgs []string) bool {
	if len(c.Organizations) == 0 {
		return true
	}
	return len(orgs) > 0 && !slices.ContainsFunc(orgs, func(o string) bool { return !c.seesAccount(o) })
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	items := []webhookView{}
	if a.hooks != nil {
		list, err := a.hooks.Status(r.Context())
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		for _, s := range list {
			if !c.seesWebhook(s.Organizations) {
				continue
			}
			items = append(items, webhookView{Name: s.Name, URL: s.URL, Events: s.Events, Organizations: nonNil(s.Organizations),
				TimeoutMS: s.Timeout.Milliseconds(), Cursor: s.Cursor, Head: s.Head, Pending: s.Pending, PendingMore: s.PendingMore,
				Delivered: s.Delivered, Attempts: s.Attempts, Failures: s.Failures, LastSuccess: timeOrNil(s.LastSuccess),
				LastFailure: timeOrNil(s.LastFailure), LastError: s.LastError, RetryAt: timeOrNil(s.RetryAt)})
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []webhookView `json:"items"`
	}{items})
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	name := r.PathValue("name")
	q := query{r: r}
	cursor, limit := q.str("cursor"), q.limit()
	if q.err != nil {
		writeError(w, r, a.log, q.err)
		return
	}
	var before uint64
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil || n < 2 {
			writeError(w, r, a.log, badRequest("cursor", "not one this API returned; start again without it"))
			return
		}
		before = n
	}
	if limit == 0 {
		limit = 100
	}
	unknown := notFound("no webhook endpoint is named " + strconv.Quote(name) + " (GET /api/v1/webhooks lists them)")
	if a.hooks == nil {
		writeError(w, r, a.log, unknown)
		return
	}
	ep, err := a.hooks.Endpoint(name)
	if err == nil && !c.seesWebhook(ep.Organizations) {
		err = webhooks.ErrUnknownEndpoint
	}
	var list []store.WebhookAttempt
	if err == nil {
		list, err = a.hooks.Deliveries(r.Context(), name, before, limit)
	}
	if errors.Is(err, webhooks.ErrUnknownEndpoint) {
		err = unknown
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	items := make([]deliveryView, 0, len(list))
	for _, at := range list {
		items = append(items, deliveryView{N: at.N, At: at.At, DurationMS: float64(at.Duration.Microseconds()) / 1000, Try: at.Try,
			Events: nonNil(at.Events), FirstSeq: at.FirstSeq, LastSeq: at.LastSeq, Status: at.Status, OK: at.OK, Error: at.Error})
	}
	next := ""
	if len(items) == limit && items[len(items)-1].N > 1 {
		next = strconv.FormatUint(items[len(items)-1].N, 10)
	}
	writeJSON(w, http.StatusOK, struct {
		Endpoint   string         `json:"endpoint"`
		Items      []deliveryView `json:"items"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{name, items, next})
}

// timeOrNil is &t, or nil for the zero time so that JSON leaves it out.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
