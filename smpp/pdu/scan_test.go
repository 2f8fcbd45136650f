package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// view names a []byte field of Message and the spec field it must equal.
type view struct {
	field   string // name in the spec
	cstring bool   // the spec field ends in a NUL that the view leaves out
	get     func(m *Message) []byte
}

// octet names a one-octet field of Message and the spec field it must equal.
type octet struct {
	field string
	get   func(m *Message) byte
}

var (
	vServiceType = view{"service_type", true, func(m *Message) []byte { return m.ServiceType }}
	vSource      = view{"source_addr", true, func(m *Message) []byte { return m.Source.Addr }}
	vDest        = view{"destination_addr", true, func(m *Message) []byte { return m.Dest.Addr }}
	vSched       = view{"schedule_delivery_time", true, func(m *Message) []byte { return m.ScheduleDeliveryTime }}
	vValidity    = view{"validity_period", true, func(m *Message) []byte { return m.ValidityPeriod }}
	vShortMsg    = view{"short_message", false, func(m *Message) []byte { return m.ShortMessage }}

	oSrcTON   = octet{"source_addr_ton", func(m *Message) byte { return m.Source.TON }}
	oSrcNPI   = octet{"source_addr_npi", func(m *Message) byte { return m.Source.NPI }}
	oDstTON   = octet{"dest_addr_ton", func(m *Message) byte { return m.Dest.TON }}
	oDstNPI   = octet{"dest_addr_npi", func(m *Message) byte { return m.Dest.NPI }}
	oEsm      = octet{"esm_class", func(m *Message) byte { return m.EsmClass }}
	oPID      = octet{"protocol_id", func(m *Message) byte { return m.ProtocolID }}
	oPrio     = octet{"priority_flag", func(m *Message) byte { return m.PriorityFlag }}
	oRegDel   = octet{"registered_delivery", func(m *Message) byte { return m.RegisteredDelivery }}
	oReplace  = octet{"replace_if_present_flag", func(m *Message) byte { return m.ReplaceIfPresent }}
	oDC       = octet{"data_coding", func(m *Message) byte { return m.DataCoding }}
	oDefMsgID = octet{"sm_default_msg_id", func(m *Message) byte { return m.SMDefaultMsgID }}
)

// msgVector is a hand-assembled message PDU and what Scan must find in it.
type msgVector struct {
	name    string
	hex     string
	id      CommandID
	seq     uint32
	views   []view
	octets  []octet
	tlvs    []string // spec fields holding the TLVs, in wire order
	receipt bool
	udh     bool
	// lastMandatory is the last mandatory field; smLength is true when the body
	// has sm_length/short_message (all but data_sm).
	lastMandatory string
	numDests      int
}

var smViews = []view{vServiceType, vSource, vDest, vSched, vValidity, vShortMsg}
var smOctets = []octet{oSrcTON, oSrcNPI, oDstTON, oDstNPI, oEsm, oPID, oPrio, oRegDel, oReplace, oDC, oDefMsgID}

var msgVectors = []msgVector{
	{
		name: "submit_sm binary UDH and vendor TLV", hex: hexSubmitSM, id: SubmitSM, seq: 42,
		views: smViews, octets: smOctets,
		tlvs: []string{"tlv_user_message_reference", "tlv_vendor_1400"},
		udh:  true, lastMandatory: "short_message",
	},
	{
		name: "deliver_sm MO", hex: hexDeliverMO, id: DeliverSM, seq: 7,
		views: smViews, octets: smOctets, lastMandatory: "short_message",
	},
	{
		name: "deliver_sm receipt", hex: hexDeliverReceipt, id: DeliverSM, seq: 8,
		views: smViews, octets: smOctets,
		tlvs:    []string{"tlv_receipted_message_id", "tlv_message_state"},
		receipt: true, lastMandatory: "short_message",
	},
	{
		name: "data_sm 65-octet addresses", hex: hexDataSM, id: DataSM, seq: 9,
		views:  []view{vServiceType, vSource, vDest},
		octets: []octet{oSrcTON, oSrcNPI, oDstTON, oDstNPI, oEsm, oRegDel, oDC},
		tlvs:   []string{"tlv_message_payload"}, lastMandatory: "data_coding",
	},
	{
		name: "submit_multi SME and DL destinations", hex: hexSubmitMulti, id: SubmitMulti, seq: 10,
		views:  []view{vServiceType, vSource, vSched, vValidity, vShortMsg},
		octets: []octet{oSrcTON, oSrcNPI, oEsm, oPID, oPrio, oRegDel, oReplace, oDC, oDefMsgID},
		tlvs:   []string{"tlv_user_message_reference"}, lastMandatory: "short_message", numDests: 3,
	},
}

func TestScanVectors(t *testing.T) {
	for _, v := range msgVectors {
		t.Run(v.name, func(t *testing.T) {
			s := mustPDU(t, v.hex)
			p := withSpareCap(s.raw())
			var m Message
			if err := Scan(p, &m); err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if m.ID != v.id || m.Seq != v.seq {
				t.Errorf("header: id %v seq %d, want %v %d", m.ID, m.Seq, v.id, v.seq)
			}
			for _, w := range v.views {
				want := s.get(t, w.field)
				if w.cstring {
					want = want[:len(want)-1]
				}
				wantView(t, w.field, p, w.get(&m), want, s.off(t, w.field))
			}
			for _, o := range v.octets {
				if got, want := o.get(&m), s.get(t, o.field)[0]; got != want {
					t.Errorf("%s = %#02x, want %#02x", o.field, got, want)
				}
			}
			// TLVs: the view covers exactly the TLV part, and iteration yields
			// each TLV with a value that aliases the PDU.
			tlvOff := len(p)
			if len(v.tlvs) > 0 {
				tlvOff = s.off(t, v.tlvs[0])
			}
			wantView(t, "TLVs", p, m.TLVs, p[tlvOff:], tlvOff)
			it := m.TLVs.Iter()
			for _, name := range v.tlvs {
				f := s.get(t, name)
				tag, val, ok := it.Next()
				if !ok {
					t.Fatalf("TLV %s missing", name)
				}
				if want := Tag(binary.BigEndian.Uint16(f)); tag != want {
					t.Errorf("TLV tag %#04x, want %#04x", tag, want)
				}
				wantView(t, name, p, val, f[4:], s.off(t, name)+4)
				if fv, ok := m.TLVs.Find(tag); !ok || !bytes.Equal(fv, f[4:]) {
					t.Errorf("Find(%#04x) = %q, %v", tag, fv, ok)
				}
			}
			if _, _, ok := it.Next(); ok {
				t.Error("TLV iterator yields more TLVs than the PDU has")
			}
			if m.IsReceipt() != v.receipt {
				t.Errorf("IsReceipt() = %v", m.IsReceipt())
			}
			if m.HasUDH() != v.udh {
				t.Errorf("HasUDH() = %v", m.HasUDH())
			}
			if m.NumDests != v.numDests {
				t.Errorf("NumDests = %d, want %d", m.NumDests, v.numDests)
			}
		})
	}
}

func TestScanSubmitSMUserDataIsUDHAndBinary(t *testing.T) {
	s := mustPDU(t, hexSubmitSM)
	p := s.raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		t.Fatal(err)
	}
	if m.DataCoding != 0x04 || m.EsmClass != 0x40 {
		t.Fatalf("data_coding %#x esm_class %#x", m.DataCoding, m.EsmClass)
	}
	udh, rest, err := SplitUDH(m.UserData())
	if err != nil {
		t.Fatal(err)
	}
	off := s.off(t, "short_message")
	wantView(t, "udh", p, udh, unhex(t, "050003a70201"), off)
	wantView(t, "rest", p, rest, unhex(t, "deadbeef00ff"), off+6)
	c, ok := ParseConcat(udh)
	if !ok || c != (Concat{Ref: 0xa7, Total: 2, Part: 1}) {
		t.Errorf("ParseConcat = %+v, %v", c, ok)
	}
	if _, err := DecodeText(m.DataCoding, rest); err != ErrBinaryData {
		t.Errorf("DecodeText of data_coding 4: %v, want ErrBinaryData", err)
	}
	if v, ok := m.TLVs.Find(0x1400); !ok || !bytes.Equal(v, []byte{0xaa, 0xbb, 0xcc}) {
		t.Errorf("vendor TLV 0x1400 = %x, %v", v, ok)
	}
}

func TestScanReceiptFields(t *testing.T) {
	s := mustPDU(t, hexDeliverReceipt)
	p := s.raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		t.Fatal(err)
	}
	id, ok := m.TLVs.Find(TagReceiptedMessageID)
	if !ok || string(id) != "4F2A\x00" {
		t.Errorf("receipted_message_id = %q, %v", id, ok)
	}
	st, ok := m.TLVs.Find(TagMessageState)
	if !ok || len(st) != 1 || st[0] != 2 {
		t.Errorf("message_state = %x, %v", st, ok)
	}
	v, off, ok := ReceiptField(m.ShortMessage, "stat")
	if !ok || string(v) != "DELIVRD" {
		t.Fatalf("stat = %q, %v", v, ok)
	}
	wantView(t, "stat", p, v, []byte("DELIVRD"), s.off(t, "short_message")+off)
}

func TestScanDataSMUserDataIsPayload(t *testing.T) {
	s := mustPDU(t, hexDataSM)
	p := s.raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		t.Fatal(err)
	}
	if m.ShortMessage != nil {
		t.Errorf("data_sm has no short_message, got %q", m.ShortMessage)
	}
	wantView(t, "UserData", p, m.UserData(), unhex(t, "00480069"), s.off(t, "tlv_message_payload")+4)
	if txt, err := DecodeText(m.DataCoding, m.UserData()); err != nil || txt != "Hi" {
		t.Errorf("text = %q, %v", txt, err)
	}
}

func TestScanSubmitMultiDests(t *testing.T) {
	s := mustPDU(t, hexSubmitMulti)
	p := s.raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		t.Fatal(err)
	}
	if m.Dest.Addr != nil {
		t.Errorf("submit_multi left Dest set: %q", m.Dest.Addr)
	}
	want := []struct {
		flag     byte
		ton, npi byte
		addr     string // spec field of the address or DL name
	}{
		{DestSME, 1, 1, "dest1.destination_addr"},
		{DestDistributionList, 0, 0, "dest2.dl_name"},
		{DestSME, 0, 0, "dest3.destination_addr"},
	}
	it := m.Dests()
	for i, w := range want {
		d, ok := it.Next()
		if !ok {
			t.Fatalf("destination %d missing", i+1)
		}
		if d.Flag != w.flag {
			t.Fatalf("dest %d flag %d, want %d", i+1, d.Flag, w.flag)
		}
		f := s.get(t, w.addr)
		if w.flag == DestSME {
			if d.Addr.TON != w.ton || d.Addr.NPI != w.npi || d.DLName != nil {
				t.Errorf("dest %d = %+v", i+1, d)
			}
			wantView(t, w.addr, p, d.Addr.Addr, f[:len(f)-1], s.off(t, w.addr))
		} else {
			if d.Addr.Addr != nil {
				t.Errorf("dest %d: DL with an address %q", i+1, d.Addr.Addr)
			}
			wantView(t, w.addr, p, d.DLName, f[:len(f)-1], s.off(t, w.addr))
		}
	}
	if d, ok := it.Next(); ok {
		t.Errorf("fourth destination %+v", d)
	}
	if _, ok := it.Next(); ok {
		t.Error("iterator restarted after its end")
	}
}

// maxCase is a C-octet string field and its maximum length, NUL included.
type maxCase struct {
	hex, field string
	max        int
	err        *StatusError
}

var messageMaxCases = []maxCase{
	{hexSubmitSM, "service_type", 6, ErrServiceType},
	{hexSubmitSM, "source_addr", 21, ErrSourceAddr},
	{hexSubmitSM, "destination_addr", 21, ErrDestAddr},
	{hexSubmitSM, "schedule_delivery_time", 17, ErrScheduleTime},
	{hexSubmitSM, "validity_period", 17, ErrValidityPeriod},
	{hexDeliverMO, "service_type", 6, ErrServiceType},
	{hexDeliverMO, "source_addr", 21, ErrSourceAddr},
	{hexDeliverMO, "destination_addr", 21, ErrDestAddr},
	{hexDeliverMO, "schedule_delivery_time", 17, ErrScheduleTime},
	{hexDeliverMO, "validity_period", 17, ErrValidityPeriod},
	{hexDataSM, "service_type", 6, ErrServiceType},
	{hexDataSM, "source_addr", 65, ErrSourceAddr},
	{hexDataSM, "destination_addr", 65, ErrDestAddr},
	{hexSubmitMulti, "service_type", 6, ErrServiceType},
	{hexSubmitMulti, "source_addr", 21, ErrSourceAddr},
	{hexSubmitMulti, "dest1.destination_addr", 21, ErrDestAddr},
	{hexSubmitMulti, "dest2.dl_name", 21, ErrDLName},
	{hexSubmitMulti, "dest3.destination_addr", 21, ErrDestAddr},
	{hexSubmitMulti, "schedule_delivery_time", 17, ErrScheduleTime},
	{hexSubmitMulti, "validity_period", 17, ErrValidityPeriod},
}

func vectorName(t testing.TB, hex string) string {
	s := parseHex(t, hex)
	return CommandID(binary.BigEndian.Uint32(s.get(t, "command_id"))).String()
}

func TestScanFieldMaxLength(t *testing.T) {
	for _, c := range messageMaxCases {
		s := mustPDU(t, c.hex)
		name := vectorName(t, c.hex) + "/" + c.field
		t.Run(name+"/at max is accepted", func(t *testing.T) {
			p := s.with(t, c.field, cstrN(c.max)).framed()
			var m Message
			if err := Scan(p, &m); err != nil {
				t.Fatalf("%d octets: %v", c.max, err)
			}
			if m.ID == SubmitMulti && strings.HasPrefix(c.field, "dest") {
				it := m.Dests()
				var found bool
				for d, ok := it.Next(); ok; d, ok = it.Next() {
					found = found || len(d.Addr.Addr) == c.max-1 || len(d.DLName) == c.max-1
				}
				if !found {
					t.Error("no destination with the longest value")
				}
			}
		})
		t.Run(name+"/one octet over max is refused", func(t *testing.T) {
			p := s.with(t, c.field, cstrN(c.max+1)).framed()
			var m Message
			wantStatusErr(t, Scan(p, &m), c.err)
		})
		t.Run(name+"/no NUL within max is refused", func(t *testing.T) {
			// The whole rest of the PDU without a NUL: refused as too long,
			// not read past.
			p := s.upTo(t, c.field).plus(fld{"x", bytes.Repeat([]byte{'9'}, c.max+5)}).framed()
			var m Message
			wantStatusErr(t, Scan(p, &m), c.err)
		})
	}
}

func TestScanTruncatedInsideEveryMandatoryField(t *testing.T) {
	for _, v := range msgVectors {
		s := mustPDU(t, v.hex)
		full := s.raw()
		end := s.off(t, v.lastMandatory) + len(s.get(t, v.lastMandatory))
		smLenOff := -1
		if v.lastMandatory == "short_message" {
			smLenOff = s.off(t, "sm_length")
		}
		t.Run(v.name, func(t *testing.T) {
			for k := HeaderLen; k < end; k++ {
				p := append([]byte(nil), full[:k]...)
				binary.BigEndian.PutUint32(p, uint32(k))
				var m Message
				err := Scan(p, &m)
				want := ErrTruncated
				if smLenOff >= 0 && k > smLenOff {
					want = ErrSMLength // sm_length read, short_message cut
				}
				var se *StatusError
				if !errors.As(err, &se) || se != want {
					t.Fatalf("cut after %d octets (inside field at %d): %v, want %v", k, k, err, want)
				}
			}
			// Cut exactly after the mandatory fields: a valid PDU without TLVs.
			p := append([]byte(nil), full[:end]...)
			binary.BigEndian.PutUint32(p, uint32(end))
			var m Message
			if err := Scan(p, &m); err != nil || len(m.TLVs) != 0 {
				t.Fatalf("mandatory fields only: %v, TLVs %x", err, m.TLVs)
			}
		})
	}
}

func TestScanShortMessageLength(t *testing.T) {
	base := mustPDU(t, hexDeliverMO)
	tests := []struct {
		name  string
		smLen byte
		data  []byte
		err   *StatusError
	}{
		{"254 octets is the maximum", 254, bytes.Repeat([]byte{'a'}, 254), nil},
		{"0 octets", 0, nil, nil},
		{"255 refused even when present", 255, bytes.Repeat([]byte{'a'}, 255), ErrSMTooLong},
		{"one past the end", 5, []byte("STOP"), ErrSMLength},
		{"past the end with nothing after", 1, nil, ErrSMLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base.with(t, "sm_length", []byte{tc.smLen}).with(t, "short_message", tc.data).framed()
			var m Message
			err := Scan(p, &m)
			if tc.err != nil {
				wantStatusErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantView(t, "short_message", p, m.ShortMessage, tc.data, base.off(t, "short_message"))
		})
	}
}

func TestScanNumberOfDests(t *testing.T) {
	base := mustPDU(t, hexSubmitMulti)
	dests := func(n int) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, DestDistributionList, 'L', byte('0'+i%10), 0)
		}
		return b
	}
	withDests := func(t *testing.T, n byte, list []byte) []byte {
		s := base.upTo(t, "number_of_dests").plus(fld{"number_of_dests", []byte{n}}, fld{"dests", list})
		return s.plus(base[base.index(t, "esm_class"):]...).framed()
	}
	t.Run("254 destinations accepted and all iterated", func(t *testing.T) {
		p := withDests(t, 254, dests(254))
		var m Message
		if err := Scan(p, &m); err != nil {
			t.Fatal(err)
		}
		n := 0
		for it := m.Dests(); ; n++ {
			d, ok := it.Next()
			if !ok {
				break
			}
			if d.Flag != DestDistributionList || len(d.DLName) != 2 {
				t.Fatalf("dest %d = %+v", n, d)
			}
		}
		if m.NumDests != 254 || n != 254 {
			t.Fatalf("NumDests %d, iterated %d", m.NumDests, n)
		}
	})
	for _, tc := range []struct {
		name string
		n    byte
		list []byte
		err  *StatusError
	}{
		{"0 destinations", 0, nil, ErrNumDests},
		{"255 destinations", 255, dests(255), ErrNumDests},
		{"dest_flag 0", 1, []byte{0, 1, 1, '1', 0}, ErrDestFlag},
		{"dest_flag 3", 1, []byte{3, 'L', 0}, ErrDestFlag},
		{"dest_flag 0xff after a good one", 2, append(dests(1), 0xff), ErrDestFlag},
		{"dl_name too long", 1, append([]byte{DestDistributionList}, cstrN(22)...), ErrDLName},
		{"SME address too long", 1, append([]byte{DestSME, 1, 1}, cstrN(22)...), ErrDestAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			wantStatusErr(t, Scan(withDests(t, tc.n, tc.list), &m), tc.err)
		})
	}
	t.Run("list cut inside a destination", func(t *testing.T) {
		for _, list := range [][]byte{{DestSME}, {DestSME, 1}, {DestSME, 1, 1}, {DestSME, 1, 1, '1'}, {DestDistributionList, 'L'}} {
			p := pduBytes(SubmitMulti, 0, 1, []byte{0}, []byte{1, 1}, cstr("1"), []byte{1}, list)
			var m Message
			wantStatusErr(t, Scan(p, &m), ErrTruncated)
		}
	})
}

func TestScanTLVErrors(t *testing.T) {
	base := mustPDU(t, hexDeliverMO)
	tests := []struct {
		name string
		tail []byte
		err  *StatusError
	}{
		{"one stray octet", []byte{0x02}, ErrTLVHeader},
		{"tag only", []byte{0x02, 0x04}, ErrTLVHeader},
		{"three octets of header", []byte{0x02, 0x04, 0x00}, ErrTLVHeader},
		{"value one past the end", []byte{0x02, 0x04, 0x00, 0x02, 0x01}, ErrTLVLength},
		{"length 0xffff", []byte{0x02, 0x04, 0xff, 0xff, 0x01}, ErrTLVLength},
		{"good TLV then truncated header", []byte{0x02, 0x04, 0x00, 0x01, 0x01, 0x00}, ErrTLVHeader},
		{"good TLV then value past end", []byte{0x02, 0x04, 0x00, 0x01, 0x01, 0x00, 0x05, 0x00, 0x09}, ErrTLVLength},
		{"zero-length TLV is fine", []byte{0x14, 0x00, 0x00, 0x00}, nil},
		{"value exactly to the end", []byte{0x04, 0x24, 0x00, 0x02, 'h', 'i'}, nil},
	}
	for _, tc := range tests {
		t.Run("Scan/"+tc.name, func(t *testing.T) {
			p := base.plus(fld{"tlvs", tc.tail}).framed()
			var m Message
			err := Scan(p, &m)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				wantView(t, "TLVs", p, m.TLVs, tc.tail, len(base.raw()))
				return
			}
			wantStatusErr(t, err, tc.err)
		})
		t.Run("CheckTLVs/"+tc.name, func(t *testing.T) {
			err := CheckTLVs(tc.tail)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantStatusErr(t, err, tc.err)
		})
	}
	if err := CheckTLVs(nil); err != nil {
		t.Errorf("CheckTLVs(nil) = %v", err)
	}
}

func TestScanHeaderErrors(t *testing.T) {
	good := mustPDU(t, hexDeliverMO).raw()
	lenPlus := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(lenPlus, uint32(len(good)+1))
	lenMinus := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(lenMinus, uint32(len(good)-1))
	withID := func(id CommandID) []byte {
		p := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(p[4:], uint32(id))
		return p
	}
	tests := []struct {
		name string
		p    []byte
		err  *StatusError
	}{
		{"empty", nil, ErrTruncated},
		{"15 octets", good[:15], ErrTruncated},
		{"command_length one more than the octets", lenPlus, ErrLengthMismatch},
		{"command_length one less than the octets", lenMinus, ErrLengthMismatch},
		{"enquire_link", AppendEnquireLink(nil, 1), ErrNotMessage},
		{"deliver_sm_resp", withID(DeliverSMResp), ErrNotMessage},
		{"replace_sm", withID(ReplaceSM), ErrNotMessage},
		{"unknown id", withID(0x00010000), ErrNotMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			wantStatusErr(t, Scan(tc.p, &m), tc.err)
		})
	}
}

func TestScanResetsMessage(t *testing.T) {
	var m Message
	if err := Scan(mustPDU(t, hexSubmitMulti).raw(), &m); err != nil {
		t.Fatal(err)
	}
	if err := Scan(mustPDU(t, hexDeliverMO).raw(), &m); err != nil {
		t.Fatal(err)
	}
	if m.NumDests != 0 || len(m.TLVs) != 0 {
		t.Errorf("fields of the previous PDU left: NumDests %d TLVs %x", m.NumDests, m.TLVs)
	}
	if it := m.Dests(); func() bool { _, ok := it.Next(); return ok }() {
		t.Error("deliver_sm yields submit_multi destinations of the previous scan")
	}
	m.Reset()
	if m.ID != 0 || m.ShortMessage != nil {
		t.Errorf("Reset left %+v", m)
	}
}

func TestMessageTypeBits(t *testing.T) {
	tests := []struct {
		esm          byte
		receipt, udh bool
	}{
		{0x00, false, false},
		{0x03, false, false}, // messaging mode bits only
		{0x04, true, false},  // SMSC delivery receipt
		{0x08, true, false},  // SME delivery acknowledgement
		{0x10, true, false},  // SME manual/user acknowledgement
		{0x20, true, false},  // intermediate delivery notification
		{0x40, false, true},  // UDHI
		{0x44, true, true},
		{0x80, false, false}, // reply path
	}
	for _, tc := range tests {
		m := Message{EsmClass: tc.esm}
		if m.IsReceipt() != tc.receipt || m.HasUDH() != tc.udh {
			t.Errorf("esm_class %#02x: IsReceipt %v HasUDH %v, want %v %v", tc.esm, m.IsReceipt(), m.HasUDH(), tc.receipt, tc.udh)
		}
	}
}

func TestTLVsFindAndIter(t *testing.T) {
	tl := TLVs(unhex(t, "0204 0002 0001  0424 0000  0204 0001 ff  1400 0003 aabbcc"))
	tests := []struct {
		tag  Tag
		want []byte
		ok   bool
	}{
		{TagUserMessageReference, []byte{0, 1}, true}, // first of two
		{TagMessagePayload, []byte{}, true},           // present and empty
		{0x1400, []byte{0xaa, 0xbb, 0xcc}, true},
		{TagMessageState, nil, false},
	}
	for _, tc := range tests {
		v, ok := tl.Find(tc.tag)
		if ok != tc.ok || !bytes.Equal(v, tc.want) {
			t.Errorf("Find(%#04x) = %x, %v; want %x, %v", tc.tag, v, ok, tc.want, tc.ok)
		}
	}
	var tags []Tag
	for it := tl.Iter(); ; {
		tag, _, ok := it.Next()
		if !ok {
			break
		}
		tags = append(tags, tag)
	}
	if want := []Tag{0x0204, 0x0424, 0x0204, 0x1400}; !equalTags(tags, want) {
		t.Errorf("Iter tags %x, want %x", tags, want)
	}
	t.Run("malformed tail ends the iteration", func(t *testing.T) {
		for _, b := range [][]byte{unhex(t, "0204 0002 0001 02"), unhex(t, "0204 0009 0001")} {
			it := TLVs(b).Iter()
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
				if n > len(b) {
					t.Fatal("iteration does not end")
				}
			}
			if _, _, ok := it.Next(); ok {
				t.Error("Next after the end yields a TLV")
			}
		}
	})
}

func equalTags(a, b []Tag) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDestIterStopsAtMalformedList(t *testing.T) {
	// A scanned Message never holds such a list; the iterator must still stop.
	for _, list := range [][]byte{{DestSME, 1}, {9}, {DestDistributionList, 'a'}, {DestSME, 1, 1, 'a', 0, 7}} {
		m := Message{dests: list}
		it := m.Dests()
		for i := 0; ; i++ {
			if _, ok := it.Next(); !ok {
				break
			}
			if i > len(list) {
				t.Fatalf("list %x: iteration does not end", list)
			}
		}
	}
}

func TestParseBind(t *testing.T) {
	s := mustPDU(t, hexBindTRX)
	for _, id := range []CommandID{BindTransceiver, BindTransmitter, BindReceiver} {
		t.Run(id.String()+" fields alias the PDU", func(t *testing.T) {
			s := s.with(t, "command_id", binary.BigEndian.AppendUint32(nil, uint32(id)))
			p := withSpareCap(s.raw())
			b, err := ParseBind(p)
			if err != nil {
				t.Fatal(err)
			}
			if b.ID != id {
				t.Errorf("ID %v", b.ID)
			}
			for _, f := range []struct {
				name string
				v    []byte
			}{{"system_id", b.SystemID}, {"password", b.Password}, {"system_type", b.SystemType}, {"address_range", b.AddressRange}} {
				want := s.get(t, f.name)
				wantView(t, f.name, p, f.v, want[:len(want)-1], s.off(t, f.name))
			}
			if b.InterfaceVersion != 0x34 || b.AddrTON != 1 || b.AddrNPI != 1 {
				t.Errorf("octets %#x %d %d", b.InterfaceVersion, b.AddrTON, b.AddrNPI)
			}
		})
	}
	for _, c := range []struct {
		field string
		max   int
		err   *StatusError
	}{
		{"system_id", 16, ErrSystemID},
		{"password", 9, ErrPassword},
		{"system_type", 13, ErrSystemType},
		{"address_range", 41, ErrAddressRange},
	} {
		t.Run(c.field+" at max is accepted", func(t *testing.T) {
			if _, err := ParseBind(s.with(t, c.field, cstrN(c.max)).framed()); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(c.field+" one octet over max is refused", func(t *testing.T) {
			_, err := ParseBind(s.with(t, c.field, cstrN(c.max+1)).framed())
			wantStatusErr(t, err, c.err)
		})
	}
	t.Run("truncated inside every field", func(t *testing.T) {
		full := s.raw()
		for k := HeaderLen; k < len(full); k++ {
			p := append([]byte(nil), full[:k]...)
			binary.BigEndian.PutUint32(p, uint32(k))
			_, err := ParseBind(p)
			wantStatusErr(t, err, ErrTruncated)
		}
	})
	t.Run("header errors", func(t *testing.T) {
		full := s.raw()
		_, err := ParseBind(full[:15])
		wantStatusErr(t, err, ErrTruncated)
		_, err = ParseBind(AppendEnquireLink(nil, 1))
		wantStatusErr(t, err, ErrNotBind)
		_, err = ParseBind(s.with(t, "command_id", unhex(t, "80000009")).raw())
		wantStatusErr(t, err, ErrNotBind)
		_, err = ParseBind(append(full[:len(full):len(full)], 0))
		wantStatusErr(t, err, ErrLengthMismatch)
	})
}

func TestParseMessageIDResp(t *testing.T) {
	tests := []struct {
		name     string
		hex      string
		id       string // spec field of the message_id; "" for none
		restFrom string // spec field where rest starts; "" for empty
	}{
		{"submit_sm_resp", hexSubmitSMResp, "message_id", ""},
		{"submit_sm_resp header-only error", hexSubmitSMRespErr, "", ""},
		{"data_sm_resp with TLV", hexDataSMResp, "message_id", "tlv_delivery_failure_reason"},
		{"bind_transceiver_resp with sc_interface_version", hexBindTRXResp, "system_id", "tlv_sc_interface_version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustPDU(t, tc.hex)
			p := withSpareCap(s.raw())
			id, rest, err := ParseMessageIDResp(p)
			if err != nil {
				t.Fatal(err)
			}
			if tc.id == "" {
				if id != nil || rest != nil {
					t.Errorf("header-only: id %q rest %x", id, rest)
				}
				return
			}
			f := s.get(t, tc.id)
			wantView(t, "message_id", p, id, f[:len(f)-1], s.off(t, tc.id))
			if tc.restFrom == "" {
				if len(rest) != 0 {
					t.Errorf("rest %x", rest)
				}
				return
			}
			wantView(t, "rest", p, rest, p[s.off(t, tc.restFrom):], s.off(t, tc.restFrom))
			if v, ok := TLVs(rest).Find(Tag(binary.BigEndian.Uint16(s.get(t, tc.restFrom)))); !ok || len(v) != 1 {
				t.Errorf("TLV in rest: %x %v", v, ok)
			}
		})
	}
	t.Run("deliver_sm_resp and submit_multi_resp", func(t *testing.T) {
		p := pduBytes(DeliverSMResp, 0, 3, []byte{0})
		if id, rest, err := ParseMessageIDResp(p); err != nil || len(id) != 0 || len(rest) != 0 {
			t.Errorf("deliver_sm_resp: %q %x %v", id, rest, err)
		}
		p = pduBytes(SubmitMultiResp, 0, 3, cstr("m1"), []byte{1, 1, 1}, cstr("5"), unhex(t, "00000045"))
		id, rest, err := ParseMessageIDResp(p)
		if err != nil || string(id) != "m1" || !bytes.Equal(rest, unhex(t, "01 01 01 3500 00000045")) {
			t.Errorf("submit_multi_resp: %q %x %v", id, rest, err)
		}
	})
	for _, tc := range []struct {
		name string
		p    []byte
		err  *StatusError
	}{
		{"message_id at 65 octets", pduBytes(SubmitSMResp, 0, 1, cstrN(65)), nil},
		{"message_id at 66 octets", pduBytes(SubmitSMResp, 0, 1, cstrN(66)), ErrMessageID},
		{"data_sm_resp message_id at 66 octets", pduBytes(DataSMResp, 0, 1, cstrN(66)), ErrMessageID},
		{"bind_resp system_id at 16 octets", pduBytes(BindTransmitterResp, 0, 1, cstrN(16)), nil},
		{"bind_resp system_id at 17 octets", pduBytes(BindReceiverResp, 0, 1, cstrN(17)), ErrSystemID},
		{"message_id without NUL", pduBytes(SubmitSMResp, 0, 1, []byte("abc")), ErrTruncated},
		{"15 octets", pduBytes(SubmitSMResp, 0, 1)[:15], ErrTruncated},
		{"not a response with a message_id", AppendEnquireLinkResp(nil, 1), ErrNotMessageIDRes},
		{"a request", pduBytes(SubmitSM, 0, 1), ErrNotMessageIDRes},
		{"generic_nack", AppendGenericNack(nil, ESME_RINVCMDLEN, 1), ErrNotMessageIDRes},
		{"command_length mismatch", append(pduBytes(SubmitSMResp, 0, 1, cstr("a")), 0), ErrLengthMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseMessageIDResp(tc.p)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantStatusErr(t, err, tc.err)
		})
	}
}

func TestStatusErrorsCarryTheirStatus(t *testing.T) {
	tests := []struct {
		err  *StatusError
		want Status
	}{
		{ErrLengthTooShort, ESME_RINVCMDLEN},
		{ErrLengthTooLong, ESME_RINVCMDLEN},
		{ErrNotMessage, ESME_RINVCMDID},
		{ErrLengthMismatch, ESME_RINVCMDLEN},
		{ErrTruncated, ESME_RINVCMDLEN},
		{ErrServiceType, ESME_RINVSERTYP},
		{ErrSourceAddr, ESME_RINVSRCADR},
		{ErrDestAddr, ESME_RINVDSTADR},
		{ErrScheduleTime, ESME_RINVSCHED},
		{ErrValidityPeriod, ESME_RINVEXPIRY},
		{ErrSMLength, ESME_RINVMSGLEN},
		{ErrSMTooLong, ESME_RINVMSGLEN},
		{ErrNumDests, ESME_RINVNUMDESTS},
		{ErrDestFlag, ESME_RINVDESTFLAG},
		{ErrDLName, ESME_RINVDLNAME},
		{ErrSystemID, ESME_RINVSYSID},
		{ErrPassword, ESME_RINVPASWD},
		{ErrSystemType, ESME_RINVSYSTYP},
		{ErrAddressRange, ESME_RBINDFAIL},
		{ErrMessageID, ESME_RINVMSGID},
		{ErrNotBind, ESME_RINVCMDID},
		{ErrNotMessageIDRes, ESME_RINVCMDID},
		{ErrTLVHeader, ESME_RINVOPTPARSTREAM},
		{ErrTLVLength, ESME_RINVPARLEN},
	}
	for _, tc := range tests {
		if tc.err.Status != tc.want {
			t.Errorf("%v: status %v, want %v", tc.err, tc.err.Status, tc.want)
		}
		if msg := tc.err.Error(); !strings.HasPrefix(msg, "pdu: ") || !strings.Contains(msg, tc.want.String()) {
			t.Errorf("Error() = %q", msg)
		}
	}
}
