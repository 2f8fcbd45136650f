package pdu

import "strconv"

// CommandID is an SMPP command_id.
type CommandID uint32

// respBit is set in the command_id of every response PDU.
const respBit CommandID = 0x80000000

// SMPP v3.4 command ids (section 5.1.2.1).
const (
	GenericNack         CommandID = 0x80000000
	BindReceiver        CommandID = 0x00000001
	BindReceiverResp    CommandID = 0x80000001
	BindTransmitter     CommandID = 0x00000002
	BindTransmitterResp CommandID = 0x80000002
	QuerySM             CommandID = 0x00000003
	QuerySMResp         CommandID = 0x80000003
	SubmitSM            CommandID = 0x00000004
	SubmitSMResp        CommandID = 0x80000004
	DeliverSM           CommandID = 0x00000005
	DeliverSMResp       CommandID = 0x80000005
	Unbind              CommandID = 0x00000006
	UnbindResp          CommandID = 0x80000006
	ReplaceSM           CommandID = 0x00000007
	ReplaceSMResp       CommandID = 0x80000007
	CancelSM            CommandID = 0x00000008
	CancelSMResp        CommandID = 0x80000008
	BindTransceiver     CommandID = 0x00000009
	BindTransceiverResp CommandID = 0x80000009
	Outbind             CommandID = 0x0000000B
	EnquireLink         CommandID = 0x00000015
	EnquireLinkResp     CommandID = 0x80000015
	SubmitMulti         CommandID = 0x00000021
	SubmitMultiResp     CommandID = 0x80000021
	AlertNotification   CommandID = 0x00000102
	DataSM              CommandID = 0x00000103
	DataSMResp          CommandID = 0x80000103
)

// KnownCommands lists every command id of SMPP v3.4, requests and responses, in
// a fixed order; Index gives a command's position in it.
var KnownCommands = [...]CommandID{
	GenericNack,
	BindReceiver, BindReceiverResp,
	BindTransmitter, BindTransmitterResp,
	QuerySM, QuerySMResp,
	SubmitSM, SubmitSMResp,
	DeliverSM, DeliverSMResp,
	Unbind, UnbindResp,
	ReplaceSM, ReplaceSMResp,
	CancelSM, CancelSMResp,
	BindTransceiver, BindTransceiverResp,
	Outbind,
	EnquireLink, EnquireLinkResp,
	SubmitMulti, SubmitMultiResp,
	AlertNotification,
	DataSM, DataSMResp,
}

// NumCommandIndexes is the number of values Index returns: one per known
// command plus one shared by every unknown command id.
const NumCommandIndexes = len(KnownCommands) + 1

// Index returns the command's position in KnownCommands, or len(KnownCommands)
// for a command id SMPP v3.4 does not define. Counters use it to keep one slot
// per command in a fixed-size array.
func (c CommandID) Index() int {
	switch c {
	case GenericNack:
		return 0
	case BindReceiver:
		return 1
	case BindReceiverResp:
		return 2
	case BindTransmitter:
		return 3
	case BindTransmitterResp:
		return 4
	case QuerySM:
		return 5
	case QuerySMResp:
		return 6
	case SubmitSM:
		return 7
	case SubmitSMResp:
		return 8
	case DeliverSM:
		return 9
	case DeliverSMResp:
		return 10
	case Unbind:
		return 11
	case UnbindResp:
		return 12
	case ReplaceSM:
		return 13
	case ReplaceSMResp:
		return 14
	case CancelSM:
		return 15
	case CancelSMResp:
		return 16
	case BindTransceiver:
		return 17
	case BindTransceiverResp:
		return 18
	case Outbind:
		return 19
	case EnquireLink:
		return 20
	case EnquireLinkResp:
		return 21
	case SubmitMulti:
		return 22
	case SubmitMultiResp:
		return 23
	case AlertNotification:
		return 24
	case DataSM:
		return 25
	case DataSMResp:
		return 26
	}
	return len(KnownCommands)
}

// Known reports whether SMPP v3.4 defines the command id.
func (c CommandID) Known() bool { return c.Index() < len(KnownCommands) }

// IsResponse reports whether the command id is a response (generic_nack included).
func (c CommandID) IsResponse() bool { return c&respBit != 0 }

// Resp returns the response command id that answers request c.
func (c CommandID) Resp() CommandID { return c | respBit }

// Request returns the request command id that response c answers.
func (c CommandID) Request() CommandID { return c &^ respBit }

// IsBind reports whether c is one of the three bind requests.
func (c CommandID) IsBind() bool {
	return c == BindReceiver || c == BindTransmitter || c == BindTransceiver
}

// String returns the specification's name, e.g. "submit_sm", or the hex value
// for a command id it does not define.
func (c CommandID) String() string {
	switch c {
	case GenericNack:
		return "generic_nack"
	case BindReceiver:
		return "bind_receiver"
	case BindReceiverResp:
		return "bind_receiver_resp"
	case BindTransmitter:
		return "bind_transmitter"
	case BindTransmitterResp:
		return "bind_transmitter_resp"
	case QuerySM:
		return "query_sm"
	case QuerySMResp:
		return "query_sm_resp"
	case SubmitSM:
		return "submit_sm"
	case SubmitSMResp:
		return "submit_sm_resp"
	case DeliverSM:
		return "deliver_sm"
	case DeliverSMResp:
		return "deliver_sm_resp"
	case Unbind:
		return "unbind"
	case UnbindResp:
		return "unbind_resp"
	case ReplaceSM:
		return "replace_sm"
	case ReplaceSMResp:
		return "replace_sm_resp"
	case CancelSM:
		return "cancel_sm"
	case CancelSMResp:
		return "cancel_sm_resp"
	case BindTransceiver:
		return "bind_transceiver"
	case BindTransceiverResp:
		return "bind_transceiver_resp"
	case Outbind:
		return "outbind"
	case EnquireLink:
		return "enquire_link"
	case EnquireLinkResp:
		return "enquire_link_resp"
	case SubmitMulti:
		return "submit_multi"
	case SubmitMultiResp:
		return "submit_multi_resp"
	case AlertNotification:
		return "alert_notification"
	case DataSM:
		return "data_sm"
	case DataSMResp:
		return "data_sm_resp"
	}
	return "0x" + hex32(uint32(c))
}

// hex32 formats v as eight lower-case hex digits.
func hex32(v uint32) string {
	s := strconv.FormatUint(uint64(v), 16)
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}
