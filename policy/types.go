package policy

import (
	"errors"
	"strconv"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// Mode is an organization's consent mode.
type Mode uint8

const (
	// ModeOff relays everything; opt-outs are still detected, recorded and
	// enforced (an opt-out is never ignored in any mode).
	ModeOff Mode = iota
	// ModeConsent holds first contact in both directions until the handset
	// replies YES.
	ModeConsent
	// ModeDisclaimer sends a disclaimer to the handset before the first MT
	// of a scope; no consent is needed.
	ModeDisclaimer
)

var modeNames = [...]string{"off", "consent", "disclaimer"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode is the inverse of Mode.String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, errors.New("policy: mode must be consent, disclaimer or off, not " + strconv.Quote(s))
}

// Scoping says what consent is kept per.
type Scoping uint8

const (
	// ScopeOrganization keeps one consent per account and handset.
	ScopeOrganization Scoping = iota
	// ScopeSender keeps one per sender number (an employee's line) and handset.
	ScopeSender
)

func (s Scoping) String() string {
	if s == ScopeSender {
		return "sender"
	}
	return "organization"
}

// IDForm is the form of the message ids optguard gives the ESME for
// messages it holds.
type IDForm uint8

const (
	// IDAuto learns the form from the SMSC's ids in receipts (hex until
	// one is seen).
	IDAuto IDForm = iota
	// IDHex is lower-case hexadecimal, 16 digits.
	IDHex
	// IDDecimal is decimal, up to 19 digits.
	IDDecimal
)

func (f IDForm) String() string {
	switch f {
	case IDHex:
		return "hex"
	case IDDecimal:
		return "decimal"
	}
	return "auto"
}

// KeywordList is one language's additions to (or replacement of) the
// default keyword lists.
type KeywordList struct {
	OptOut, OptIn, Help, Intent, Negative []string
}

// Organization is one tenant as the configuration describes it, with
// inheritance already applied: a sub-organization carries its main
// organization's account-wide settings (mode, scope, limits, statuses,
// countries, service bind).
type Organization struct {
	Name        string
	Main        string // the main organization's name; Name itself for a main organization
	DisplayName string // {organization}

	SystemIDs      []string
	SenderPrefixes []string // digits, optional leading '+'

	Mode                Mode
	Scope               Scoping
	RevokeAll           bool
	HoldOnPossibleOpt   bool // possible_opt_out: hold later MTs until a person decides
	RelayKeywordMO      bool
	NumericReplies      bool
	HelpContact         string
	DefaultSenderName   string
	SenderNames         map[string]string // sender number → display name
	ReplaceKeywords     bool
	Keywords            map[string]KeywordList // language → lists
	Templates           map[string]string      // template name → text (overrides)
	HoldMax             int
	HoldExpiry          time.Duration
	ResendInterval      time.Duration
	MaxRequests         int
	RefusedStatus       pdu.Status
	HoldFullStatus      pdu.Status
	AllowedCountries    []string
	DefaultCountry      string
	ServiceBindSystemID string // system_id of the account's service bind, "" for none
	MessageIDs          IDForm
}

// Settings are the process-wide policy settings.
type Settings struct {
	NoticeTag            pdu.Tag       // vendor TLV on notices to the sender
	ReassemblyTimeout    time.Duration // concatenated MO parts wait this long for the rest
	ReassemblyMax        int           // partial MOs kept at most
	ExpiryScanInterval   time.Duration
	ConfirmationDeadline time.Duration // the opt-out confirmation leaves within this or never
	PINDigits            int           // double opt-in: digits of the PIN texted after the YES (4..10, default 6)
	PINExpiry            time.Duration // double opt-in: the PIN is good for this long (default 10m)
	PINAttempts          int           // double opt-in: wrong PINs an agent may enter before it is void (default 5)
}

func (s Settings) withDefaults() Settings {
	if s.NoticeTag == 0 {
		s.NoticeTag = DefaultNoticeTag
	}
	if s.ReassemblyTimeout <= 0 {
		s.ReassemblyTimeout = time.Minute
	}
	if s.ReassemblyMax <= 0 {
		s.ReassemblyMax = 10000
	}
	if s.ExpiryScanInterval <= 0 {
		s.ExpiryScanInterval = 10 * time.Second
	}
	if s.ConfirmationDeadline <= 0 || s.ConfirmationDeadline > 5*time.Minute {
		s.ConfirmationDeadline = 5 * time.Minute
	}
	if s.PINDigits < 4 || s.PINDigits > 10 {
		s.PINDigits = 6
	}
	if s.PINExpiry <= 0 {
		s.PINExpiry = 10 * time.Minute
	}
	if s.PINAttempts <= 0 || s.PINAttempts > 100 {
		s.PINAttempts = 5
	}
	return s
}

// DefaultNoticeTag is the vendor TLV optguard puts on the notices it sends
// to a sender (deliver_sm to the ESME), so that an ESME can tell them from
// a real MO. Its value is the notice's name in ASCII: requested, accepted,
// rejected, or receipt for receipts optguard answers itself.
const DefaultNoticeTag pdu.Tag = 0x1F01

// Bind is the session a PDU arrived on.
type Bind struct {
	SystemID string
	Session  uint64
}

// Action is what a Decision tells the proxy to do with the PDU.
type Action uint8

const (
	// Forward relays the PDU unchanged but for its sequence number.
	Forward Action = iota
	// Reject answers the PDU with Decision.Status; it is not relayed.
	Reject
	// Hold answers the PDU with ESME_ROK (an MT's response carries
	// Decision.MessageID) and does not relay it.
	Hold
	// Replace relays Decision.Replace instead of the PDU.
	Replace
	// Defer means the policy needs the disk: the proxy keeps the PDU and
	// hands it to Engine.Run with a Responder; nothing is answered yet.
	Defer
)

var actionNames = [...]string{"forward", "reject", "hold", "replace", "defer"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Outgoing is a request PDU optguard originates.
type Outgoing struct {
	// ToHandset: a submit_sm to the SMSC on a transmitting bind; else a
	// deliver_sm to the ESME on a receiving bind.
	ToHandset bool
	// SystemIDs are the binds to try in order; empty means the bind the
	// decision is about.
	SystemIDs []string
	PDU       []byte
	// OnResponse, if set, gets the response PDU or the error; it must not
	// block, and resp is only valid during the call.
	OnResponse func(resp []byte, err error)
}

// Decision is the policy's answer for one PDU.
type Decision struct {
	Action    Action
	Status    pdu.Status
	MessageID string
	Replace   []byte
	// Unsuccess lists the destinations of a submit_multi that were refused.
	Unsuccess []pdu.UnsuccessSME
	// InjectBefore goes out on the same bind before the PDU is relayed (the
	// disclaimer before the first MT); Inject after it.
	InjectBefore []Outgoing
	Inject       []Outgoing

	task *task // Defer: the work Engine.Run does
}

// Responder finishes a deferred PDU; cmd/optguard implements it over the
// proxy's deferred handle. Finish may be called from any goroutine, once.
type Responder interface {
	Finish(d Decision) error
}

// Transport sends what optguard originates outside a decision (released
// messages, notices, receipts, confirmations after a durable write).
type Transport interface {
	// Send originates o on a bind of one of o.SystemIDs that can carry it,
	// in order; ErrNoBind when none can.
	Send(o Outgoing) error
}

// ErrNoBind is what a Transport returns when no bind can carry a message
// now; the message then waits in the store's outbox.
var ErrNoBind = errors.New("policy: no bind can carry the message")
