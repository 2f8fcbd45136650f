package httpapi

import "net/http"

// me answers who the caller is: the token's name (the actor its writes
// record), its role and the organizations it is limited to. The console
// signs in with it and shows only what the role allows.
func (a *API) me(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	writeJSON(w, http.StatusOK, struct {
		Name          string   `json:"name"`
		Role          Role     `json:"role"`
		Organizations []string `json:"organizations"` // empty: every one
	}{c.Name, c.Role, nonNil(c.Organizations)})
}
