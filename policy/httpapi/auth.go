package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optguard/optguard/policy"
)

// Role is what a token may do: each role allows what the ones before it
// do, auditor < agent < admin.
type Role string

// The roles.
const (
	RoleAuditor Role = "auditor" // reads: consent, reports, the ledger's proof
	RoleAgent   Role = "agent"   // and consent actions on handsets
	RoleAdmin   Role = "admin"   // and everything else: the do-not-contact list, imports, review decisions
)

var roleRank = map[Role]int{RoleAuditor: 1, RoleAgent: 2, RoleAdmin: 3}

func (r Role) valid() bool { return roleRank[r] > 0 }

// allows reports whether r may call what needs role need.
func (r Role) allows(need Role) bool { return r.valid() && roleRank[r] >= roleRank[need] }

// Token is one API token as the configuration lists it: its hash only.
type Token struct {
	Name string // the actor recorded for its writes
	Role Role
	// Organizations the token may see, main or sub-organizations; empty
	// for all. A main organization brings its sub-organizations with it.
	Organizations []string
	SHA256        [32]byte
}

// caller is the authenticated token of a request.
type caller struct {
	Token
	api *API
}

type callerKey struct{}

func callerOf(r *http.Request) *caller { return r.Context().Value(callerKey{}).(*caller) }

// authorize authenticates the request's bearer token, checks its role
// against the route's, and runs the route with the caller in the context.
func (a *API) authorize(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := remoteHost(r)
		if wait := a.guard.blocked(addr, a.now()); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			writeError(w, r, a.log, &Error{Status: http.StatusTooManyRequests, Code: "too_many_failures",
				Message: "too many requests with a wrong token from this address; wait and retry with a valid one"})
			return
		}
		tok, ok := a.authenticate(r.Header.Get("Authorization"))
		if !ok {
			a.guard.failed(addr, a.now())
			w.Header().Set("WWW-Authenticate", `Bearer realm="optguard"`)
			writeError(w, r, a.log, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: `send a valid API token as "Authorization: Bearer TOKEN" (optguard token create makes one)`})
			return
		}
		if !tok.Role.allows(rt.Role) {
			writeError(w, r, a.log, &Error{Status: http.StatusForbidden, Code: "forbidden",
				Message: "token " + tok.Name + " has role " + string(tok.Role) + "; " + rt.Method + " " + rt.Path + " needs " + string(rt.Role)})
			return
		}
		// A handler mounted with Require (no path of ours) reads its own query.
		if err := checkQuery(r, rt.Query); rt.Path != "" && err != nil {
			writeError(w, r, a.log, err)
			return
		}
		c := &caller{Token: tok, api: a}
		rt.Handler(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// Require serves h only to requests with a token of at least role, with
// the API's 401, 403 and 429 otherwise: for handlers on the admin listener
// that are not the API's own, such as the profiler.
func (a *API) Require(role Role, h http.Handler) http.Handler {
	return a.authorize(route{Role: role, Handler: h.ServeHTTP})
}

// authenticate finds the token whose hash is the bearer token's. Every
// token's hash is compared, in constant time, so that the time taken says
// nothing about which one nearly matched.
func (a *API) authenticate(header string) (Token, bool) {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	var found Token
	match := 0
	for _, t := range *a.tokens.Load() {
		if subtle.ConstantTimeCompare(sum[:], t.SHA256[:]) == 1 {
			found, match = t, 1
		}
	}
	return found, match == 1
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// failureGuard counts failed authentications per address: one that made
// limit failures within window is refused until window has passed since
// its last failure. It forgets addresses whose window passed, and keeps at
// most maxTracked of them so that a flood of addresses cannot grow it.
type failureGuard struct {
	limit  int
	window time.Duration
	mu     sync.Mutex
	by     map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

const maxTracked = 10000

func newFailureGuard(limit int, window time.Duration) *failureGuard {
	return &failureGuard{limit: limit, window: window, by: map[string]*failures{}}
}

// blocked returns how long addr must still wait, 0 if it may try.
func (g *failureGuard) blocked(addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.by[addr]
	if f == nil {
		return 0
	}
	left := f.last.Add(g.window).Sub(now)
	if left <= 0 {
		delete(g.by, addr)
		return 0
	}
	if f.n < g.limit {
		return 0
	}
	return left
}

func (g *failureGuard) failed(addr string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.by[addr]
	if f == nil || now.Sub(f.last) > g.window {
		if len(g.by) >= maxTracked {
			g.prune(now)
		}
		f = &failures{}
		g.by[addr] = f
	}
	f.n++
	f.last = now
}

// prune forgets addresses whose window passed; if none did, the oldest
// goes, so the map stays bounded.
func (g *failureGuard) prune(now time.Time) {
	var oldest string
	for addr, f := range g.by {
		if now.Sub(f.last) > g.window {
			delete(g.by, addr)
		} else if oldest == "" || f.last.Before(g.by[oldest].last) {
			oldest = addr
		}
	}
	if len(g.by) >= maxTracked {
		delete(g.by, oldest)
	}
}

// sees reports whether the caller may see organization org (a main or a
// sub-organization): a token limited to a main organization sees its
// sub-organizations too.
func (c *caller) sees(org string) bool {
	if len(c.Organizations) == 0 {
		return true
	}
	if slices.Contains(c.Organizations, org) {
		return true
	}
	o, err := c.api.pol.Organization(org)
	return err == nil && o.Main != org && slices.Contains(c.Organizations, o.Main)
}

// seesAccount reports whether the caller may see the consent records of
// account acct (a main organization: records are kept per account, so a
// token of one of its sub-organizations sees them too).
func (c *caller) seesAccount(acct string) bool {
	if c.sees(acct) {
		return true
	}
	for _, org := range c.Organizations {
		if o, err := c.api.pol.Organization(org); err == nil && o.Main == acct {
			return true
		}
	}
	return false
}

// defaultOrg is the organization a request that names none is about: the
// caller's own when it is limited to one, else "default".
func (c *caller) defaultOrg() string {
	if len(c.Organizations) == 1 {
		return c.Organizations[0]
	}
	return policy.DefaultOrganizationName
}
