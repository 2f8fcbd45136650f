package pdu

// Maximum lengths of C-octet strings, terminating NUL included (SMPP v3.4 section 4).
const (
	maxServiceType  = 6
	maxAddr21       = 21 // source_addr / destination_addr of submit_sm, deliver_sm, submit_multi
	maxAddr65       = 65 // source_addr / destination_addr of data_sm
	maxTime         = 17 // schedule_delivery_time, validity_period
	maxDLName       = 21
	maxMessageID    = 65
	maxSystemID     = 16
	maxPassword     = 9
	maxSystemType   = 13
	maxAddressRange = 41
	// MaxShortMessage is the largest sm_length the specification allows.
	MaxShortMessage = 254
	// MaxDests is the largest number_of_dests of a submit_multi.
	MaxDests = 254
)

// Scan errors. Each carries the command_status a conforming SMSC would answer.
var (
	ErrNotMessage      = statusErr(ESME_RINVCMDID, "not a submit_sm, deliver_sm, data_sm or submit_multi")
	ErrLengthMismatch  = statusErr(ESME_RINVCMDLEN, "command_length differs from the PDU's size")
	ErrTruncated       = statusErr(ESME_RINVCMDLEN, "body ends inside a mandatory field")
	ErrServiceType     = statusErr(ESME_RINVSERTYP, "service_type too long")
	ErrSourceAddr      = statusErr(ESME_RINVSRCADR, "source_addr too long")
	ErrDestAddr        = statusErr(ESME_RINVDSTADR, "destination_addr too long")
	ErrScheduleTime    = statusErr(ESME_RINVSCHED, "schedule_delivery_time too long")
	ErrValidityPeriod  = statusErr(ESME_RINVEXPIRY, "validity_period too long")
	ErrSMLength        = statusErr(ESME_RINVMSGLEN, "sm_length runs past the end of the body")
	ErrSMTooLong       = statusErr(ESME_RINVMSGLEN, "sm_length above 254")
	ErrNumDests        = statusErr(ESME_RINVNUMDESTS, "number_of_dests is 0 or above 254")
	ErrDestFlag        = statusErr(ESME_RINVDESTFLAG, "dest_flag is neither 1 nor 2")
	ErrDLName          = statusErr(ESME_RINVDLNAME, "dl_name too long")
	ErrSystemID        = statusErr(ESME_RINVSYSID, "system_id too long")
	ErrPassword        = statusErr(ESME_RINVPASWD, "password too long")
	ErrSystemType      = statusErr(ESME_RINVSYSTYP, "system_type too long")
	ErrAddressRange    = statusErr(ESME_RBINDFAIL, "address_range too long")
	ErrMessageID       = statusErr(ESME_RINVMSGID, "message_id too long")
	ErrNotBind         = statusErr(ESME_RINVCMDID, "not a bind")
	ErrNotMessageIDRes = statusErr(ESME_RINVCMDID, "not a response carrying a message_id")
)

// Address is a type of number, numbering plan indicator and address.
type Address struct {
	TON  byte
	NPI  byte
	Addr []byte // without the terminating NUL
}

// Message is a read-only view of a submit_sm, deliver_sm, data_sm or
// submit_multi: every []byte is a sub-slice of the scanned PDU, valid only as long
// as the PDU's bytes are. Fields a command does not have are left zero (data_sm has
// no short_message; submit_multi has destinations instead of Dest).
type Message struct {
	ID  CommandID
	Seq uint32

	ServiceType          []byte
	Source               Address
	Dest                 Address
	EsmClass             byte
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDeliveryTime []byte
	ValidityPeriod       []byte
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	SMDefaultMsgID       byte
	ShortMessage         []byte
	TLVs                 TLVs

	// NumDests is number_of_dests of a submit_multi; Dests walks them.
	NumDests int
	dests    []byte
}

// esm_class bits (section 5.2.12).
const (
	// EsmClassTypeMask selects the message-type bits: 0 is a normal message;
	// 0x04 SMSC delivery receipt, 0x08 SME delivery acknowledgement, 0x10 SME
	// manual/user acknowledgement, 0x20 intermediate delivery notification.
	EsmClassTypeMask byte = 0x3C
	EsmClassReceipt  byte = 0x04
	// EsmClassUDHI says short_message (or message_payload) starts with a UDH.
	EsmClassUDHI byte = 0x40
)

// IsReceipt reports whether the message is a delivery receipt or an
// acknowledgement rather than a mobile-originated message.
func (m *Message) IsReceipt() bool { return m.EsmClass&EsmClassTypeMask != 0 }

// HasUDH reports whether the user data starts with a user data header.
func (m *Message) HasUDH() bool { return m.EsmClass&EsmClassUDHI != 0 }

// UserData returns the message's user data: the message_payload TLV when there
// is one, else short_message.
func (m *Message) UserData() []byte {
	if v, ok := m.TLVs.Find(TagMessagePayload); ok {
		return v
	}
	return m.ShortMessage
}

// Reset clears m for reuse.
func (m *Message) Reset() { *m = Message{} }

// field reads the mandatory fields of a body in order, checking every length.
type field struct {
	b   []byte
	off int
}

// cstring reads a C-octet string of at most max octets, NUL included, and returns
// it without the NUL.
func (f *field) cstring(max int, tooLong *StatusError) ([]byte, error) {
	rest := f.b[f.off:]
	lim := rest
	if len(lim) > max {
		lim = lim[:max]
	}
	// A loop beats bytes.IndexByte on fields this short (at most 65 octets).
	for i, c := range lim {
		if c == 0 {
			f.off += i + 1
			return rest[:i:i], nil
		}
	}
	if len(rest) > len(lim) {
		return nil, tooLong
	}
	return nil, ErrTruncated
}

func (f *field) byte1() (byte, error) {
	if f.off >= len(f.b) {
		return 0, ErrTruncated
	}
	c := f.b[f.off]
	f.off++
	return c, nil
}

func (f *field) address(max int, tooLong *StatusError, a *Address) (err error) {
	if a.TON, err = f.byte1(); err != nil {
		return err
	}
	if a.NPI, err = f.byte1(); err != nil {
		return err
	}
	a.Addr, err = f.cstring(max, tooLong)
	return err
}

// Scan fills m with views of the fields of p, a whole framed submit_sm,
// deliver_sm, data_sm or submit_multi. It does not allocate. On error m is
// partly filled and must not be used; the error is a *StatusError.
func Scan(p []byte, m *Message) error {
	off, err := ScanAddrs(p, m)
	if err != nil {
		return err
	}
	return ScanRest(p, m, off)
}

// ScanAddrs is the first part of Scan: the header, service_type, the source
// and the destination (a submit_multi's whole list). It returns the offset
// of the next field, for ScanRest, which completes m; until then only m's
// header fields, ServiceType, Source and Dest (or the destination list) are
// set. Between the two the proxy starts loading the consent index line of
// the destination, so that it arrives while the rest is scanned.
func ScanAddrs(p []byte, m *Message) (int, error) {
	*m = Message{}
	h, err := ParseHeader(p)
	if err != nil {
		return 0, ErrTruncated
	}
	if int64(h.Length) != int64(len(p)) {
		return 0, ErrLengthMismatch
	}
	m.ID, m.Seq = h.ID, h.Seq
	f := field{b: p, off: HeaderLen}
	switch h.ID {
	case SubmitSM, DeliverSM:
		err = scanAddrs(&f, m, maxAddr21, false)
	case SubmitMulti:
		err = scanAddrs(&f, m, maxAddr21, true)
	case DataSM:
		err = scanAddrs(&f, m, maxAddr65, false)
	default:
		return 0, ErrNotMessage
	}
	return f.off, err
}

// ScanRest is the second part of Scan, from off, which ScanAddrs returned
// for the same p and m.
func ScanRest(p []byte, m *Message, off int) (err error) {
	f := field{b: p, off: off}
	switch m.ID {
	case SubmitSM, DeliverSM, SubmitMulti:
		err = scanShortMessage(&f, m)
	case DataSM:
		err = scanDataSM(&f, m)
	default:
		return ErrNotMessage
	}
	if err != nil {
		return err
	}
	if err := CheckTLVs(p[f.off:]); err != nil {
		return err
	}
	m.TLVs = TLVs(p[f.off:len(p):len(p)])
	return nil
}

// scanAddrs reads service_type, the source and the destination (or, for a
// submit_multi, the destination list) of every message command; max is the
// addresses' limit, NUL included.
func scanAddrs(f *field, m *Message, max int, multi bool) (err error) {
	if m.ServiceType, err = f.cstring(maxServiceType, ErrServiceType); err != nil {
		return err
	}
	if err = f.address(max, ErrSourceAddr, &m.Source); err != nil {
		return err
	}
	if multi {
		return scanDests(f, m)
	}
	return f.address(max, ErrDestAddr, &m.Dest)
}

// scanShortMessage reads what follows the addresses in the body shared by
// submit_sm, deliver_sm and submit_multi.
func scanShortMessage(f *field, m *Message) (err error) {
	if m.EsmClass, err = f.byte1(); err != nil {
		return err
	}
	if m.ProtocolID, err = f.byte1(); err != nil {
		return err
	}
	if m.PriorityFlag, err = f.byte1(); err != nil {
		return err
	}
	if m.ScheduleDeliveryTime, err = f.cstring(maxTime, ErrScheduleTime); err != nil {
		return err
	}
	if m.ValidityPeriod, err = f.cstring(maxTime, ErrValidityPeriod); err != nil {
		return err
	}
	if m.RegisteredDelivery, err = f.byte1(); err != nil {
		return err
	}
	if m.ReplaceIfPresent, err = f.byte1(); err != nil {
		return err
	}
	if m.DataCoding, err = f.byte1(); err != nil {
		return err
	}
	if m.SMDefaultMsgID, err = f.byte1(); err != nil {
		return err
	}
	n, err := f.byte1()
	if err != nil {
		return err
	}
	if int(n) > MaxShortMessage {
		return ErrSMTooLong
	}
	if int(n) > len(f.b)-f.off {
		return ErrSMLength
	}
	m.ShortMessage = f.b[f.off : f.off+int(n) : f.off+int(n)]
	f.off += int(n)
	return nil
}

// scanDests checks the destination list of a submit_multi and keeps it for Dests.
func scanDests(f *field, m *Message) error {
	n, err := f.byte1()
	if err != nil {
		return err
	}
	if n == 0 || int(n) > MaxDests {
		return ErrNumDests
	}
	start := f.off
	for i := 0; i < int(n); i++ {
		flag, err := f.byte1()
		if err != nil {
			return err
		}
		switch flag {
		case DestSME:
			var a Address
			if err := f.address(maxAddr21, ErrDestAddr, &a); err != nil {
				return err
			}
		case DestDistributionList:
			if _, err := f.cstring(maxDLName, ErrDLName); err != nil {
				return err
			}
		default:
			return ErrDestFlag
		}
	}
	m.NumDests = int(n)
	m.dests = f.b[start:f.off:f.off]
	return nil
}

// scanDataSM reads the mandatory fields of a data_sm after its addresses
// (section 4.7.1).
func scanDataSM(f *field, m *Message) (err error) {
	if m.EsmClass, err = f.byte1(); err != nil {
		return err
	}
	if m.RegisteredDelivery, err = f.byte1(); err != nil {
		return err
	}
	m.DataCoding, err = f.byte1()
	return err
}

// dest_flag values of a submit_multi destination.
const (
	DestSME              byte = 1
	DestDistributionList byte = 2
)

// Dest is one destination of a submit_multi: an SME address, or the name of a
// distribution list held by the SMSC.
type Dest struct {
	Flag   byte
	Addr   Address // when Flag is DestSME
	DLName []byte  // when Flag is DestDistributionList
}

// Dests returns an iterator over the destinations of a scanned submit_multi.
func (m *Message) Dests() DestIter { return DestIter{f: field{b: m.dests}} }

// DestIter walks the destinations of a submit_multi without allocating.
type DestIter struct{ f field }

// Next returns the next destination, or ok=false after the last one.
func (it *DestIter) Next() (d Dest, ok bool) {
	flag, err := it.f.byte1()
	if err != nil {
		return Dest{}, false
	}
	d.Flag = flag
	switch flag {
	case DestSME:
		err = it.f.address(maxAddr21, ErrDestAddr, &d.Addr)
	case DestDistributionList:
		d.DLName, err = it.f.cstring(maxDLName, ErrDLName)
	default:
		err = ErrDestFlag
	}
	if err != nil {
		it.f.off = len(it.f.b)
		return Dest{}, false
	}
	return d, true
}

// Bind is a read-only view of a bind_transmitter, bind_receiver or
// bind_transceiver body.
type Bind struct {
	ID               CommandID
	SystemID         []byte
	Password         []byte
	SystemType       []byte
	InterfaceVersion byte
	AddrTON          byte
	AddrNPI          byte
	AddressRange     []byte
}

// ParseBind reads a whole framed bind request without allocating.
func ParseBind(p []byte) (b Bind, err error) {
	h, err := ParseHeader(p)
	if err != nil {
		return b, ErrTruncated
	}
	if !h.ID.IsBind() {
		return b, ErrNotBind
	}
	if int64(h.Length) != int64(len(p)) {
		return b, ErrLengthMismatch
	}
	b.ID = h.ID
	f := field{b: p, off: HeaderLen}
	if b.SystemID, err = f.cstring(maxSystemID, ErrSystemID); err != nil {
		return b, err
	}
	if b.Password, err = f.cstring(maxPassword, ErrPassword); err != nil {
		return b, err
	}
	if b.SystemType, err = f.cstring(maxSystemType, ErrSystemType); err != nil {
		return b, err
	}
	if b.InterfaceVersion, err = f.byte1(); err != nil {
		return b, err
	}
	if b.AddrTON, err = f.byte1(); err != nil {
		return b, err
	}
	if b.AddrNPI, err = f.byte1(); err != nil {
		return b, err
	}
	b.AddressRange, err = f.cstring(maxAddressRange, ErrAddressRange)
	return b, err
}

// ParseMessageIDResp returns the message_id of a submit_sm_resp, data_sm_resp or
// submit_multi_resp, and the rest of the body after it. A response with a
// non-zero status may have no body at all: the id is then empty.
func ParseMessageIDResp(p []byte) (id []byte, rest []byte, err error) {
	h, err := ParseHeader(p)
	if err != nil {
		return nil, nil, ErrTruncated
	}
	switch h.ID {
	case SubmitSMResp, DataSMResp, SubmitMultiResp, DeliverSMResp, BindReceiverResp, BindTransmitterResp, BindTransceiverResp:
	default:
		return nil, nil, ErrNotMessageIDRes
	}
	if int64(h.Length) != int64(len(p)) {
		return nil, nil, ErrLengthMismatch
	}
	if len(p) == HeaderLen {
		return nil, nil, nil
	}
	f := field{b: p, off: HeaderLen}
	max := maxMessageID
	tooLong := ErrMessageID
	if h.ID.Request().IsBind() {
		max, tooLong = maxSystemID, ErrSystemID
	}
	if id, err = f.cstring(max, tooLong); err != nil {
		return nil, nil, err
	}
	return id, p[f.off:len(p):len(p)], nil
}
