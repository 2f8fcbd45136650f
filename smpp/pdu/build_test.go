package pdu

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Builders are checked against hand-written encodings (the vectors of
// vectors_test.go where there is one), then framed and parsed back.

func submitSMVector() *SM {
	return &SM{
		ServiceType:        "CMT",
		Source:             Addr{TON: 5, NPI: 0, Addr: "OptGuard"},
		Dest:               Addr{TON: 1, NPI: 1, Addr: "447700900123"},
		EsmClass:           EsmClassUDHI,
		PriorityFlag:       1,
		ValidityPeriod:     "000001000000000R",
		RegisteredDelivery: 1,
		DataCoding:         CodingBinary2,
		ShortMessage:       []byte{0x05, 0x00, 0x03, 0xa7, 0x02, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff},
		TLVs: []TLV{
			{Tag: TagUserMessageReference, Value: []byte{0x00, 0x01}},
			{Tag: 0x1400, Value: []byte{0xaa, 0xbb, 0xcc}},
		},
	}
}

func deliverMOVector() *SM {
	return &SM{
		Source:       Addr{TON: 1, NPI: 1, Addr: "15551234567"},
		Dest:         Addr{Addr: "12345"},
		ShortMessage: []byte("STOP"),
	}
}

func deliverReceiptVector() *SM {
	text := AppendReceiptText(nil, Receipt{
		ID: "4F2A", Sub: 1, Dlvrd: 1,
		SubmitDate: time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC),
		DoneDate:   time.Date(2026, 11, 23, 15, 31, 59, 0, time.UTC),
		Stat:       "DELIVRD", Err: 0, Text: "Hello",
	})
	return &SM{
		Source:       Addr{TON: 1, NPI: 1, Addr: "15551234567"},
		Dest:         Addr{Addr: "12345"},
		EsmClass:     EsmClassReceipt,
		ShortMessage: text,
		TLVs: []TLV{
			{Tag: TagReceiptedMessageID, Value: []byte("4F2A\x00")},
			{Tag: TagMessageState, Value: []byte{2}},
		},
	}
}

func bindTRXVector() BindRequest {
	return BindRequest{
		ID: BindTransceiver, SystemID: "optguard", Password: "secret", SystemType: "VMA",
		InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1, AddressRange: "^1555",
	}
}

// must returns a function that fails t when a builder returns an error, so
// that must(t)(AppendX(...)) reads as one expression.
func must(t testing.TB) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func TestBuildersMatchHandEncodings(t *testing.T) {
	tests := []struct {
		name string
		got  func(t *testing.T) []byte
		want string // annotated hex, or plain hex when it does not start with a newline
	}{
		{"submit_sm", func(t *testing.T) []byte { return must(t)(AppendSubmitSM(nil, 42, submitSMVector())) }, hexSubmitSM},
		{"deliver_sm MO", func(t *testing.T) []byte { return must(t)(AppendDeliverSM(nil, 7, deliverMOVector())) }, hexDeliverMO},
		{"deliver_sm receipt", func(t *testing.T) []byte { return must(t)(AppendDeliverSM(nil, 8, deliverReceiptVector())) }, hexDeliverReceipt},
		{"bind_transceiver", func(t *testing.T) []byte { return must(t)(AppendBind(nil, 1, bindTRXVector())) }, hexBindTRX},
		{"bind_transceiver_resp with sc_interface_version", func(t *testing.T) []byte {
			return AppendBindResp(nil, BindTransceiver, ESME_ROK, 1, "SMSC1", 0x34)
		}, hexBindTRXResp},
		{"bind_transmitter_resp without sc_interface_version", func(t *testing.T) []byte {
			return AppendBindResp(nil, BindTransmitter, ESME_ROK, 2, "SMSC1", 0)
		}, "00000016 80000002 00000000 00000002 534d53433100"},
		{"submit_sm_resp OK with id", func(t *testing.T) []byte { return AppendSubmitSMResp(nil, ESME_ROK, 42, "msg-0001") }, hexSubmitSMResp},
		{"submit_sm_resp error is header-only", func(t *testing.T) []byte {
			return AppendSubmitSMResp(nil, ESME_RSUBMITFAIL, 42, "msg-0001")
		}, hexSubmitSMRespErr},
		{"data_sm_resp OK with id", func(t *testing.T) []byte { return AppendDataSMResp(nil, ESME_ROK, 9, "abc") }, "00000014 80000103 00000000 00000009 61626300"},
		{"data_sm_resp error is header-only", func(t *testing.T) []byte {
			return AppendDataSMResp(nil, ESME_RDELIVERYFAILURE, 9, "abc")
		}, "00000010 80000103 000000fe 00000009"},
		{"deliver_sm_resp OK", func(t *testing.T) []byte { return AppendDeliverSMResp(nil, ESME_ROK, 7) }, "00000011 80000005 00000000 00000007 00"},
		{"deliver_sm_resp error keeps the message_id NUL", func(t *testing.T) []byte {
			return AppendDeliverSMResp(nil, ESME_RX_T_APPN, 7)
		}, "00000011 80000005 00000064 00000007 00"},
		{"generic_nack", func(t *testing.T) []byte { return AppendGenericNack(nil, ESME_RINVCMDID, 5) }, "00000010 80000000 00000003 00000005"},
		{"enquire_link", func(t *testing.T) []byte { return AppendEnquireLink(nil, 0x7fffffff) }, "00000010 00000015 00000000 7fffffff"},
		{"enquire_link_resp", func(t *testing.T) []byte { return AppendEnquireLinkResp(nil, 6) }, "00000010 80000015 00000000 00000006"},
		{"unbind", func(t *testing.T) []byte { return AppendUnbind(nil, 3) }, "00000010 00000006 00000000 00000003"},
		{"unbind_resp", func(t *testing.T) []byte { return AppendUnbindResp(nil, ESME_ROK, 3) }, "00000010 80000006 00000000 00000003"},
		{"header only with status", func(t *testing.T) []byte { return AppendHeaderOnly(nil, CancelSMResp, ESME_RCANCELFAIL, 8) }, "00000010 80000008 00000011 00000008"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []byte
			if strings.HasPrefix(tc.want, "\n") {
				want = mustPDU(t, tc.want).raw()
			} else {
				want = unhex(t, tc.want)
			}
			got := tc.got(t)
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got %x\nwant %x", got, want)
			}
			roundTrip(t, got)
		})
	}
}

// roundTrip frames p and parses it back with the parser for its command.
func roundTrip(t *testing.T, p []byte) {
	t.Helper()
	n, err := Frame(p, DefaultMaxLen)
	if err != nil || n != len(p) {
		t.Fatalf("Frame = %d, %v; want %d", n, err, len(p))
	}
	h, err := ParseHeader(p)
	if err != nil || int(h.Length) != len(p) {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
	switch {
	case h.ID == SubmitSM || h.ID == DeliverSM || h.ID == DataSM || h.ID == SubmitMulti:
		var m Message
		if err := Scan(p, &m); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	case h.ID.IsBind():
		if _, err := ParseBind(p); err != nil {
			t.Fatalf("ParseBind: %v", err)
		}
	case h.ID == SubmitSMResp || h.ID == DataSMResp || h.ID == SubmitMultiResp || h.ID == DeliverSMResp ||
		h.ID.IsResponse() && h.ID.Request().IsBind():
		if _, _, err := ParseMessageIDResp(p); err != nil {
			t.Fatalf("ParseMessageIDResp: %v", err)
		}
	}
}

func TestBuildersParseBack(t *testing.T) {
	t.Run("submit_sm fields", func(t *testing.T) {
		in := submitSMVector()
		p := must(t)(AppendSubmitSM(nil, 42, in))
		var m Message
		if err := Scan(p, &m); err != nil {
			t.Fatal(err)
		}
		if m.ID != SubmitSM || m.Seq != 42 || string(m.ServiceType) != in.ServiceType ||
			string(m.Source.Addr) != in.Source.Addr || m.Source.TON != in.Source.TON ||
			string(m.Dest.Addr) != in.Dest.Addr || m.EsmClass != in.EsmClass ||
			string(m.ValidityPeriod) != in.ValidityPeriod || m.DataCoding != in.DataCoding ||
			!bytes.Equal(m.ShortMessage, in.ShortMessage) {
			t.Errorf("scanned %+v", m)
		}
		it := m.TLVs.Iter()
		for _, want := range in.TLVs {
			tag, v, ok := it.Next()
			if !ok || tag != want.Tag || !bytes.Equal(v, want.Value) {
				t.Errorf("TLV %#04x = %x, want %#04x %x", tag, v, want.Tag, want.Value)
			}
		}
	})
	t.Run("bind fields", func(t *testing.T) {
		for _, id := range []CommandID{BindReceiver, BindTransmitter, BindTransceiver} {
			r := bindTRXVector()
			r.ID = id
			b, err := ParseBind(must(t)(AppendBind(nil, 9, r)))
			if err != nil || b.ID != id || string(b.SystemID) != r.SystemID || string(b.Password) != r.Password ||
				string(b.SystemType) != r.SystemType || b.InterfaceVersion != r.InterfaceVersion ||
				string(b.AddressRange) != r.AddressRange {
				t.Errorf("%v: %+v, %v", id, b, err)
			}
		}
	})
	t.Run("bind_resp system_id and version", func(t *testing.T) {
		id, rest, err := ParseMessageIDResp(AppendBindResp(nil, BindReceiver, ESME_ROK, 1, "SMSC1", 0x34))
		if err != nil || string(id) != "SMSC1" {
			t.Fatalf("%q, %v", id, err)
		}
		if v, ok := TLVs(rest).Find(TagScInterfaceVersion); !ok || len(v) != 1 || v[0] != 0x34 {
			t.Errorf("sc_interface_version %x, %v", v, ok)
		}
	})
	t.Run("submit_sm_resp id", func(t *testing.T) {
		id, _, err := ParseMessageIDResp(AppendSubmitSMResp(nil, ESME_ROK, 1, "0123456789abcdef"))
		if err != nil || string(id) != "0123456789abcdef" {
			t.Errorf("%q, %v", id, err)
		}
	})
}

func TestAppendResp(t *testing.T) {
	const seq = "0000002a"
	tests := []struct {
		req    CommandID
		status Status
		want   string // hex after the header's command_length
	}{
		{BindReceiver, ESME_ROK, "80000001 00000000" + seq + "00"},
		{BindTransmitter, ESME_ROK, "80000002 00000000" + seq + "00"},
		{BindTransceiver, ESME_ROK, "80000009 00000000" + seq + "00"},
		{BindTransceiver, ESME_RBINDFAIL, "80000009 0000000d" + seq + "00"},
		{QuerySM, ESME_ROK, "80000003 00000000" + seq + "00 00 00 00"}, // message_id, final_date, message_state, error_code
		{QuerySM, ESME_RQUERYFAIL, "80000003 00000067" + seq},
		{SubmitSM, ESME_ROK, "80000004 00000000" + seq + "00"},
		{SubmitSM, ESME_RTHROTTLED, "80000004 00000058" + seq},
		{DeliverSM, ESME_ROK, "80000005 00000000" + seq + "00"},
		{DeliverSM, ESME_RX_P_APPN, "80000005 00000065" + seq + "00"},
		{Unbind, ESME_ROK, "80000006 00000000" + seq},
		{ReplaceSM, ESME_ROK, "80000007 00000000" + seq},
		{ReplaceSM, ESME_RREPLACEFAIL, "80000007 00000013" + seq},
		{CancelSM, ESME_ROK, "80000008 00000000" + seq},
		{EnquireLink, ESME_ROK, "80000015 00000000" + seq},
		{SubmitMulti, ESME_ROK, "80000021 00000000" + seq + "00 00"}, // message_id, no_unsuccess
		{SubmitMulti, ESME_RINVNUMDESTS, "80000021 00000033" + seq},
		{DataSM, ESME_ROK, "80000103 00000000" + seq + "00"},
		{DataSM, ESME_RSYSERR, "80000103 00000008" + seq},
		{0x00010000, ESME_RINVCMDID, "80010000 00000003" + seq}, // unknown: header only
		{0x00010000, ESME_ROK, "80010000 00000000" + seq},
	}
	for _, tc := range tests {
		t.Run(tc.req.String()+"/"+tc.status.String(), func(t *testing.T) {
			body := unhex(t, tc.want)
			want := append(unhex(t, "00000000"), body...)
			want[3] = byte(len(want))
			got := AppendResp(nil, tc.req, tc.status, 42)
			if !bytes.Equal(got, want) {
				t.Fatalf("\n got %x\nwant %x", got, want)
			}
			if ID(got) != tc.req.Resp() || StatusOf(got) != tc.status || Seq(got) != 42 {
				t.Errorf("header %v %v %d", ID(got), StatusOf(got), Seq(got))
			}
			roundTrip(t, got)
		})
	}
}

func TestBuildersAppendAfterExistingBytes(t *testing.T) {
	prefix := []byte("prefix")
	buf := AppendEnquireLink(append([]byte(nil), prefix...), 1)
	buf = must(t)(AppendSubmitSM(buf, 2, deliverMOVector()))
	buf = AppendSubmitSMResp(buf, ESME_ROK, 3, "x")
	if !bytes.HasPrefix(buf, prefix) {
		t.Fatal("prefix overwritten")
	}
	rest := buf[len(prefix):]
	var ids []CommandID
	for len(rest) > 0 {
		n, err := Frame(rest, DefaultMaxLen)
		if err != nil || n == 0 {
			t.Fatalf("Frame = %d, %v at %x", n, err, rest)
		}
		ids = append(ids, ID(rest))
		rest = rest[n:]
	}
	if len(ids) != 3 || ids[0] != EnquireLink || ids[1] != SubmitSM || ids[2] != SubmitSMResp {
		t.Errorf("framed %v", ids)
	}
}

func TestBuilderErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	smTests := []struct {
		name string
		mod  func(m *SM)
		err  error
	}{
		{"short_message 254 ok", func(m *SM) { m.ShortMessage = make([]byte, 254) }, nil},
		{"short_message 255", func(m *SM) { m.ShortMessage = make([]byte, 255) }, ErrBuildSMTooLong},
		{"service_type 5 ok", func(m *SM) { m.ServiceType = long(5) }, nil},
		{"service_type 6", func(m *SM) { m.ServiceType = long(6) }, ErrBuildField},
		{"source_addr 20 ok", func(m *SM) { m.Source.Addr = long(20) }, nil},
		{"source_addr 21", func(m *SM) { m.Source.Addr = long(21) }, ErrBuildField},
		{"destination_addr 21", func(m *SM) { m.Dest.Addr = long(21) }, ErrBuildField},
		{"schedule_delivery_time 16 ok", func(m *SM) { m.ScheduleDeliveryTime = long(16) }, nil},
		{"schedule_delivery_time 17", func(m *SM) { m.ScheduleDeliveryTime = long(17) }, ErrBuildField},
		{"validity_period 17", func(m *SM) { m.ValidityPeriod = long(17) }, ErrBuildField},
		{"NUL inside destination_addr", func(m *SM) { m.Dest.Addr = "123\x00456" }, ErrBuildField},
		{"NUL inside service_type", func(m *SM) { m.ServiceType = "\x00" }, ErrBuildField},
		{"TLV value of 65535 ok", func(m *SM) { m.TLVs = []TLV{{TagMessagePayload, make([]byte, 0xFFFF)}} }, nil},
		{"TLV value of 65536", func(m *SM) { m.TLVs = []TLV{{TagMessagePayload, make([]byte, 0x10000)}} }, ErrBuildField},
	}
	for _, tc := range smTests {
		for _, build := range []struct {
			name string
			f    func([]byte, uint32, *SM) ([]byte, error)
		}{{"submit_sm", AppendSubmitSM}, {"deliver_sm", AppendDeliverSM}} {
			t.Run(build.name+"/"+tc.name, func(t *testing.T) {
				m := deliverMOVector()
				tc.mod(m)
				dst := []byte("keep")
				out, err := build.f(dst, 1, m)
				if err != tc.err {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if err != nil {
					if string(out) != "keep" {
						t.Errorf("dst changed on error: %q", out)
					}
					return
				}
				var sm Message
				if err := Scan(out[4:], &sm); err != nil {
					t.Fatalf("built PDU does not scan: %v", err)
				}
			})
		}
	}
	bindTests := []struct {
		name string
		mod  func(r *BindRequest)
		err  error
	}{
		{"system_id 15 ok", func(r *BindRequest) { r.SystemID = long(15) }, nil},
		{"system_id 16", func(r *BindRequest) { r.SystemID = long(16) }, ErrBuildField},
		{"password 8 ok", func(r *BindRequest) { r.Password = long(8) }, nil},
		{"password 9", func(r *BindRequest) { r.Password = long(9) }, ErrBuildField},
		{"system_type 12 ok", func(r *BindRequest) { r.SystemType = long(12) }, nil},
		{"system_type 13", func(r *BindRequest) { r.SystemType = long(13) }, ErrBuildField},
		{"address_range 40 ok", func(r *BindRequest) { r.AddressRange = long(40) }, nil},
		{"address_range 41", func(r *BindRequest) { r.AddressRange = long(41) }, ErrBuildField},
		{"NUL inside password", func(r *BindRequest) { r.Password = "a\x00b" }, ErrBuildField},
		{"not a bind id", func(r *BindRequest) { r.ID = SubmitSM }, ErrBuildNotBind},
		{"bind response id", func(r *BindRequest) { r.ID = BindTransceiverResp }, ErrBuildNotBind},
	}
	for _, tc := range bindTests {
		t.Run("bind/"+tc.name, func(t *testing.T) {
			r := bindTRXVector()
			tc.mod(&r)
			out, err := AppendBind([]byte("keep"), 1, r)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if string(out) != "keep" {
					t.Errorf("dst changed on error: %q", out)
				}
				return
			}
			if _, err := ParseBind(out[4:]); err != nil {
				t.Fatalf("built bind does not parse: %v", err)
			}
		})
	}
}
