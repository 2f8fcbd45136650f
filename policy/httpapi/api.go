package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/webhooks"
	"github.com/optguard/optguard/store"
	"github.com/rs/zerolog"
)

// Options configure the API.
type Options struct {
	Store  store.Store
	Policy *policy.Engine
	// Webhooks are the endpoints GET /api/v1/webhooks shows; nil for none.
	Webhooks *webhooks.Dispatcher
	Tokens   []Token
	Logger   zerolog.Logger
	Clock    func() time.Time // default time.Now
	// MaxBody bounds a JSON request body (default 1 MiB); MaxUpload a CSV
	// upload (default 256 MiB). Larger ones get 413.
	MaxBody   int64
	MaxUpload int64
	// AuthFailures is how many failed authentications one address may
	// make within a minute before its requests get 429 (default 10).
	AuthFailures int
	// OptOutTZ is the time zone whose calendar days the daily opt-out
	// file covers (exports.opt_outs.time_zone; default UTC).
	OptOutTZ *time.Location
	// Live reads the proxy's binds and counters for GET /api/v1/live
	// (live.go); nil when there is no proxy, and the endpoint answers 404.
	// It is called once per request and must not block.
	Live func() LiveSnapshot
}

// API is the operator API's handler.
type API struct {
	st     store.Store
	pol    *policy.Engine
	hooks  *webhooks.Dispatcher
	log    zerolog.Logger
	now    func() time.Time
	tokens atomic.Pointer[[]Token]
	guard  *failureGuard
	mux    *http.ServeMux
	max    struct{ body, upload int64 }
	zone   *time.Location // the opt-out file's days
	live   func() LiveSnapshot

	verifying atomic.Bool // one ledger verification at a time

	jobs   jobs               // consent imports
	ctx    context.Context    // ends at Close: what the jobs run under
	cancel context.CancelFunc //
}

// New makes the API.
func New(o Options) (*API, error) {
	if o.Store == nil || o.Policy == nil {
		return nil, errors.New("httpapi: Options.Store and Options.Policy are required")
	}
	a := &API{st: o.Store, pol: o.Policy, hooks: o.Webhooks, log: o.Logger, now: o.Clock, live: o.Live}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if a.now == nil {
		a.now = time.Now
	}
	if a.zone = o.OptOutTZ; a.zone == nil {
		a.zone = time.UTC
	}
	a.max.body, a.max.upload = o.MaxBody, o.MaxUpload
	if a.max.body <= 0 {
		a.max.body = 1 << 20
	}
	if a.max.upload <= 0 {
		a.max.upload = 256 << 20
	}
	if o.AuthFailures <= 0 {
		o.AuthFailures = 10
	}
	a.guard = newFailureGuard(o.AuthFailures, time.Minute)
	if err := a.SetTokens(o.Tokens); err != nil {
		return nil, err
	}
	a.interruptImports()
	a.mux = http.NewServeMux()
	allowed := map[string][]string{} // path → its methods, in table order
	var paths []string
	for _, rt := range a.routes() {
		a.mux.Handle(rt.Method+" "+rt.Path, a.authorize(rt))
		if allowed[rt.Path] == nil {
			paths = append(paths, rt.Path)
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	// A known path with another method is a JSON 405 naming the methods
	// it takes; the method patterns above are more specific, so they win.
	for _, p := range paths {
		a.mux.HandleFunc(p, methodNotAllowed(a.log, allowed[p]))
	}
	// Anything else under /api/ is a JSON 404 (or 405), not the mux's text.
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path + " (see /openapi.json)"})
	})
	return a, nil
}

func methodNotAllowed(log zerolog.Logger, methods []string) http.HandlerFunc {
	if slices.Contains(methods, http.MethodGet) {
		methods = append(methods, http.MethodHead)
	}
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, r, log, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: r.Method + " " + r.URL.Path + " is not served; use " + allow + " (see /openapi.json)"})
	}
}

// ServeHTTP serves /api/v1/… and /openapi.json: mount it on both.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	a.mux.ServeHTTP(w, r)
}

// SetTokens replaces the tokens (a configuration reload): requests already
// authenticated finish with the token they had.
func (a *API) SetTokens(tokens []Token) error {
	seen := map[[32]byte]string{}
	for _, t := range tokens {
		if !t.Role.valid() {
			return errors.New("httpapi: token " + t.Name + ": role must be auditor, agent or admin, not " + string(t.Role))
		}
		if t.Name == "" {
			return errors.New("httpapi: a token has no name")
		}
		if other, dup := seen[t.SHA256]; dup {
			return errors.New("httpapi: tokens " + other + " and " + t.Name + " have the same hash")
		}
		seen[t.SHA256] = t.Name
	}
	cp := append([]Token(nil), tokens...)
	a.tokens.Store(&cp)
	return nil
}
