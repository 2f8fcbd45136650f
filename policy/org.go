package policy

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The organizations are compiled into a table that the hot path reads
// through an atomic pointer, so that a reload (SIGHUP) swaps it whole
// without stopping a bind: a PDU is decided by the old table or the new
// one, never by half of each.

// org is one organization, compiled.
type org struct {
	spec      Organization
	acct      *account
	templates templateSet
	matcher   *keywords.Matcher
	lists     []keywords.List // what matcher was compiled from: the defaults merged with the organization's own
	// firstOptIn/firstOptOut are {opt_in_keyword}/{opt_out_keyword} per
	// language; "" → the English one.
	firstOptIn, firstOptOut map[string]string
}

// account is a main organization with its sub-organizations: what consent
// is kept per (the scope's Org is the main organization's name), and the
// account-wide settings.
type account struct {
	name string
	key  uint64 // nameKey(name), for in-memory scope keys
	main *org
	mode Mode
	plan dialPlan
	// allowed is nil when handsets of any country are accepted.
	allowed map[string]bool
	regions regions
	// systemIDs are the account's binds, tried in order for what optguard
	// originates; the service bind's system_id comes last.
	systemIDs []string
	ids       idState
	// ref is the account's organization resolved in the store's index, so
	// that an MT does not look its name up (see Engine.state).
	ref atomic.Pointer[store.OrgRef]
}

// claim is what one system_id resolves to: the organizations that list it,
// chosen by the MT's sender.
type claim struct {
	acct     *account
	prefixes []prefixOrg // longest prefix first
	fallback *org
	// fast: the organization and the scope do not depend on the sender
	// (no prefixes, organization scope, no revoke-all), so MT may take the
	// fast path.
	fast bool
}

type prefixOrg struct {
	prefix string
	org    *org
}

type table struct {
	bySystemID map[string]*claim
	def        *claim
	orgs       map[string]*org
	accounts   []*account
	settings   Settings
}

// orgFor returns the organization of a bind's system_id for an MT from
// sender (digits, or the raw source_addr). It does not allocate.
func (t *table) claimFor(systemID string) *claim {
	if c, ok := t.bySystemID[systemID]; ok {
		return c
	}
	return t.def
}

func (c *claim) orgFor(sender []byte) *org {
	for _, p := range c.prefixes {
		if hasPrefix(sender, p.prefix) {
			return p.org
		}
	}
	return c.fallback
}

// compile builds the table from resolved organizations.
func compile(specs []Organization, s Settings) (*table, error) {
	t := &table{bySystemID: map[string]*claim{}, orgs: map[string]*org{}, settings: s.withDefaults()}
	if len(specs) == 0 {
		specs = []Organization{{Name: DefaultOrganizationName, Main: DefaultOrganizationName}}
	}
	accts := map[string]*account{}
	for i := range specs {
		sp := withSpecDefaults(specs[i])
		o, err := compileOrg(sp)
		if err != nil {
			return nil, &OrgError{Org: sp.Name, Err: err}
		}
		if _, dup := t.orgs[sp.Name]; dup {
			return nil, fmt.Errorf("organization %s is listed twice", sp.Name)
		}
		t.orgs[sp.Name] = o
		if sp.Main == sp.Name {
			a, err := newAccount(o)
			if err != nil {
				return nil, fmt.Errorf("organization %s: %w", sp.Name, err)
			}
			accts[sp.Name] = a
			t.accounts = append(t.accounts, a)
		}
	}
	for _, o := range t.orgs {
		a := accts[o.spec.Main]
		if a == nil {
			return nil, fmt.Errorf("organization %s: its main organization %s is not listed", o.spec.Name, o.spec.Main)
		}
		o.acct = a
	}
	// Claims, and each account's system_ids for what optguard originates.
	for _, sp := range specs {
		o := t.orgs[sp.Name]
		for _, id := range o.spec.SystemIDs {
			c := t.bySystemID[id]
			if c == nil {
				c = &claim{acct: o.acct}
				t.bySystemID[id] = c
				o.acct.systemIDs = append(o.acct.systemIDs, id)
			}
			if c.acct != o.acct {
				return nil, fmt.Errorf("system_id %s is claimed by organizations of two accounts (%s and %s)", id, c.acct.name, o.acct.name)
			}
			if len(o.spec.SenderPrefixes) == 0 {
				if c.fallback == nil || c.fallback.spec.Name == o.acct.name {
					c.fallback = o
				}
				continue
			}
			for _, p := range o.spec.SenderPrefixes {
				c.prefixes = append(c.prefixes, prefixOrg{prefix: strings.TrimPrefix(p, "+"), org: o})
			}
		}
	}
	for _, c := range t.bySystemID {
		if c.fallback == nil {
			c.fallback = c.acct.main
		}
		c.fast = c.fastPath()
		sort.SliceStable(c.prefixes, func(i, j int) bool { return len(c.prefixes[i].prefix) > len(c.prefixes[j].prefix) })
	}
	for _, a := range t.accounts {
		// The service bind is tried last; when it shares a system_id with
		// the account's ESME binds, the proxy prefers those anyway.
		if id := a.main.spec.ServiceBindSystemID; id != "" && !contains(a.systemIDs, id) {
			a.systemIDs = append(a.systemIDs, id)
		}
	}
	def := t.orgs[DefaultOrganizationName]
	if def == nil {
		sp := withSpecDefaults(Organization{Name: DefaultOrganizationName, Main: DefaultOrganizationName})
		o, err := compileOrg(sp)
		if err != nil {
			return nil, err
		}
		a, err := newAccount(o)
		if err != nil {
			return nil, err
		}
		o.acct = a
		t.orgs[sp.Name] = o
		t.accounts = append(t.accounts, a)
		def = o
	}
	t.def = &claim{acct: def.acct, fallback: def}
	t.def.fast = t.def.fastPath()
	return t, nil
}

func (c *claim) fastPath() bool {
	spec := &c.acct.main.spec
	return len(c.prefixes) == 0 && spec.Scope == ScopeOrganization && !spec.RevokeAll
}

// OrgError is an organization that does not compile (a keyword list entry
// the matcher refuses, a template that does not parse).
type OrgError struct {
	Org string
	Err error
}

func (e *OrgError) Error() string { return "organization " + e.Org + ": " + e.Err.Error() }
func (e *OrgError) Unwrap() error { return e.Err }

// DefaultOrganizationName is the organization for binds nobody claims.
const DefaultOrganizationName = "default"

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func withSpecDefaults(sp Organization) Organization {
	if sp.Main == "" {
		sp.Main = sp.Name
	}
	if sp.DisplayName == "" {
		sp.DisplayName = sp.Name
	}
	if sp.HoldMax <= 0 {
		sp.HoldMax = 100
	}
	if sp.HoldExpiry <= 0 {
		sp.HoldExpiry = 72 * time.Hour
	}
	if sp.ResendInterval <= 0 {
		sp.ResendInterval = 24 * time.Hour
	}
	if sp.MaxRequests <= 0 {
		sp.MaxRequests = 3
	}
	if sp.RefusedStatus == pdu.ESME_ROK {
		sp.RefusedStatus = pdu.ESME_RX_P_APPN
	}
	if sp.HoldFullStatus == pdu.ESME_ROK {
		sp.HoldFullStatus = pdu.ESME_RMSGQFUL
	}
	if sp.DefaultCountry == "" {
		sp.DefaultCountry = "US"
	}
	if sp.HelpContact == "" {
		sp.HelpContact = defaultHelpContact
	}
	if sp.DefaultSenderName == "" {
		sp.DefaultSenderName = sp.DisplayName
	}
	return sp
}

func compileOrg(sp Organization) (*org, error) {
	tpls, err := compileTemplates(sp.Templates)
	if err != nil {
		return nil, err
	}
	// Per language, the organization's lists add to the defaults or, with
	// replace, take that language's place.
	lists := keywords.Merge(keywords.Defaults(), orgLists(sp.Keywords), sp.ReplaceKeywords)
	m, err := keywords.Compile(keywords.Options{Lists: lists, Emoji: keywords.DefaultEmoji(), Numeric: sp.NumericReplies})
	if err != nil {
		return nil, err
	}
	o := &org{spec: sp, templates: tpls, matcher: m, lists: lists, firstOptIn: map[string]string{}, firstOptOut: map[string]string{}}
	for _, l := range lists {
		if len(l.OptIn) > 0 {
			o.firstOptIn[l.Lang] = strings.ToUpper(l.OptIn[0])
		}
		if len(l.OptOut) > 0 {
			o.firstOptOut[l.Lang] = strings.ToUpper(l.OptOut[0])
		}
	}
	return o, nil
}

// orgLists are an organization's keyword lists as keywords.Lists, by
// language in a fixed order.
func orgLists(own map[string]KeywordList) []keywords.List {
	langs := make([]string, 0, len(own))
	for lang := range own {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	out := make([]keywords.List, 0, len(langs))
	for _, lang := range langs {
		kl := own[lang]
		out = append(out, keywords.List{Lang: lang, OptOut: kl.OptOut, OptIn: kl.OptIn, Help: kl.Help, Intent: kl.Intent, Negative: kl.Negative})
	}
	return out
}

func newAccount(main *org) (*account, error) {
	plan, err := newDialPlan(main.spec.DefaultCountry)
	if err != nil {
		return nil, fmt.Errorf("default country: %w", err)
	}
	a := &account{name: main.spec.Name, key: nameKey(main.spec.Name), main: main, mode: main.spec.Mode, plan: plan}
	if len(main.spec.AllowedCountries) > 0 {
		a.allowed = map[string]bool{}
		for _, c := range main.spec.AllowedCountries {
			a.allowed[strings.ToUpper(c)] = true
		}
	}
	a.ids.form.Store(uint32(main.spec.MessageIDs))
	return a, nil
}

// storeMode is the account's mode as the ledger records it.
func (a *account) storeMode() store.Mode {
	switch a.mode {
	case ModeConsent:
		return store.ModeConsent
	case ModeDisclaimer:
		return store.ModeDisclaimer
	}
	return store.ModeOff
}

// allows reports whether a handset's number may be messaged by the
// account's country rule.
func (a *account) allows(e164 []byte) bool {
	if a.allowed == nil {
		return true
	}
	return a.allowed[a.regions.of(e164)]
}

// allowsDest is allows for an MT's destination (a phone number: the MT
// path checked).
func (a *account) allowsDest(m *pdu.Message) bool {
	var buf digits
	d, _ := a.plan.dest(&buf, m.Dest.TON, m.Dest.Addr)
	return a.allows(d)
}

// senderName is {sender_name} for a sender number.
func (o *org) senderName(sender string) string {
	if n, ok := o.spec.SenderNames[strings.TrimPrefix(sender, "+")]; ok {
		return n
	}
	return o.spec.DefaultSenderName
}

func (o *org) keyword(m map[string]string, lang string) string {
	if k, ok := m[lang]; ok {
		return k
	}
	if k, ok := m["en"]; ok {
		return k
	}
	for _, k := range m {
		return k
	}
	return ""
}

// vars are the template variables for a message between sender and a
// handset whose language is lang ("" when unknown).
func (o *org) vars(sender, lang string) Vars {
	return Vars{
		SenderName:    o.senderName(sender),
		SenderNumber:  sender,
		Organization:  o.spec.DisplayName,
		OptInKeyword:  o.keyword(o.firstOptIn, lang),
		OptOutKeyword: o.keyword(o.firstOptOut, lang),
		HelpContact:   o.spec.HelpContact,
	}
}

// idState is the form of the message ids an account hands out, learned from
// the SMSC's receipts when the configuration says auto, and kept in the
// store so that a restart does not forget it (Engine.saveIDForm).
type idState struct {
	form  atomic.Uint32 // IDForm configured; IDAuto until learned
	upper atomic.Bool   // the SMSC writes hex in upper case
}

// learn notes the form of an SMSC message id seen in a receipt and reports
// whether it changed what was known. It is on the receipt path: it reads a
// few bytes and stores only on a change. Hex is for good once a letter is
// seen: a hex SMSC's ids are all digits now and then (one in 40 of 8 hex
// digits), and those must not turn the form to decimal. An id of digits
// only says decimal while nothing else was learned.
func (s *idState) learn(id []byte, configured IDForm) bool {
	if configured != IDAuto || len(id) == 0 {
		return false
	}
	form, lower, upper := IDDecimal, false, false
	for _, c := range id {
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			form, lower = IDHex, true
		case c >= 'A' && c <= 'F':
			form, upper = IDHex, true
		default:
			return false // neither: keep what we had
		}
	}
	cur := IDForm(s.form.Load())
	switch {
	case form == IDDecimal && cur != IDAuto:
		return false // digits only: hex or decimal alike
	case form == IDDecimal:
		s.form.Store(uint32(IDDecimal))
		return true
	}
	changed := cur != IDHex
	if changed {
		s.form.Store(uint32(IDHex))
	}
	if upper != lower && s.upper.Load() != upper { // mixed case says nothing
		s.upper.Store(upper)
		changed = true
	}
	return changed
}

// encode is the learned form as the store keeps it.
func (s *idState) encode() []byte {
	switch {
	case IDForm(s.form.Load()) == IDDecimal:
		return []byte("decimal")
	case s.upper.Load():
		return []byte("HEX")
	}
	return []byte("hex")
}

// decode restores what encode wrote; false for anything else.
func (s *idState) decode(v []byte) bool {
	switch string(v) {
	case "decimal":
		s.form.Store(uint32(IDDecimal))
	case "hex", "HEX":
		s.form.Store(uint32(IDHex))
		s.upper.Store(string(v) == "HEX")
	default:
		return false
	}
	return true
}
