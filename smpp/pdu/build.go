package pdu

import (
	"encoding/binary"
	"errors"
	"strings"
)

// Builder appends a PDU to a byte slice field by field; End writes the
// command_length. It is how optguard originates PDUs (answers, injected
// messages); relayed PDUs are never rebuilt.
type Builder struct {
	b     []byte
	start int
}

// Begin starts a PDU at the end of dst with the given header fields.
func Begin(dst []byte, id CommandID, status Status, seq uint32) Builder {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0) // command_length, set by End
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	dst = binary.BigEndian.AppendUint32(dst, uint32(status))
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return Builder{b: dst, start: start}
}

// Byte appends a one-octet integer.
func (w *Builder) Byte(c byte) *Builder { w.b = append(w.b, c); return w }

// Uint32 appends a four-octet integer.
func (w *Builder) Uint32(v uint32) *Builder { w.b = binary.BigEndian.AppendUint32(w.b, v); return w }

// CString appends s and its terminating NUL.
func (w *Builder) CString(s string) *Builder { w.b = append(append(w.b, s...), 0); return w }

// Octets appends raw octets.
func (w *Builder) Octets(p []byte) *Builder { w.b = append(w.b, p...); return w }

// TLV appends an optional parameter.
func (w *Builder) TLV(tag Tag, value []byte) *Builder { w.b = AppendTLV(w.b, tag, value); return w }

// Address appends TON, NPI and address.
func (w *Builder) Address(ton, npi byte, addr string) *Builder {
	return w.Byte(ton).Byte(npi).CString(addr)
}

// End writes the command_length and returns the slice with the whole PDU at its end.
func (w *Builder) End() []byte {
	binary.BigEndian.PutUint32(w.b[w.start:], uint32(len(w.b)-w.start))
	return w.b
}

// fits reports whether s can be sent as a C-octet string field of at most max
// octets, NUL included: shorter than max and without a NUL of its own, which
// would end the field early and shift every field after it.
func fits(s string, max int) bool { return len(s) < max && strings.IndexByte(s, 0) < 0 }

// AppendHeaderOnly appends a PDU that has no body (enquire_link, unbind, their
// responses, generic_nack, error responses).
func AppendHeaderOnly(dst []byte, id CommandID, status Status, seq uint32) []byte {
	w := Begin(dst, id, status, seq)
	return w.End()
}

// AppendGenericNack appends a generic_nack with the status.
func AppendGenericNack(dst []byte, status Status, seq uint32) []byte {
	return AppendHeaderOnly(dst, GenericNack, status, seq)
}

// AppendEnquireLink appends an enquire_link.
func AppendEnquireLink(dst []byte, seq uint32) []byte {
	return AppendHeaderOnly(dst, EnquireLink, ESME_ROK, seq)
}

// AppendEnquireLinkResp appends an enquire_link_resp.
func AppendEnquireLinkResp(dst []byte, seq uint32) []byte {
	return AppendHeaderOnly(dst, EnquireLinkResp, ESME_ROK, seq)
}

// AppendUnbind appends an unbind.
func AppendUnbind(dst []byte, seq uint32) []byte {
	return AppendHeaderOnly(dst, Unbind, ESME_ROK, seq)
}

// AppendUnbindResp appends an unbind_resp.
func AppendUnbindResp(dst []byte, status Status, seq uint32) []byte {
	return AppendHeaderOnly(dst, UnbindResp, status, seq)
}

// AppendResp appends the response to request req with the status, in the
// shortest form the specification allows: a header alone for an error (section
// 4: "the body is not returned if the command_status field contains a non-zero
// value"), except deliver_sm_resp, whose unused message_id NUL is always sent
// because many ESME libraries read it; a successful response gets empty
// mandatory fields.
func AppendResp(dst []byte, req CommandID, status Status, seq uint32) []byte {
	w := Begin(dst, req.Resp(), status, seq)
	switch req {
	case DeliverSM:
		w.CString("")
	case SubmitSM, DataSM:
		if status == ESME_ROK {
			w.CString("")
		}
	case QuerySM:
		if status == ESME_ROK {
			w.CString("").CString("").Byte(0).Byte(0) // message_id, final_date, message_state, error_code
		}
	case SubmitMulti:
		if status == ESME_ROK {
			w.CString("").Byte(0) // message_id, no_unsuccess
		}
	case BindReceiver, BindTransmitter, BindTransceiver:
		w.CString("")
	}
	return w.End()
}

// BindRequest holds the fields of a bind to originate.
type BindRequest struct {
	ID               CommandID // BindTransmitter, BindReceiver or BindTransceiver
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion byte // 0x34 for SMPP v3.4
	AddrTON          byte
	AddrNPI          byte
	AddressRange     string
}

// Builder errors: optguard refuses to originate a PDU the specification forbids.
var (
	ErrBuildNotBind   = errors.New("pdu: bind request needs a bind command id")
	ErrBuildField     = errors.New("pdu: field longer than the specification allows")
	ErrBuildSMTooLong = errors.New("pdu: short_message longer than 254 octets; use message_payload")
)

// AppendBind appends a bind request.
func AppendBind(dst []byte, seq uint32, r BindRequest) ([]byte, error) {
	if !r.ID.IsBind() {
		return dst, ErrBuildNotBind
	}
	if !fits(r.SystemID, maxSystemID) || !fits(r.Password, maxPassword) ||
		!fits(r.SystemType, maxSystemType) || !fits(r.AddressRange, maxAddressRange) {
		return dst, ErrBuildField
	}
	w := Begin(dst, r.ID, ESME_ROK, seq)
	w.CString(r.SystemID).CString(r.Password).CString(r.SystemType).
		Byte(r.InterfaceVersion).Byte(r.AddrTON).Byte(r.AddrNPI).CString(r.AddressRange)
	return w.End(), nil
}

// AppendBindResp appends the response to bind request req, with the SMSC's
// system_id and, when version is non-zero, the sc_interface_version TLV.
func AppendBindResp(dst []byte, req CommandID, status Status, seq uint32, systemID string, version byte) []byte {
	w := Begin(dst, req.Resp(), status, seq)
	w.CString(systemID)
	if version != 0 {
		w.TLV(TagScInterfaceVersion, []byte{version})
	}
	return w.End()
}

// AppendSubmitSMResp appends a submit_sm_resp; the message_id is sent only with
// status ESME_ROK.
func AppendSubmitSMResp(dst []byte, status Status, seq uint32, messageID string) []byte {
	return appendMessageIDResp(dst, SubmitSMResp, status, seq, messageID)
}

// AppendDataSMResp appends a data_sm_resp; the message_id is sent only with
// status ESME_ROK.
func AppendDataSMResp(dst []byte, status Status, seq uint32, messageID string) []byte {
	return appendMessageIDResp(dst, DataSMResp, status, seq, messageID)
}

func appendMessageIDResp(dst []byte, id CommandID, status Status, seq uint32, messageID string) []byte {
	w := Begin(dst, id, status, seq)
	if status == ESME_ROK {
		w.CString(messageID)
	}
	return w.End()
}

// AppendDeliverSMResp appends a deliver_sm_resp.
func AppendDeliverSMResp(dst []byte, status Status, seq uint32) []byte {
	return AppendResp(dst, DeliverSM, status, seq)
}

// Addr is an address to originate.
type Addr struct {
	TON  byte
	NPI  byte
	Addr string
}

// SM holds the fields of a submit_sm or deliver_sm to originate (they share one
// layout). ShortMessage is the user data, UDH included when EsmClass has UDHI.
type SM struct {
	ServiceType          string
	Source               Addr
	Dest                 Addr
	EsmClass             byte
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	SMDefaultMsgID       byte
	ShortMessage         []byte
	TLVs                 []TLV
}

// AppendSubmitSM appends a submit_sm.
func AppendSubmitSM(dst []byte, seq uint32, m *SM) ([]byte, error) {
	return appendSM(dst, SubmitSM, seq, m)
}

// AppendDeliverSM appends a deliver_sm.
func AppendDeliverSM(dst []byte, seq uint32, m *SM) ([]byte, error) {
	return appendSM(dst, DeliverSM, seq, m)
}

func appendSM(dst []byte, id CommandID, seq uint32, m *SM) ([]byte, error) {
	if len(m.ShortMessage) > MaxShortMessage {
		return dst, ErrBuildSMTooLong
	}
	if !fits(m.ServiceType, maxServiceType) || !fits(m.Source.Addr, maxAddr21) ||
		!fits(m.Dest.Addr, maxAddr21) || !fits(m.ScheduleDeliveryTime, maxTime) ||
		!fits(m.ValidityPeriod, maxTime) {
		return dst, ErrBuildField
	}
	for _, t := range m.TLVs {
		if len(t.Value) > 0xFFFF { // the TLV length field has 16 bits
			return dst, ErrBuildField
		}
	}
	w := Begin(dst, id, ESME_ROK, seq)
	w.CString(m.ServiceType).
		Address(m.Source.TON, m.Source.NPI, m.Source.Addr).
		Address(m.Dest.TON, m.Dest.NPI, m.Dest.Addr).
		Byte(m.EsmClass).Byte(m.ProtocolID).Byte(m.PriorityFlag).
		CString(m.ScheduleDeliveryTime).CString(m.ValidityPeriod).
		Byte(m.RegisteredDelivery).Byte(m.ReplaceIfPresent).Byte(m.DataCoding).Byte(m.SMDefaultMsgID).
		Byte(byte(len(m.ShortMessage))).Octets(m.ShortMessage)
	for _, t := range m.TLVs {
		w.TLV(t.Tag, t.Value)
	}
	return w.End(), nil
}

// message_state values (SMPP v3.4 section 5.2.28), the value of the
// message_state TLV of a receipt.
const (
	StateEnroute       byte = 1
	StateDelivered     byte = 2
	StateExpired       byte = 3
	StateDeleted       byte = 4
	StateUndeliverable byte = 5
	StateAccepted      byte = 6
	StateUnknown       byte = 7
	StateRejected      byte = 8
)

// ReceiptPDU holds what optguard puts in a delivery receipt it originates to
// an ESME (for a held message that was refused or expired).
type ReceiptPDU struct {
	ServiceType string
	Source      Addr    // the handset: the destination of the message the receipt is for
	Dest        Addr    // the ESME's sender: the source of that message
	Receipt     Receipt // the text; Receipt.ID is the id the ESME was given
	// MessageState is the message_state TLV (StateRejected, StateExpired …).
	MessageState byte
	// NetworkErrorCode is the network_error_code TLV (network type, then a
	// two-octet error code) when not nil; it must be 3 octets.
	NetworkErrorCode []byte
	TLVs             []TLV // more TLVs, after those above
}

// AppendReceipt appends a deliver_sm delivery receipt (esm_class 0x04) with
// the receipt text, receipted_message_id and message_state, and
// network_error_code when set. The text is sent in the GSM 03.38 default
// alphabet (data_coding 0, as SMSCs send receipts): its fields are letters,
// digits, spaces and ':', the same octets in ASCII, so ESMEs that read receipt
// text as ASCII read it right; a character of the text: field that the
// alphabet lacks is sent as '?'. The id must be valid for
// AppendReceiptWithID (letters, digits, '-', '.'), else ErrBuildField.
func AppendReceipt(dst []byte, seq uint32, r ReceiptPDU) ([]byte, error) {
	if !validReceiptID(r.Receipt.ID) || (r.NetworkErrorCode != nil && len(r.NetworkErrorCode) != 3) {
		return dst, ErrBuildField
	}
	var text, ud [2 * MaxShortMessage]byte
	sm := ud[:0]
	for _, c := range string(AppendReceiptText(text[:0], r.Receipt)) {
		switch e := gsm7Encode(c); {
		case e&gsm7One != 0:
			sm = append(sm, byte(e))
		case e&gsm7Ext2 != 0:
			sm = append(sm, gsm7Escape, byte(e))
		default:
			sm = append(sm, '?')
		}
	}
	var id [maxMessageID]byte
	var state [1]byte
	state[0] = r.MessageState
	tlvs := make([]TLV, 0, 3+len(r.TLVs))
	tlvs = append(tlvs,
		TLV{TagReceiptedMessageID, append(append(id[:0], r.Receipt.ID...), 0)},
		TLV{TagMessageState, state[:]})
	if r.NetworkErrorCode != nil {
		tlvs = append(tlvs, TLV{TagNetworkErrorCode, r.NetworkErrorCode})
	}
	tlvs = append(tlvs, r.TLVs...)
	return AppendDeliverSM(dst, seq, &SM{
		ServiceType:  r.ServiceType,
		Source:       r.Source,
		Dest:         r.Dest,
		EsmClass:     EsmClassReceipt,
		DataCoding:   CodingDefault,
		ShortMessage: sm,
		TLVs:         tlvs,
	})
}
