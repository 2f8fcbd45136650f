package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/policy/webhooks"
	"github.com/optguard/optguard/store"
)

type webhookList struct {
	Items []struct {
		Name, URL                     string
		LastError                     string `json:"last_error"`
		Events, Organizations         []string
		TimeoutMS                     int64 `json:"timeout_ms"`
		Cursor, Head                  uint64
		Pending                       int
		PendingMore                   bool `json:"pending_more"`
		Delivered, Attempts, Failures uint64
		LastSuccess                   *time.Time `json:"last_success"`
		LastFailure                   *time.Time `json:"last_failure"`
		RetryAt                       *time.Time `json:"retry_at"`
	}
}

type deliveryPage struct {
	Endpoint string
	Items    []struct {
		N           uint64
		FirstSeq    uint64 `json:"first_seq"`
		LastSeq     uint64 `json:"last_seq"`
		At          time.Time
		Try, Status int
		OK          bool
		Events      []string
		Error       string
	}
	NextCursor string `json:"next_cursor"`
}

// webhookEnv is an env whose API shows three endpoints: crm gets every
// account's events and takes them; acme-crm gets acme's and fails;
// globex-hook gets globex's.
func webhookEnv(t *testing.T) (*env, *webhooks.Dispatcher) {
	t.Helper()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	var d *webhooks.Dispatcher
	e := newEnv(t, func(o *httpapi.Options) {
		sel, err := webhooks.ParseEvents(nil)
		if err != nil {
			t.Fatal(err)
		}
		secret := []byte("0123456789abcdef")
		d, err = webhooks.New(context.Background(), webhooks.Options{Store: o.Store, Poll: 5 * time.Millisecond,
			RetryMin: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: zerolog.Nop(), Endpoints: []webhooks.Endpoint{
				{Name: "crm", URL: ok.URL + "/hook", Secret: secret, Events: sel},
				{Name: "acme-crm", URL: "http://user:pw@" + strings.TrimPrefix(failing.URL, "http://"), Secret: secret, Events: sel, Organizations: []string{"acme"}},
				{Name: "globex-hook", URL: ok.URL, Secret: secret, Events: sel, Organizations: []string{"globex"}},
			}})
		if err != nil {
			t.Fatal(err)
		}
		o.Webhooks = d
	})
	d.Start()
	t.Cleanup(func() { d.Close(context.Background()) })
	return e, d
}

func (e *env) webhooks(token string) webhookList {
	e.t.Helper()
	var l webhookList
	e.ok(token, "GET", "/api/v1/webhooks", nil).json(e.t, &l)
	return l
}

func TestWebhookEndpointsAndDeliveries(t *testing.T) {
	e, _ := webhookEnv(t)
	ev := e.apply(store.OrgScope("acme", "+15551230001"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := e.webhooks("auditor")
		if l.Items[0].Delivered == 1 && l.Items[1].Failures >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %+v", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l := e.webhooks("auditor")
	var names []string
	for _, it := range l.Items {
		names = append(names, it.Name)
	}
	if !slices.Equal(names, []string{"crm", "acme-crm", "globex-hook"}) {
		t.Fatalf("endpoints %v", names)
	}
	crm, acme, globex := l.Items[0], l.Items[1], l.Items[2]
	if crm.Cursor != ev.Event.Seq || crm.Head != ev.Event.Seq || crm.Pending != 0 || crm.LastSuccess == nil || crm.Failures != 0 ||
		!slices.Equal(crm.Events, []string{"consent_changes", "review"}) || len(crm.Organizations) != 0 || crm.TimeoutMS != 10000 {
		t.Errorf("crm: %+v", crm)
	}
	if acme.Cursor != 0 || acme.Pending != 1 || acme.Delivered != 0 || acme.RetryAt == nil || acme.LastFailure == nil ||
		acme.LastError != "HTTP 503: maintenance" || strings.Contains(acme.URL, "pw") || !strings.Contains(acme.URL, "user:xxxxx@") {
		t.Errorf("acme-crm: %+v", acme)
	}
	if globex.Pending != 0 || globex.Attempts != 0 {
		t.Errorf("globex-hook (acme's event is not for it): %+v", globex)
	}

	// Tokens limited to organizations see the endpoints limited to theirs.
	for tok, want := range map[string][]string{"acme-admin": {"acme-crm"}, "acme-sales-agent": {"acme-crm"}, "globex-auditor": {"globex-hook"}} {
		var got []string
		for _, it := range e.webhooks(tok).Items {
			got = append(got, it.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s sees %v, want %v", tok, got, want)
		}
	}

	var p deliveryPage
	e.ok("auditor", "GET", "/api/v1/webhooks/crm/deliveries", nil).json(t, &p)
	if p.Endpoint != "crm" || len(p.Items) != 1 || !p.Items[0].OK || p.Items[0].Status != 200 || p.Items[0].Try != 1 ||
		!slices.Equal(p.Items[0].Events, []string{webhooks.EventID(&ev.Event)}) || p.Items[0].FirstSeq != ev.Event.Seq || p.NextCursor != "" {
		t.Errorf("crm's deliveries: %+v", p)
	}
	e.ok("acme-admin", "GET", "/api/v1/webhooks/acme-crm/deliveries?limit=1", nil).json(t, &p)
	if len(p.Items) != 1 || p.Items[0].OK || p.Items[0].Status != 503 || p.NextCursor == "" {
		t.Fatalf("acme-crm's first page: %+v", p)
	}
	first := p.Items[0].N
	e.ok("acme-admin", "GET", "/api/v1/webhooks/acme-crm/deliveries?limit=1&cursor="+p.NextCursor, nil).json(t, &p)
	if len(p.Items) != 1 || p.Items[0].N != first-1 {
		t.Errorf("the next page: %+v; want attempt %d", p, first-1)
	}

	e.call("acme-admin", "GET", "/api/v1/webhooks/crm/deliveries", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("globex-auditor", "GET", "/api/v1/webhooks/acme-crm/deliveries", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("auditor", "GET", "/api/v1/webhooks/nope/deliveries", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("auditor", "GET", "/api/v1/webhooks/crm/deliveries?cursor=abc", nil).wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
	e.call("auditor", "GET", "/api/v1/webhooks/crm/deliveries?cursor=1", nil).wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
	e.call("auditor", "GET", "/api/v1/webhooks/crm/deliveries?limit=0", nil).wantError(t, http.StatusBadRequest, "invalid_field", "limit")
	e.call("auditor", "GET", "/api/v1/webhooks?limit=1", nil).wantError(t, http.StatusBadRequest, "unknown_parameter", "limit")
	e.call("auditor", "POST", "/api/v1/webhooks", "{}").wantError(t, http.StatusMethodNotAllowed, "method_not_allowed", "")
}

// An API without webhooks lists none.
func TestNoWebhooks(t *testing.T) {
	e := newEnv(t)
	if l := e.webhooks("auditor"); len(l.Items) != 0 {
		t.Errorf("endpoints %+v", l.Items)
	}
	e.call("auditor", "GET", "/api/v1/webhooks/crm/deliveries", nil).wantError(t, http.StatusNotFound, "not_found", "")
}
