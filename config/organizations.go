package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy holds the process-wide settings of the consent policy; everything
// that differs between tenants is in Organization.
type Policy struct {
	NoticeTLVTag          int      `yaml:"notice_tlv_tag"`          // vendor TLV tag (0x1400..0x3FFF) on notices to the sender; its value names the notice
	ReassemblyTimeout     Duration `yaml:"reassembly_timeout"`      // concatenated MO parts wait this long for the rest (detection only), 1s..10m
	ReassemblyMaxMessages int      `yaml:"reassembly_max_messages"` // partial MOs kept at most (1..10000000); the oldest is given up beyond
	ExpiryScanInterval    Duration `yaml:"expiry_scan_interval"`    // how often held messages are checked for expiry, 1s..10m
	ConfirmationDeadline  Duration `yaml:"confirmation_deadline"`   // the opt-out confirmation is sent only if it can leave within this, 1s..5m (FCC: 5 minutes)
	PIN                   PIN      `yaml:"pin"`                     // the double opt-in's PIN, which an agent enters through the operator API
}

// PIN sets the double opt-in's PIN: texted to the handset after its YES,
// read out by the customer, entered by the agent.
type PIN struct {
	Digits   int      `yaml:"digits"`   // digits of the PIN, 4..10
	Expiry   Duration `yaml:"expiry"`   // the PIN is good for this long after it is sent, 1m..24h
	Attempts int      `yaml:"attempts"` // wrong PINs an agent may enter before the PIN is void, 1..100
}

// Mode is an organization's consent mode.
type Mode string

// The Mode values.
const (
	ModeConsent    Mode = "consent"    // first contact needs a YES from the handset; messages are held until then
	ModeDisclaimer Mode = "disclaimer" // first contact gets a disclaimer; no consent needed
	ModeOff        Mode = "off"        // relay only; opt-outs are still honoured
)

// ConsentScope says what one consent record covers, besides the handset.
type ConsentScope string

// The ConsentScope values.
const (
	ScopeOrganization ConsentScope = "organization" // the organization (account) and the handset
	ScopeSender       ConsentScope = "sender"       // the sender number and the handset
)

// PossibleOptOut says what a possible_opt_out (a reply that contains an
// opt-out word but matches no list) does to the scope's later MTs. Either
// way the reply is relayed and recorded as a review item.
type PossibleOptOut string

// The PossibleOptOut values.
const (
	PossibleOptOutRelay PossibleOptOut = "relay" // later MTs go on as before
	PossibleOptOutHold  PossibleOptOut = "hold"  // later MTs are held until a person decides
)

// MessageIDs is the form of the message_ids optguard gives held messages.
type MessageIDs string

// The MessageIDs values.
const (
	MessageIDsAuto    MessageIDs = "auto"    // the form of the SMSC's own ids, learned from its responses
	MessageIDsHex     MessageIDs = "hex"     // hexadecimal
	MessageIDsDecimal MessageIDs = "decimal" // decimal
)

// DefaultOrganization is the name of the organization that covers binds no
// other organization claims.
const DefaultOrganization = "default"

// Organization is one tenant as written in the file. A field left at its
// zero value is unset: a sub-organization (Parent set) inherits it from its
// parent, a main organization gets the default that ResolvedOrganizations
// fills in. Keys marked "main only" may be set on a main organization only;
// they apply to the whole account. Use Config.ResolvedOrganizations rather
// than reading these fields. The keys are omitempty so that a marshalled
// Config reads back with the same keys unset.
type Organization struct {
	Name              string            `yaml:"name,omitempty"`                // unique, [A-Za-z0-9._-]{1,64}
	Parent            string            `yaml:"parent,omitempty"`              // the organization this one is a sub-organization of; "" = a main organization
	DisplayName       string            `yaml:"display_name,omitempty"`        // {organization} in templates; default: the parent's, for a main organization its name
	SystemIDs         []string          `yaml:"system_ids,omitempty"`          // bind system_ids of the account (exact match)
	SenderPrefixes    []string          `yaml:"sender_prefixes,omitempty"`     // only MTs whose source_addr starts with one of these (digits, optional leading +)
	Mode              Mode              `yaml:"mode,omitempty"`                // main only: consent, disclaimer or off (default off)
	ConsentScope      ConsentScope      `yaml:"consent_scope,omitempty"`       // main only: organization or sender (default organization)
	RevokeAll         bool              `yaml:"revoke_all,omitempty"`          // main only: an opt-out in any scope revokes every scope of the account
	PossibleOptOut    PossibleOptOut    `yaml:"possible_opt_out,omitempty"`    // main only: relay or hold (default relay)
	RelayKeywordMO    *bool             `yaml:"relay_keyword_mo,omitempty"`    // main only: relay the keyword MO to the ESME (nil = true)
	NumericReplies    *bool             `yaml:"numeric_replies,omitempty"`     // "1" opts in, "2" opts out (nil = inherit, else false)
	HelpContact       string            `yaml:"help_contact,omitempty"`        // {help_contact}
	DefaultSenderName string            `yaml:"default_sender_name,omitempty"` // {sender_name} for numbers not in SenderNames; default: the display name
	SenderNames       map[string]string `yaml:"sender_names,omitempty"`        // sender number → {sender_name}
	Keywords          Keywords          `yaml:"keywords,omitempty"`            // keyword lists added to (or replacing) the defaults
	Templates         map[string]string `yaml:"templates,omitempty"`           // template name (TemplateNames) → text
	Hold              Hold              `yaml:"hold,omitempty"`                // main only: held messages
	ConsentRequests   ConsentRequests   `yaml:"consent_requests,omitempty"`    // main only: consent requests to the handset
	RefusedStatus     Status            `yaml:"refused_status,omitempty"`      // main only: command_status of MTs refused by consent (default ESME_RX_P_APPN)
	HoldFullStatus    Status            `yaml:"hold_full_status,omitempty"`    // main only: command_status when the scope's hold queue is full (default ESME_RMSGQFUL)
	Countries         Countries         `yaml:"countries,omitempty"`           // main only: countries of handset numbers
	ServiceBind       ServiceBind       `yaml:"service_bind,omitempty"`        // main only: optguard's own bind for auto-messages
	MessageIDs        MessageIDs        `yaml:"message_ids,omitempty"`         // main only: auto, hex or decimal (default auto)
	Retention         Retention         `yaml:"retention,omitempty"`           // main only: how long proof and message-log records are kept
}

// Retention is how long an account's data is kept.
type Retention struct {
	Proof      Duration `yaml:"proof,omitempty"`       // after a handset's last event, its proof is crypto-erased; 24h..876000h (default 43800h, 5 years)
	MessageLog Duration `yaml:"message_log,omitempty"` // a message-log record lives this long, at least 1h (default store.message_log.retention)
}

// Keywords are an organization's additions to (or replacement of) the
// built-in keyword lists.
type Keywords struct {
	ReplaceDefaults bool                   `yaml:"replace_defaults,omitempty"` // false: Languages add to the defaults; true: they replace them (the FCC words always remain)
	Languages       map[string]KeywordList `yaml:"languages,omitempty"`        // language tag ([a-z]{2,3}) → lists
}

// KeywordList is one language's keyword lists.
type KeywordList struct {
	OptOut   []string `yaml:"opt_out,omitempty"`  // whole-message opt-out keywords
	OptIn    []string `yaml:"opt_in,omitempty"`   // whole-message opt-in keywords
	Help     []string `yaml:"help,omitempty"`     // whole-message help keywords
	Intent   []string `yaml:"intent,omitempty"`   // revocation phrase patterns
	Negative []string `yaml:"negative,omitempty"` // phrases that contain an opt-out word but do not revoke
}

// Hold limits the MTs (and MOs) held while consent is pending.
type Hold struct {
	MaxPerScope int      `yaml:"max_per_scope,omitempty"` // held messages per consent scope, 1..store.hold_max_per_scope (default store.hold_max_per_scope)
	Expiry      Duration `yaml:"expiry,omitempty"`        // a held message gives up after this, 1m..720h (default 72h)
}

// ConsentRequests limits the consent requests sent to one scope.
type ConsentRequests struct {
	ResendInterval Duration `yaml:"resend_interval,omitempty"` // a pending scope gets another request after this, when an MT arrives; at least 1m (default 24h)
	Max            int      `yaml:"max,omitempty"`             // requests per scope at most, 1..100 (default 3)
}

// Countries restricts handset numbers and says how national ones are read.
type Countries struct {
	Allowed []string `yaml:"allowed,omitempty"` // ISO 3166 alpha-2 codes handset numbers may belong to; empty = any
	Default string   `yaml:"default,omitempty"` // country of national numbers (default US)
}

// ServiceBind is an account optguard binds itself to send auto-messages to
// handsets when no transmitter of the organization's account is bound.
type ServiceBind struct {
	SystemID   string `yaml:"system_id,omitempty"`   // empty = no service bind; at most 15 characters
	Password   string `yaml:"password,omitempty"`    // at most 8 characters
	SystemType string `yaml:"system_type,omitempty"` // at most 12 characters
}

// The defaults of a main organization's unset keys.
const (
	defaultHoldExpiry = 72 * time.Hour
	// DefaultProofRetention is how long proof is kept after a handset's
	// last event when the organization does not say: a TCPA claim can be
	// brought for 4 years.
	DefaultProofRetention = 5 * 365 * 24 * time.Hour
	defaultResendInterval = 24 * time.Hour
	defaultMaxRequests    = 3
	defaultRefusedStatus  = Status(0x65) // ESME_RX_P_APPN: permanent, so ESMEs do not resend refused MTs
	defaultHoldFullStatus = Status(0x14) // ESME_RMSGQFUL
	defaultCountry        = "US"
	defaultRelayKeywordMO = true
	defaultNumericReplies = false
	defaultPossibleOptOut = PossibleOptOutRelay
	defaultConsentScope   = ScopeOrganization
	defaultMode           = ModeOff
	defaultMessageIDs     = MessageIDsAuto
)

// ResolvedOrganization is an organization with every default and every
// inherited value filled in: what policy compiles. Its maps and slices are
// its own copies.
type ResolvedOrganization struct {
	Name   string // as in the file; DefaultOrganization for the default one
	Parent string // "" for a main organization
	Main   string // the main organization of the account: Name itself for a main organization
	Key    string // key path in the file, like "organizations[2]"; "" for the implicit default

	DisplayName string // {organization}
	// SystemIDs are the bind system_ids this organization claims. A
	// sub-organization that lists sender_prefixes and no system_ids claims
	// its parent's. A system_id listed by several organizations of one
	// account is decided by the sender: the organization with the longest
	// SenderPrefixes entry that the MT's source_addr starts with, else the
	// one that lists the system_id without sender_prefixes, else the main
	// organization. DefaultOrganization takes every system_id nobody lists.
	SystemIDs []string
	// SenderPrefixes are digits only: a leading + in the file is dropped,
	// so compare them with the sender's number without its +.
	SenderPrefixes []string

	Mode           Mode
	ConsentScope   ConsentScope
	RevokeAll      bool
	PossibleOptOut PossibleOptOut
	RelayKeywordMO bool
	NumericReplies bool

	HelpContact       string            // {help_contact}; "" when nobody in the chain sets it
	DefaultSenderName string            // {sender_name} for numbers not in SenderNames
	SenderNames       map[string]string // sender number (digits only, no +) → {sender_name}; never nil
	// Keywords are the lists of the whole chain, main organization first:
	// each organization's lists are added to those it inherits, and one
	// that sets replace_defaults starts afresh from its own lists.
	// Keywords.ReplaceDefaults says whether the built-in defaults are
	// replaced (policy still keeps the FCC words). Languages is never nil.
	Keywords  Keywords
	Templates map[string]string // overrides of the built-in texts, by template name; never nil

	Hold            Hold
	ConsentRequests ConsentRequests
	RefusedStatus   Status
	HoldFullStatus  Status
	Countries       Countries
	ServiceBind     ServiceBind
	MessageIDs      MessageIDs
	Retention       Retention
}

// ResolvedOrganizations returns every organization of the file in file
// order, with inheritance and defaults applied, followed by the implicit
// DefaultOrganization (mode off) when the file lists none. Call it on a
// Config that passed Validate: for an invalid one (an unknown parent, a
// cycle) it still returns without looping, treating the organization that
// breaks the chain as a main organization.
func (c *Config) ResolvedOrganizations() []ResolvedOrganization {
	byName := make(map[string]int, len(c.Organizations))
	for i, o := range c.Organizations {
		if _, dup := byName[o.Name]; !dup {
			byName[o.Name] = i
		}
	}
	out := make([]ResolvedOrganization, 0, len(c.Organizations)+1)
	for i := range c.Organizations {
		out = append(out, c.resolve(c.chain(i, byName)))
	}
	if _, ok := byName[DefaultOrganization]; !ok {
		out = append(out, c.resolve([]orgAt{{index: -1, org: &Organization{Name: DefaultOrganization}}}))
	}
	return out
}

// SetDefaultMode sets the mode of DefaultOrganization, as serve -mode does,
// adding it to Organizations when the file lists none. Validate afterwards.
func (c *Config) SetDefaultMode(m Mode) {
	for i := range c.Organizations {
		if c.Organizations[i].Name == DefaultOrganization {
			c.Organizations[i].Mode = m
			return
		}
	}
	c.Organizations = append(c.Organizations, Organization{Name: DefaultOrganization, Mode: m})
}

// orgAt is an organization with its index in Config.Organizations (-1 for
// the implicit default).
type orgAt struct {
	index int
	org   *Organization
}

// key is the organization's key path, like "organizations[2]".
func (o orgAt) key() string {
	if o.index < 0 {
		return ""
	}
	return orgKey(o.index)
}

func orgKey(i int) string {
	return "organizations[" + strconv.Itoa(i) + "]"
}

// chain returns organization i followed by its ancestors up to its main
// organization. It stops before an unknown parent or a repeated one.
func (c *Config) chain(i int, byName map[string]int) []orgAt {
	ch := []orgAt{{i, &c.Organizations[i]}}
	for {
		p := ch[len(ch)-1].org.Parent
		j, ok := byName[p]
		if p == "" || !ok || slices.ContainsFunc(ch, func(o orgAt) bool { return o.index == j }) {
			return ch
		}
		ch = append(ch, orgAt{j, &c.Organizations[j]})
	}
}

// resolve fills in an organization from its chain (itself first, its main
// organization last).
func (c *Config) resolve(ch []orgAt) ResolvedOrganization {
	self, main := ch[0].org, ch[len(ch)-1].org
	r := ResolvedOrganization{
		Name:   self.Name,
		Parent: self.Parent,
		Main:   main.Name,
		Key:    ch[0].key(),

		SenderPrefixes: digitsOnly(self.SenderPrefixes),

		Mode:           orDefault(main.Mode, defaultMode),
		ConsentScope:   orDefault(main.ConsentScope, defaultConsentScope),
		RevokeAll:      main.RevokeAll,
		PossibleOptOut: orDefault(main.PossibleOptOut, defaultPossibleOptOut),
		RelayKeywordMO: defaultRelayKeywordMO,
		NumericReplies: defaultNumericReplies,

		Hold: Hold{
			MaxPerScope: orDefault(main.Hold.MaxPerScope, c.Store.HoldMaxPerScope),
			Expiry:      orDefault(main.Hold.Expiry, Duration(defaultHoldExpiry)),
		},
		ConsentRequests: ConsentRequests{
			ResendInterval: orDefault(main.ConsentRequests.ResendInterval, Duration(defaultResendInterval)),
			Max:            orDefault(main.ConsentRequests.Max, defaultMaxRequests),
		},
		RefusedStatus:  orDefault(main.RefusedStatus, defaultRefusedStatus),
		HoldFullStatus: orDefault(main.HoldFullStatus, defaultHoldFullStatus),
		Countries: Countries{
			Allowed: slices.Clone(main.Countries.Allowed),
			Default: orDefault(main.Countries.Default, defaultCountry),
		},
		ServiceBind: main.ServiceBind,
		MessageIDs:  orDefault(main.MessageIDs, defaultMessageIDs),
		Retention: Retention{
			Proof:      orDefault(main.Retention.Proof, Duration(DefaultProofRetention)),
			MessageLog: orDefault(main.Retention.MessageLog, c.Store.MessageLog.Retention),
		},

		SenderNames: map[string]string{},
		Templates:   map[string]string{},
		Keywords:    Keywords{Languages: map[string]KeywordList{}},
	}
	if main.RelayKeywordMO != nil {
		r.RelayKeywordMO = *main.RelayKeywordMO
	}

	// Scalars: the nearest organization in the chain that sets them.
	explicitSenderName := false
	for _, o := range slices.Backward(ch) {
		if o.org.DisplayName != "" {
			r.DisplayName = o.org.DisplayName
		}
		if o.org.HelpContact != "" {
			r.HelpContact = o.org.HelpContact
		}
		if o.org.DefaultSenderName != "" {
			r.DefaultSenderName, explicitSenderName = o.org.DefaultSenderName, true
		}
		if o.org.NumericReplies != nil {
			r.NumericReplies = *o.org.NumericReplies
		}
		for num, name := range o.org.SenderNames {
			r.SenderNames[strings.TrimPrefix(num, "+")] = name
		}
		for name, text := range o.org.Templates {
			r.Templates[name] = text
		}
		r.Keywords = addKeywords(r.Keywords, o.org.Keywords)
	}
	if r.DisplayName == "" {
		r.DisplayName = main.Name
	}
	if !explicitSenderName {
		r.DefaultSenderName = r.DisplayName
	}

	r.SystemIDs = slices.Clone(self.SystemIDs)
	if len(r.SystemIDs) == 0 && len(self.SenderPrefixes) > 0 {
		for _, o := range ch[1:] {
			if len(o.org.SystemIDs) > 0 {
				r.SystemIDs = slices.Clone(o.org.SystemIDs)
				break
			}
		}
	}
	if r.SystemIDs == nil {
		r.SystemIDs = []string{}
	}
	if r.SenderPrefixes == nil {
		r.SenderPrefixes = []string{}
	}
	if r.Countries.Allowed == nil {
		r.Countries.Allowed = []string{}
	}
	return r
}

// addKeywords adds an organization's keyword lists to those it inherits;
// replace_defaults starts afresh from the organization's own lists. Entries
// already inherited are not repeated.
func addKeywords(inherited, own Keywords) Keywords {
	out := Keywords{ReplaceDefaults: inherited.ReplaceDefaults, Languages: map[string]KeywordList{}}
	if own.ReplaceDefaults {
		out.ReplaceDefaults = true
	} else {
		for lang, l := range inherited.Languages {
			out.Languages[lang] = l
		}
	}
	for lang, l := range own.Languages {
		base := out.Languages[lang]
		out.Languages[lang] = KeywordList{
			OptOut:   appendNew(base.OptOut, l.OptOut),
			OptIn:    appendNew(base.OptIn, l.OptIn),
			Help:     appendNew(base.Help, l.Help),
			Intent:   appendNew(base.Intent, l.Intent),
			Negative: appendNew(base.Negative, l.Negative),
		}
	}
	return out
}

// appendNew returns a new slice of base followed by the entries of add that
// base does not hold.
func appendNew(base, add []string) []string {
	out := slices.Clone(base)
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// digitsOnly returns numbers with their leading + removed.
func digitsOnly(nums []string) []string {
	if len(nums) == 0 {
		return nil
	}
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = strings.TrimPrefix(n, "+")
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// KeyError turns err, found in the value at the dotted key path key (such
// as a ResolvedOrganization's Key + ".keywords"), into an *Error with the
// file and the line of that key, or of the closest enclosing key the file
// sets. The *Error wraps err. Policy uses it to report what its compilation
// of the organizations finds with the same file:line: key form as Validate.
func (c *Config) KeyError(key string, err error) error {
	file, line := c.src.locate(key)
	return &Error{File: file, Line: line, Key: key, Msg: err.Error(), cause: err}
}

// KeywordKey returns the key path at which the keyword list entry is
// written for organization org in language lang, like
// "organizations[1].keywords.languages.en.opt_out[0]": in org itself, else
// in the nearest ancestor that lists it (exactly as written). When no list
// of the chain holds it, it returns org's keywords key, and "" for the
// implicit default organization or an unknown org.
func (c *Config) KeywordKey(org, lang, entry string) string {
	byName := make(map[string]int, len(c.Organizations))
	for i, o := range c.Organizations {
		if _, dup := byName[o.Name]; !dup {
			byName[o.Name] = i
		}
	}
	i, ok := byName[org]
	if !ok {
		return ""
	}
	for _, o := range c.chain(i, byName) {
		l := o.org.Keywords.Languages[lang]
		for _, class := range keywordClasses {
			if j := slices.Index(class.list(&l), entry); j >= 0 {
				return fmt.Sprintf("%s.keywords.languages.%s.%s[%d]", o.key(), lang, class.key, j)
			}
		}
	}
	return orgKey(i) + ".keywords"
}
