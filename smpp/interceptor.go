package smpp

import (
	"github.com/optguard/optguard/smpp/pdu"
)

// Interceptor decides what happens to the messages that cross a bind. It is
// declared here, by its consumer; cmd/optguard adapts the consent policy to it.
//
// Both methods run on the reader goroutine of the session the PDU arrived on, so
// that the verdict is carried out before the next PDU of that connection is read:
// MT must answer from memory (it is on the relay's hot path); MO may write to
// disk, which is how a consent change is durable before the SMSC's deliver_sm is
// answered. Neither may keep c or m, or any slice of them, after returning: they
// are views of the connection's read buffer. Copy what must outlive the call.
type Interceptor interface {
	// MT is called for every submit_sm, data_sm and submit_multi an ESME sends
	// on a bind that may transmit, after it was scanned and before it is relayed.
	MT(c *Call, m *pdu.Message) Verdict
	// MO is called for every deliver_sm and data_sm the SMSC sends, mobile
	// originated messages and receipts alike (m.IsReceipt tells them apart).
	MO(c *Call, m *pdu.Message) Verdict
}

// SessionInterceptor is an Interceptor with a quicker road to the MT
// verdict for each bind session: the proxy asks it once, when a bind that
// may transmit is made, for the session's SessionMT, and asks that about
// each of the session's submit_sm and data_sm before Interceptor.MT. What
// the SessionMT decides costs no Verdict and no interface call to the
// Interceptor; what it cannot decide goes to MT as before.
type SessionInterceptor interface {
	Interceptor
	// SessionMT returns the quick road for the bind session c describes,
	// or nil for none. It runs on the session's reader, once, before the
	// session's first MT; it may not keep c.
	SessionMT(c *Call) SessionMT
}

// SessionMT is one bind session's MT verdict from memory (see
// SessionInterceptor), made in two parts around the scan of each MT. The
// proxy scans an MT in two parts (pdu.ScanAddrs, pdu.ScanRest) and calls
// PrefetchMT between them, with m holding the header, service_type and
// addresses only: what QuickMT will read for the destination (a line of
// the consent index, which relay traffic evicts from the caches between
// two MTs to the same handset) is then on its way while the rest is
// scanned. QuickMT follows for the same PDU once it is scanned whole (an
// MT whose rest does not scan is refused without it). Both run on the
// session's reader and must neither block nor allocate, nor keep m.
// submit_multi, whose verdict is per destination, never comes here.
type SessionMT interface {
	// PrefetchMT starts the memory reads of m's verdict; it decides nothing.
	PrefetchMT(m *pdu.Message)
	// QuickMT answers m when it can from memory: ok false means that
	// Interceptor.MT decides; with ok, st is ESME_ROK to relay m unchanged
	// and the status to refuse it with otherwise.
	QuickMT(m *pdu.Message) (st pdu.Status, ok bool)
}

// Call describes the session and the PDU an Interceptor is asked about.
type Call struct {
	Session  uint64   // id of the ESME-side session of the bind
	SystemID string   // the bind's system_id
	Bind     BindType // how the ESME bound
	Remote   string   // the ESME's address
	// PDU is the exact PDU as it arrived, sequence number included. It is a view
	// of the read buffer: copy it (e.g. to hold it) before the call returns.
	PDU []byte

	sess *Session  // the session the PDU arrived on; nil outside a bind
	def  *Deferred // set by Defer during the call
}

// Action is what a Verdict tells the proxy to do.
type Action uint8

const (
	// ActForward relays the PDU unchanged (but for its sequence number).
	ActForward Action = iota
	// ActReject answers the PDU with Verdict.Status; it is not relayed.
	ActReject
	// ActHold answers the PDU with ESME_ROK (an MT's response carries
	// Verdict.MessageID) and does not relay it: the interceptor has taken the
	// message over, e.g. stored it until the handset consents.
	ActHold
	// ActReplace relays Verdict.Replace instead of the PDU that arrived: a
	// receipt whose message id optguard rewrites, a submit_multi with refused
	// destinations removed. Only the sequence number is set by the proxy. A
	// Replace whose header does not parse, whose command_length is not its
	// length or the maximum PDU size allows, or whose command id is not the
	// arriving PDU's, is never relayed: the PDU is refused with ESME_RSYSERR.
	ActReplace
	// ActDefer answers nothing now: the interceptor called Call.Defer and will
	// give the verdict later with Deferred.Finish, from any goroutine (e.g.
	// once a batch of consent changes is on disk). SMPP allows responses out
	// of order, so the reader goes on with the next PDU meanwhile. The
	// verdict's Inject list still goes out at once.
	ActDefer

	numActions = iota
)

func (a Action) String() string {
	switch a {
	case ActForward:
		return "forward"
	case ActReject:
		return "reject"
	case ActHold:
		return "hold"
	case ActReplace:
		return "replace"
	case ActDefer:
		return "defer"
	}
	return "action(" + itoa(int(a)) + ")"
}

// Verdict is an Interceptor's answer. The zero Verdict forwards.
type Verdict struct {
	Action    Action
	Status    pdu.Status // ActReject: the command_status answered
	MessageID string     // ActHold of an MT: the message_id answered
	// Replace, with ActReplace, is the whole PDU relayed instead: same command
	// id, any sequence number (the proxy sets it). It is copied before the
	// verdict returns control, so it may be the interceptor's scratch buffer.
	Replace []byte
	// Unsuccess lists, for an MT submit_multi only, destinations optguard
	// refused, each with its status. With ActForward or ActReplace they are
	// kept until the SMSC's submit_multi_resp comes back and are added to its
	// unsuccess_sme list (after the SMSC's own entries); with ActReject the
	// answer is submit_multi_resp with Status, an empty message_id and the
	// list; with ActHold, ESME_ROK, MessageID and the list. The slice is
	// copied; it is ignored for other commands.
	Unsuccess []pdu.UnsuccessSME
	// InjectBefore lists PDUs to originate before the verdict is carried out,
	// on the same bind when it can carry them: a disclaimer reaches the handset
	// on the SMSC connection of the MT, immediately ahead of it. They are not
	// sent when the verdict cannot be carried out (a bad Replace, an unknown
	// action).
	InjectBefore []Injection
	// Inject lists PDUs to originate once the verdict has been carried out (so
	// that, e.g., an opt-out confirmation follows the relayed MO).
	Inject []Injection
}

// Forward returns the verdict that relays the PDU.
func ForwardVerdict() Verdict { return Verdict{} }

// Reject returns the verdict that answers the PDU with status and drops it.
func Reject(status pdu.Status) Verdict { return Verdict{Action: ActReject, Status: status} }

// Hold returns the verdict that answers the PDU with ESME_ROK and messageID
// without relaying it.
func Hold(messageID string) Verdict { return Verdict{Action: ActHold, MessageID: messageID} }

// Forward is the Interceptor that relays everything.
type Forward struct{}

// MT relays.
func (Forward) MT(*Call, *pdu.Message) Verdict { return Verdict{} }

// MO relays.
func (Forward) MO(*Call, *pdu.Message) Verdict { return Verdict{} }

// SessionMT makes Forward a SessionInterceptor, so that a proxy without
// a policy relays MTs by the same road as one whose policy decides them
// from memory, and the two compare (optguard bench -baseline).
func (Forward) SessionMT(*Call) SessionMT { return forwardMT{} }

// forwardMT is Forward's SessionMT: every MT is relayed.
type forwardMT struct{}

func (forwardMT) PrefetchMT(*pdu.Message)                 {}
func (forwardMT) QuickMT(*pdu.Message) (pdu.Status, bool) { return pdu.ESME_ROK, true }

// Injection is a request PDU that optguard originates on one leg of a bind.
type Injection struct {
	// Leg is where the PDU goes: Upstream to the SMSC (a submit_sm to the
	// handset), Downstream to the ESME (a deliver_sm notice to the sender).
	Leg Leg
	// SystemID picks the bind: "" means the bind the verdict is about; otherwise
	// any bound session of that system_id that may carry the PDU (a transmitter
	// or transceiver for Upstream, a receiver or transceiver for Downstream).
	// Upstream, when no ESME bind of the system_id can carry it, its service
	// bind does (Server.SetServiceBinds).
	SystemID string
	// PDU is a whole request PDU; optguard sets its sequence number. The slice is
	// copied before Inject returns.
	PDU []byte
	// OnResponse, if not nil, gets the response PDU or the error (e.g.
	// ErrResponseTimeout, ErrSessionClosed). It runs on a session goroutine and
	// must not block; resp is valid only during the call.
	OnResponse func(resp []byte, err error)
}
