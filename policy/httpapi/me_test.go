package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

// GET /api/v1/me names the calling token, its role and its organizations,
// so that a client (the console) can offer what the role allows; without a
// valid token it is the API's 401 like every other endpoint.
func TestMe(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token, role string
		orgs        []string
	}{
		{"admin", "admin", []string{}},
		{"agent", "agent", []string{}},
		{"auditor", "auditor", []string{}},
		{"acme-sales-agent", "agent", []string{"acme-sales"}},
		{"globex-auditor", "auditor", []string{"globex"}},
	} {
		var me struct {
			Name, Role    string
			Organizations []string
		}
		e.ok(tc.token, "GET", "/api/v1/me", nil).json(t, &me)
		if me.Name != tc.token || me.Role != tc.role || me.Organizations == nil || !slices.Equal(me.Organizations, tc.orgs) {
			t.Errorf("%s: %+v; want role %s organizations %q", tc.token, me, tc.role, tc.orgs)
		}
	}
	e.call("", "GET", "/api/v1/me", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	e.call("nobody", "GET", "/api/v1/me", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	e.call("admin", "GET", "/api/v1/me?org=acme", nil).wantError(t, http.StatusBadRequest, "unknown_parameter", "org")
}
