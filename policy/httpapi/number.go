package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// org is the organization a request names (the caller's default when it
// names none), if the caller may see it. One the caller may not see is
// answered as one that does not exist: 404, saying nothing of it.
func (c *caller) org(name string) (policy.Organization, error) {
	if name == "" {
		name = c.defaultOrg()
	}
	if !c.sees(name) {
		return policy.Organization{}, fmt.Errorf("%w: %q", policy.ErrUnknownOrganization, name)
	}
	return c.api.pol.Organization(name)
}

// lookupNumber reads the {number} of a read endpoint: with an
// organization, in that organization's reading and allowed countries
// (422 outside them) and limited to its account; without one, in the
// caller's default organization's reading, across every account the
// caller sees (acct is then "").
func (c *caller) lookupNumber(r *http.Request, orgName string) (number, acct string, err error) {
	raw := strings.TrimSpace(r.PathValue("number"))
	if orgName != "" {
		o, err := c.org(orgName)
		if err != nil {
			return "", "", err
		}
		n, err := c.api.pol.NormalizeNumber(o.Name, raw)
		return n, o.Main, err
	}
	country, _ := c.country("")
	n, err := e164(raw, country)
	return n, "", err
}

// visible reports whether the caller may see a record of account acct,
// within the account the request is limited to ("" for any).
func (c *caller) visible(recordAcct, limit string) bool {
	return (limit == "" || recordAcct == limit) && c.seesAccount(recordAcct)
}

// noRecord is the 404 of a number the caller sees nothing of.
func noRecord(number string) error {
	return notFound("optguard has no consent record of " + store.MaskNumber(number) + " in the organizations this token sees: its state is unknown")
}
