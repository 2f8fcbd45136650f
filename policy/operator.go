package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/optguard/optguard/store"
)

// What the operator API and the console ask of the organizations: which
// exist, and the consent scope a number written by a person belongs to.
// The rules (dial plan, allowed countries, scoping) are the ones the MT
// path uses, so that a number typed into the API is the number the PDUs
// of that handset are judged by.

// Errors of Scope and Organization, for the operator API to answer with
// 404, 400 and 422.
var (
	ErrUnknownOrganization = errors.New("policy: no such organization")
	ErrInvalidNumber       = errors.New("policy: not a phone number")
	ErrSenderRequired      = errors.New("policy: the organization keeps consent per sender number, so a sender is required")
	ErrInvalidSender       = errors.New("policy: the sender must be a phone number or an alphanumeric name of at most 11 characters")
)

// CountryError refuses a number of a country the organization's account
// may not message (seed 002: US and Canadian numbers only).
type CountryError struct {
	Org     string   // the account
	Number  string   // E.164
	Region  string   // the number's country, "" if unknown
	Allowed []string // countries.allowed
}

func (e *CountryError) Error() string {
	region := e.Region
	if region == "" {
		region = "an unknown country"
	}
	return fmt.Sprintf("policy: %s is a number of %s; organization %s may message numbers of %s only (countries.allowed)",
		store.MaskNumber(e.Number), region, e.Org, strings.Join(e.Allowed, ", "))
}

// Organizations returns every organization as the running configuration
// has it (defaults and inheritance applied), main organizations first, each
// followed by its sub-organizations. The slices and maps are copies.
func (e *Engine) Organizations() []Organization {
	t := e.tab.Load()
	var out []Organization
	for _, a := range t.accounts {
		out = append(out, copySpec(a.main.spec))
		var subs []Organization
		for _, o := range t.orgs {
			if o.acct == a && o != a.main {
				subs = append(subs, copySpec(o.spec))
			}
		}
		slices.SortFunc(subs, func(x, y Organization) int { return strings.Compare(x.Name, y.Name) })
		out = append(out, subs...)
	}
	return out
}

// Organization returns one organization by name.
func (e *Engine) Organization(name string) (Organization, error) {
	o := e.tab.Load().orgs[name]
	if o == nil {
		return Organization{}, fmt.Errorf("%w: %q", ErrUnknownOrganization, name)
	}
	return copySpec(o.spec), nil
}

func copySpec(s Organization) Organization {
	s.SystemIDs = slices.Clone(s.SystemIDs)
	s.SenderPrefixes = slices.Clone(s.SenderPrefixes)
	s.AllowedCountries = slices.Clone(s.AllowedCountries)
	names := make(map[string]string, len(s.SenderNames))
	for k, v := range s.SenderNames {
		names[k] = v
	}
	s.SenderNames = names
	templates := make(map[string]string, len(s.Templates))
	for k, v := range s.Templates {
		templates[k] = v
	}
	s.Templates = templates
	kw := make(map[string]KeywordList, len(s.Keywords))
	for k, v := range s.Keywords {
		kw[k] = v
	}
	s.Keywords = kw
	return s
}

// Scope is the consent scope of number (in any common form: "+1 (555)
// 123-4567", "5551234567" read in the account's default country) for
// organization org (a main or sub-organization), with sender for accounts
// that keep consent per sender number (ignored by the others). It applies
// the account's allowed countries: a *CountryError for a number it may not
// message.
func (e *Engine) Scope(org, sender, number string) (store.Scope, error) {
	o := e.tab.Load().orgs[org]
	if o == nil {
		return store.Scope{}, fmt.Errorf("%w: %q", ErrUnknownOrganization, org)
	}
	e164, err := o.acct.number(number)
	if err != nil {
		return store.Scope{}, err
	}
	s := store.Scope{Org: o.acct.name, Number: e164}
	if o.acct.main.spec.Scope == ScopeSender {
		if strings.TrimSpace(sender) == "" {
			return store.Scope{}, ErrSenderRequired
		}
		if s.Sender, err = o.acct.sender(sender); err != nil {
			return store.Scope{}, err
		}
	}
	return s, nil
}

// NormalizeNumber is the E.164 form of number as organization org reads
// it, with its allowed countries applied (see Scope).
func (e *Engine) NormalizeNumber(org, number string) (string, error) {
	o := e.tab.Load().orgs[org]
	if o == nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownOrganization, org)
	}
	return o.acct.number(number)
}

// number is a handset number written by a person, as E.164, checked against
// the account's countries.
func (a *account) number(raw string) (string, error) {
	e164, err := store.NormalizeNumber(raw, a.main.spec.DefaultCountry)
	if err != nil {
		// The store's sentinel says the same as ours: keep only its detail.
		return "", fmt.Errorf("%w: %s", ErrInvalidNumber, strings.TrimPrefix(err.Error(), store.ErrInvalidNumber.Error()+": "))
	}
	if !a.allows([]byte(e164[1:])) {
		return "", &CountryError{Org: a.name, Number: e164, Region: a.regions.of([]byte(e164[1:])), Allowed: slices.Clone(a.main.spec.AllowedCountries)}
	}
	return e164, nil
}

// sender is a sender as the scope of an MT from it records it: the E.164
// digits of a phone number (no '+'), or an alphanumeric name as written.
func (a *account) sender(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if e164, err := store.NormalizeNumber(raw, a.main.spec.DefaultCountry); err == nil {
		return e164[1:], nil
	}
	if len(raw) > 11 || strings.ContainsFunc(raw, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '-' || r == '.')
	}) {
		return "", fmt.Errorf("%w: %q", ErrInvalidSender, raw)
	}
	return raw, nil
}

// Sender is the ESME side of an account's conversation as its templates
// named it: the organization the sender number belongs to, that
// organization's {organization}, and the {sender_name} it gives the number.
type Sender struct {
	Org         string
	DisplayName string
	Name        string // "" when the sender is not known
}

// SenderOf is the Sender of sender (as a scope records it: E.164 digits
// without '+', or an alphanumeric address; "" for an organization scope,
// which keeps none) in account acct, for reports of the ledger. The
// organization is the one an MT from that sender on the account's binds
// goes to (the longest sender prefix it starts with, else the bind's own
// organization, else the main one), so the name is the one the handset
// was sent. ok is false for an account the configuration no longer has.
// The name is the templates' {sender_name}: the sender directory's entry
// first, as for the texts themselves.
func (e *Engine) SenderOf(acct, sender string) (s Sender, ok bool) {
	t := e.tab.Load()
	s, ok = t.senderOf(acct, sender)
	if ok {
		if name, found := e.directoryName(t.orgs[s.Org], sender); found {
			s.Name = name
		}
	}
	return s, ok
}

func (t *table) senderOf(acct, sender string) (Sender, bool) {
	main := t.orgs[acct]
	if main == nil || main.acct.main != main {
		return Sender{}, false
	}
	o := main
	if sender != "" {
		o = t.senderOrg(main.acct, []byte(strings.TrimPrefix(sender, "+")))
	}
	s := Sender{Org: o.spec.Name, DisplayName: o.spec.DisplayName}
	if sender != "" {
		s.Name = o.senderName(sender)
	}
	return s, true
}

// senderOrg is the organization of account a that MTs from sender go to:
// the one whose sender prefix it starts with on any of the account's
// binds, else the first bind's fallback, else the main organization.
func (t *table) senderOrg(a *account, sender []byte) *org {
	var first *org
	for _, id := range a.systemIDs {
		c := t.bySystemID[id]
		if c == nil || c.acct != a {
			continue
		}
		o := c.orgFor(sender)
		if o != c.fallback {
			return o
		}
		if first == nil {
			first = o
		}
	}
	if first == nil {
		return a.main
	}
	return first
}

// BindOrganizations are the organizations whose traffic a bind of systemID
// carries, for showing binds to the tokens of those organizations: first
// the one its MTs go to when no sender prefix picks another (a system_id
// nobody claims is the default organization's), then the ones sender
// prefixes pick, by name. The system_id of an account's service bind
// that no organization claims is its main organization's.
func (e *Engine) BindOrganizations(systemID string) []string {
	t := e.tab.Load()
	c, claimed := t.bySystemID[systemID]
	if !claimed {
		for _, a := range t.accounts {
			if systemID != "" && a.main.spec.ServiceBindSystemID == systemID {
				return []string{a.name}
			}
		}
		c = t.def
	}
	out := []string{c.fallback.spec.Name}
	var more []string
	for _, p := range c.prefixes {
		if n := p.org.spec.Name; !slices.Contains(out, n) && !slices.Contains(more, n) {
			more = append(more, n)
		}
	}
	slices.Sort(more)
	return append(out, more...)
}
