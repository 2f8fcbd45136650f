package config

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	orgNamePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	numberPattern   = regexp.MustCompile(`^\+?[0-9]{1,20}$`) // source_addr holds at most 20 characters
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// SMPP v3.4 limits (section 4.1, without the terminating NUL) of the bind
// fields optguard sends or matches.
const (
	maxSystemIDLen   = 15
	maxPasswordLen   = 8
	maxSystemTypeLen = 12
	maxKeywordLen    = 160 // one GSM-7 message
)

// mainOnlyKeys are the Organization keys that apply to the whole account and
// so may be set on a main organization only.
var mainOnlyKeys = []string{
	"mode", "consent_scope", "revoke_all", "possible_opt_out", "relay_keyword_mo",
	"hold", "consent_requests", "refused_status", "hold_full_status", "countries",
	"service_bind", "message_ids", "retention",
}

// retriedStatuses are command_status values that ESMEs treat as transient
// and resend: as refused_status they would bring a refused MT back without
// end (Kannel re-queues these every 60 s).
var retriedStatuses = []Status{0x08, 0x14, 0x58, 0x64} // ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN

// set reports whether key appears in the file, or v is not its zero value
// (for a Config built in code): a key written with its zero value is still
// set.
func (v *validator) set(key string, val any) bool {
	if v.src != nil {
		if _, ok := v.src.lines[key]; ok {
			return true
		}
	}
	return !reflect.ValueOf(val).IsZero()
}

func (v *validator) policy(p *Policy) {
	if p.NoticeTLVTag < 0x1400 || p.NoticeTLVTag > 0x3FFF {
		v.fail("policy.notice_tlv_tag", "must be a vendor-specific tag between 0x1400 and 0x3FFF, got 0x%04X", p.NoticeTLVTag)
	}
	v.durationBetween("policy.reassembly_timeout", p.ReassemblyTimeout, time.Second, 10*time.Minute)
	v.intIn("policy.reassembly_max_messages", p.ReassemblyMaxMessages, 1, 10_000_000)
	v.durationBetween("policy.expiry_scan_interval", p.ExpiryScanInterval, time.Second, 10*time.Minute)
	v.durationBetween("policy.confirmation_deadline", p.ConfirmationDeadline, time.Second, 5*time.Minute)
	v.intIn("policy.pin.digits", p.PIN.Digits, 4, 10)
	v.durationBetween("policy.pin.expiry", p.PIN.Expiry, time.Minute, 24*time.Hour)
	v.intIn("policy.pin.attempts", p.PIN.Attempts, 1, 100)
}

func (v *validator) durationBetween(key string, d Duration, lo, hi time.Duration) {
	if time.Duration(d) < lo || time.Duration(d) > hi {
		v.fail(key, "must be between %s and %s, got %s", Duration(lo), Duration(hi), d)
	}
}

// organizations checks every organization, then the relations between
// them: parents, and which account each system_id belongs to.
func (v *validator) organizations(c *Config) {
	byName := map[string]int{}
	for i := range c.Organizations {
		o := &c.Organizations[i]
		key := orgKey(i)
		switch first, dup := byName[o.Name]; {
		case !orgNamePattern.MatchString(o.Name):
			v.fail(key+".name", "must be 1 to 64 letters, digits, '.', '_' or '-', got %q", o.Name)
		case dup:
			v.fail(key+".name", "%q is already the name of %s", o.Name, orgKey(first))
		default:
			byName[o.Name] = i
		}
	}
	resolved := c.ResolvedOrganizations()
	for i := range c.Organizations {
		o := &c.Organizations[i]
		key := orgKey(i)
		isMain := v.parent(c, i, byName)
		if isMain {
			v.mainOnly(key, o, c.Store.HoldMaxPerScope)
		} else if main := resolved[i].Main; main != o.Name {
			for _, k := range mainOnlyKeys {
				if v.set(key+"."+k, fieldByYAMLName(o, k)) {
					v.fail(key+"."+k, "set on the main organization %q; it applies to the whole account", main)
				}
			}
		}
		v.systemIDs(key, o.SystemIDs)
		v.numbers(key+".sender_prefixes", o.SenderPrefixes)
		v.senderNames(key+".sender_names", o.SenderNames)
		v.keywords(c, i, resolved)
		v.templates(key+".templates", o.Templates)
	}
	v.claims(c, resolved)
}

// parent checks organization i's parent and reports whether i is a main
// organization (no parent, or one too broken to follow).
func (v *validator) parent(c *Config, i int, byName map[string]int) bool {
	o := &c.Organizations[i]
	key := orgKey(i) + ".parent"
	if o.Parent == "" {
		return true
	}
	if o.Name == DefaultOrganization {
		v.fail(key, "the %q organization cannot have a parent: it covers the binds no organization claims", DefaultOrganization)
		return true
	}
	if _, ok := byName[o.Parent]; !ok {
		names := slices.Sorted(maps.Keys(byName))
		msg := fmt.Sprintf("no organization is named %q", o.Parent)
		if s := suggest(o.Parent, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		v.fail(key, "%s", msg)
		return true
	}
	path := []string{o.Name}
	for p := o.Parent; p != ""; p = c.Organizations[byName[p]].Parent {
		path = append(path, p)
		if p == o.Name {
			v.fail(key, "parents form a cycle: %s", strings.Join(path, " → "))
			return true
		}
		if _, ok := byName[p]; !ok || len(path) > len(c.Organizations) {
			break // reported at the organization that names it, or a cycle above this one
		}
	}
	return false
}

// mainOnly checks the account-wide keys of a main organization.
func (v *validator) mainOnly(key string, o *Organization, storeMax int) {
	if v.set(key+".mode", o.Mode) {
		oneOf(v, key+".mode", string(o.Mode), ModeConsent, ModeDisclaimer, ModeOff)
	}
	if v.set(key+".consent_scope", o.ConsentScope) {
		oneOf(v, key+".consent_scope", string(o.ConsentScope), ScopeOrganization, ScopeSender)
	}
	if v.set(key+".possible_opt_out", o.PossibleOptOut) {
		oneOf(v, key+".possible_opt_out", string(o.PossibleOptOut), PossibleOptOutRelay, PossibleOptOutHold)
	}
	if k := key + ".hold.max_per_scope"; v.set(k, o.Hold.MaxPerScope) {
		if n := o.Hold.MaxPerScope; n < 1 || n > storeMax {
			v.fail(k, "must be between 1 and %d (store.hold_max_per_scope), got %d", storeMax, n)
		}
	}
	if k := key + ".hold.expiry"; v.set(k, o.Hold.Expiry) {
		v.durationBetween(k, o.Hold.Expiry, time.Minute, 720*time.Hour)
	}
	if k := key + ".retention.proof"; v.set(k, o.Retention.Proof) {
		v.durationBetween(k, o.Retention.Proof, 24*time.Hour, 876000*time.Hour)
	}
	if k := key + ".retention.message_log"; v.set(k, o.Retention.MessageLog) {
		v.durationAtLeast(k, o.Retention.MessageLog, time.Hour)
	}
	if k := key + ".consent_requests.resend_interval"; v.set(k, o.ConsentRequests.ResendInterval) {
		v.durationAtLeast(k, o.ConsentRequests.ResendInterval, time.Minute)
	}
	if k := key + ".consent_requests.max"; v.set(k, o.ConsentRequests.Max) {
		v.intIn(k, o.ConsentRequests.Max, 1, 100)
	}
	if k := key + ".refused_status"; v.set(k, o.RefusedStatus) {
		switch s := o.RefusedStatus; {
		case s == 0:
			v.fail(k, "must be an error status, not ESME_ROK: the message is not delivered")
		case slices.Contains(retriedStatuses, s):
			v.fail(k, "%s is a transient error that ESMEs resend without end; use a permanent one such as ESME_RX_P_APPN", s)
		}
	}
	if k := key + ".hold_full_status"; v.set(k, o.HoldFullStatus) && o.HoldFullStatus == 0 {
		v.fail(k, "must be an error status, not ESME_ROK: the message is not accepted")
	}
	v.countries(key+".countries", &o.Countries)
	v.serviceBind(key+".service_bind", &o.ServiceBind)
	if v.set(key+".message_ids", o.MessageIDs) {
		oneOf(v, key+".message_ids", string(o.MessageIDs), MessageIDsAuto, MessageIDsHex, MessageIDsDecimal)
	}
}

func (v *validator) countries(key string, c *Countries) {
	seen := map[string]bool{}
	for j, code := range c.Allowed {
		k := fmt.Sprintf("%s.allowed[%d]", key, j)
		switch {
		case !countryPattern.MatchString(code):
			v.fail(k, "must be an ISO 3166 alpha-2 code in capitals, like US, got %q", code)
		case seen[code]:
			v.fail(k, "%q is listed twice", code)
		}
		seen[code] = true
	}
	def := orDefault(c.Default, defaultCountry)
	switch {
	case v.set(key+".default", c.Default) && !countryPattern.MatchString(c.Default):
		v.fail(key+".default", "must be an ISO 3166 alpha-2 code in capitals, like US, got %q", c.Default)
	case len(c.Allowed) > 0 && !seen[def]:
		v.fail(key+".default", "%q must be one of countries.allowed (%s)", def, strings.Join(c.Allowed, ", "))
	}
}

func (v *validator) serviceBind(key string, b *ServiceBind) {
	if b.SystemID == "" {
		if b.Password != "" {
			v.fail(key+".password", "is set without %s.system_id", key)
		}
		if b.SystemType != "" {
			v.fail(key+".system_type", "is set without %s.system_id", key)
		}
	}
	v.maxLen(key+".system_id", b.SystemID, maxSystemIDLen)
	v.maxLen(key+".password", b.Password, maxPasswordLen)
	v.maxLen(key+".system_type", b.SystemType, maxSystemTypeLen)
}

func (v *validator) maxLen(key, s string, n int) {
	if len(s) > n {
		v.fail(key, "must be at most %d characters (SMPP's limit), got %d", n, len(s))
	}
}

func (v *validator) systemIDs(key string, ids []string) {
	for j, id := range ids {
		k := fmt.Sprintf("%s.system_ids[%d]", key, j)
		switch {
		case id == "":
			v.fail(k, "must not be empty")
		case len(id) > maxSystemIDLen:
			v.fail(k, "must be at most %d characters: a longer system_id cannot bind", maxSystemIDLen)
		case slices.Contains(ids[:j], id):
			v.fail(k, "%q is listed twice", id)
		}
	}
}

// numbers checks a list of sender numbers or prefixes.
func (v *validator) numbers(key string, nums []string) {
	for j, n := range nums {
		k := fmt.Sprintf("%s[%d]", key, j)
		switch {
		case !numberPattern.MatchString(n):
			v.fail(k, "must be 1 to 20 digits with an optional leading +, got %q", n)
		case slices.Contains(digitsOnly(nums[:j]), strings.TrimPrefix(n, "+")):
			v.fail(k, "%q is listed twice (a leading + does not count)", n)
		}
	}
}

func (v *validator) senderNames(key string, names map[string]string) {
	seen := map[string]string{}
	for _, num := range keysInFileOrder(v, key, names) {
		k := key + "." + num
		digits := strings.TrimPrefix(num, "+")
		switch first, dup := seen[digits]; {
		case !numberPattern.MatchString(num):
			v.fail(k, "the key must be a sender number of 1 to 20 digits with an optional leading +, got %q", num)
		case dup:
			v.fail(k, "%q is the same number as %q", num, first)
		case strings.TrimSpace(names[num]) == "":
			v.fail(k, "must not be empty")
		}
		seen[digits] = num
	}
}

// keywordClasses are the keyword lists of a KeywordList that must not share
// an entry, with their keys.
var keywordClasses = []struct {
	key  string
	list func(*KeywordList) []string
}{
	{"opt_out", func(l *KeywordList) []string { return l.OptOut }},
	{"opt_in", func(l *KeywordList) []string { return l.OptIn }},
	{"help", func(l *KeywordList) []string { return l.Help }},
	{"intent", func(l *KeywordList) []string { return l.Intent }},
	{"negative", func(l *KeywordList) []string { return l.Negative }},
}

// keywords checks organization i's own keyword lists, and that no entry of
// its resolved lists (its own and those it inherits) is in two of opt_out,
// opt_in and help of one language. A clash is reported at the entry this
// organization writes; one between two inherited entries was reported at
// the organization that wrote them.
func (v *validator) keywords(c *Config, i int, resolved []ResolvedOrganization) {
	o := &c.Organizations[i]
	key := orgKey(i) + ".keywords.languages"
	for _, lang := range keysInFileOrder(v, key, o.Keywords.Languages) {
		lk := key + "." + lang
		if !languagePattern.MatchString(lang) {
			v.fail(lk, "the language tag must be 2 or 3 lower-case letters (ISO 639), got %q", lang)
		}
		own := o.Keywords.Languages[lang]
		for _, class := range keywordClasses {
			for j, e := range class.list(&own) {
				k := fmt.Sprintf("%s.%s[%d]", lk, class.key, j)
				switch {
				case strings.TrimSpace(e) == "":
					v.fail(k, "must not be empty")
				case len(e) > maxKeywordLen:
					v.fail(k, "must be at most %d bytes, got %d", maxKeywordLen, len(e))
				}
			}
		}
		all := resolved[i].Keywords.Languages[lang]
		first := map[string]string{} // folded entry → class it is first in
		for _, class := range keywordClasses[:3] {
			for _, e := range class.list(&all) {
				f := strings.ToLower(strings.TrimSpace(e))
				other, clash := first[f]
				if !clash {
					first[f] = class.key
					continue
				}
				if other == class.key {
					continue
				}
				j := slices.Index(class.list(&own), e)
				if j < 0 {
					continue // inherited: reported where it is written, or by the parent
				}
				where := ""
				if !slices.ContainsFunc(listByKey(&own, other), func(s string) bool { return strings.ToLower(strings.TrimSpace(s)) == f }) {
					where = " (inherited)"
				}
				v.fail(fmt.Sprintf("%s.%s[%d]", lk, class.key, j), "%q is also in %s%s of language %s; an entry may be in one of opt_out, opt_in and help", e, other, where, lang)
			}
		}
	}
}

func listByKey(l *KeywordList, key string) []string {
	for _, c := range keywordClasses {
		if c.key == key {
			return c.list(l)
		}
	}
	return nil
}

func (v *validator) templates(key string, t map[string]string) {
	for _, name := range keysInFileOrder(v, key, t) {
		k := key + "." + name
		if !slices.Contains(TemplateNames, name) {
			msg := fmt.Sprintf("unknown template %q", name)
			if s := suggest(name, TemplateNames); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			v.fail(k, "%s", msg)
			continue
		}
		if err := CheckTemplate(name, t[name]); err != nil {
			v.fail(k, "%v", err)
		}
	}
}

// claim is one organization's claim on a system_id.
type claim struct {
	org, main string
	prefixes  []string // digits only
}

// claims checks that each system_id belongs to one account, and that within
// it the organizations that share a system_id are told apart by sender
// prefix: at most one lists it without sender_prefixes, and no prefix is
// listed twice for it.
func (v *validator) claims(c *Config, resolved []ResolvedOrganization) {
	claims := map[string][]claim{}
	for i, r := range resolved {
		if r.Key == "" {
			continue // the implicit default lists nothing
		}
		o := &c.Organizations[i]
		for n, id := range r.SystemIDs {
			if slices.Contains(r.SystemIDs[:n], id) {
				continue // listed twice, reported by systemIDs
			}
			own := slices.Index(o.SystemIDs, id)
			idKey := fmt.Sprintf("%s.system_ids[%d]", r.Key, own)
			if own < 0 {
				idKey = r.Key + ".sender_prefixes" // the parent's system_ids
			}
			for _, cl := range claims[id] {
				switch {
				case cl.main != r.Main:
					if own >= 0 {
						v.fail(idKey, "%q is already a system_id of organization %q of account %q; a system_id belongs to one account", id, cl.org, cl.main)
					}
				case len(r.SenderPrefixes) == 0 && len(cl.prefixes) == 0:
					v.fail(idKey, "%q is already listed by organization %q without sender_prefixes; organizations of one account that share a system_id must tell their senders apart with sender_prefixes", id, cl.org)
				default:
					for k, p := range r.SenderPrefixes {
						if slices.Contains(cl.prefixes, p) {
							v.fail(fmt.Sprintf("%s.sender_prefixes[%d]", r.Key, k), "%q is already a sender prefix of organization %q for system_id %q", o.SenderPrefixes[k], cl.org, id)
						}
					}
				}
			}
			claims[id] = append(claims[id], claim{r.Name, r.Main, r.SenderPrefixes})
		}
	}
}

// keysInFileOrder returns the keys of the mapping m at key path key in the
// order of their lines in the file (sorted, for a Config built in code), so
// that problems are reported top to bottom.
func keysInFileOrder[V any](v *validator, key string, m map[string]V) []string {
	keys := slices.Sorted(maps.Keys(m))
	if v.src != nil {
		slices.SortStableFunc(keys, func(a, b string) int {
			return v.src.lines[key+"."+a] - v.src.lines[key+"."+b]
		})
	}
	return keys
}

// fieldByYAMLName returns the value of o's field with YAML key name.
func fieldByYAMLName(o *Organization, name string) any {
	rv := reflect.ValueOf(o).Elem()
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if n, ok := yamlName(f); ok && n == name {
			return rv.FieldByIndex(f.Index).Interface()
		}
	}
	panic("config: Organization has no key " + name)
}
