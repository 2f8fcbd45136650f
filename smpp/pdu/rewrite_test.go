package pdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// receiptSM builds a deliver_sm receipt with the text in short_message.
func receiptSM(t testing.TB, dc, esm byte, sm []byte, tlvs ...TLV) []byte {
	t.Helper()
	p, err := AppendDeliverSM(nil, 8, &SM{
		Source: Addr{1, 1, "15551234567"}, Dest: Addr{0, 0, "12345"},
		EsmClass: esm, DataCoding: dc, ShortMessage: sm, TLVs: tlvs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// receiptDataSM builds a data_sm receipt.
func receiptDataSM(t testing.TB, dc byte, tlvs ...TLV) []byte {
	t.Helper()
	w := Begin(nil, DataSM, ESME_ROK, 9)
	w.CString("").Address(1, 1, "15551234567").Address(0, 0, "12345").Byte(EsmClassReceipt).Byte(0).Byte(dc)
	for _, tl := range tlvs {
		w.TLV(tl.Tag, tl.Value)
	}
	return w.End()
}

func TestAppendReceiptWithID(t *testing.T) {
	const tail = " sub:001 dlvrd:001 submit date:2611231530 done date:2611231531 stat:DELIVRD err:000 text:Hello"
	rx := mustPDU(t, hexDeliverReceipt)
	state := TLV{TagMessageState, []byte{2}}
	vendor := TLV{0x1400, []byte{0xaa}}
	rmid := func(id string) TLV { return TLV{TagReceiptedMessageID, cstr(id)} }
	payload := func(s string) TLV { return TLV{TagMessagePayload, []byte(s)} }
	udh := []byte{5, 0, 3, 1, 1, 1}
	tests := []struct {
		name string
		p    []byte
		want []byte
	}{
		{"appendix B receipt: text and TLV, lengths adjusted",
			rx.raw(),
			rx.with(t, "sm_length", []byte{byte(len("id:og-000123456" + tail))}).
				with(t, "short_message", []byte("id:og-000123456"+tail)).
				with(t, "tlv_receipted_message_id", tlvBytes(TagReceiptedMessageID, cstr("og-000123456"))).framed()},
		{"longer SMSC id: the PDU shrinks",
			receiptSM(t, 0, 4, []byte("id:"+strings.Repeat("F", 40)+tail), rmid(strings.Repeat("F", 40)), state),
			receiptSM(t, 0, 4, []byte("id:og-000123456"+tail), rmid("og-000123456"), state)},
		{"TLV order and other TLVs kept",
			receiptSM(t, 0, 4, []byte("id:4F2A"+tail), vendor, state, rmid("4F2A"), vendor),
			receiptSM(t, 0, 4, []byte("id:og-000123456"+tail), vendor, state, rmid("og-000123456"), vendor)},
		{"text only, upper-case field, id not first",
			receiptSM(t, 0, 4, []byte("SUB:001 ID:99 STAT:DELIVRD")),
			receiptSM(t, 0, 4, []byte("SUB:001 ID:og-000123456 STAT:DELIVRD"))},
		{"TLV only, empty short_message",
			receiptSM(t, 0, 4, nil, state, rmid("abc")),
			receiptSM(t, 0, 4, nil, state, rmid("og-000123456"))},
		{"TLV without its NUL gets one",
			receiptSM(t, 0, 4, nil, TLV{TagReceiptedMessageID, []byte("abc")}),
			receiptSM(t, 0, 4, nil, rmid("og-000123456"))},
		{"text in message_payload",
			receiptSM(t, 0, 4, nil, payload("id:55"+tail), rmid("55")),
			receiptSM(t, 0, 4, nil, payload("id:og-000123456"+tail), rmid("og-000123456"))},
		{"data_sm receipt with message_payload",
			receiptDataSM(t, 0, rmid("4F2A"), payload("id:4F2A stat:DELIVRD"), state),
			receiptDataSM(t, 0, rmid("og-000123456"), payload("id:og-000123456 stat:DELIVRD"), state)},
		{"empty id value in the text",
			receiptSM(t, 0, 4, []byte("id: stat:DELIVRD")),
			receiptSM(t, 0, 4, []byte("id:og-000123456 stat:DELIVRD"))},
		{"after a UDH",
			receiptSM(t, 0, 4|EsmClassUDHI, append(udh, "id:42 stat:DELIVRD"...)),
			receiptSM(t, 0, 4|EsmClassUDHI, append(udh, "id:og-000123456 stat:DELIVRD"...))},
		{"IA5 and GSM coding group 0xF0",
			receiptSM(t, 0xF0, 4, []byte("id:42 stat:DELIVRD")),
			receiptSM(t, 0xF0, 4, []byte("id:og-000123456 stat:DELIVRD"))},
		{"UCS2 data_coding with no text: the TLV alone",
			receiptSM(t, CodingUCS2, 4, nil, rmid("42")),
			receiptSM(t, CodingUCS2, 4, nil, rmid("og-000123456"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if err := Scan(tc.p, &m); err != nil {
				t.Fatal(err)
			}
			out, err := AppendReceiptWithID([]byte("xx"), tc.p, &m, "og-000123456")
			if err != nil {
				t.Fatal(err)
			}
			if string(out[:2]) != "xx" || !bytes.Equal(out[2:], tc.want) {
				t.Fatalf("got\n %x\nwant\n %x", out[2:], tc.want)
			}
			var m2 Message
			if err := Scan(out[2:], &m2); err != nil {
				t.Fatal(err)
			}
			if id, ok := ReceiptID(&m2); !ok || string(id) != "og-000123456" {
				t.Errorf("ReceiptID = %q, %v", id, ok)
			}
		})
	}
}

func TestAppendReceiptWithIDErrors(t *testing.T) {
	scan := func(p []byte) *Message {
		var m Message
		if err := Scan(p, &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	rx := mustPDU(t, hexDeliverReceipt).raw()
	long := receiptSM(t, 0, 4, []byte("id:1 "+strings.Repeat("x", 245)))
	other := receiptSM(t, 0, 4, []byte("id:1"))
	ucs2 := receiptSM(t, CodingUCS2, 4, mustEncode(t, CodingUCS2, "id:1 stat:DELIVRD"), TLV{TagReceiptedMessageID, cstr("1")})
	tests := []struct {
		name  string
		p     []byte
		m     *Message
		newID string
		err   error
	}{
		{"submit_sm", mustPDU(t, hexSubmitSM).raw(), scan(mustPDU(t, hexSubmitSM).raw()), "1", ErrNotReceiptPDU},
		{"empty new id", rx, scan(rx), "", ErrReceiptNewID},
		{"new id with a space", rx, scan(rx), "a b", ErrReceiptNewID},
		{"new id with '_' (GSM 0x11)", rx, scan(rx), "a_b", ErrReceiptNewID},
		{"new id of 65 octets", rx, scan(rx), strings.Repeat("1", 65), ErrReceiptNewID},
		{"no id anywhere", receiptSM(t, 0, 4, []byte("stat:DELIVRD")), scan(receiptSM(t, 0, 4, []byte("stat:DELIVRD"))), "1", ErrReceiptNoID},
		{"sm_length past 254", long, scan(long), "123456", ErrSMTooLong},
		{"UCS2 text", ucs2, scan(ucs2), "1", ErrReceiptCoding},
		{"bad UDH", receiptSM(t, 0, 4|EsmClassUDHI, []byte{9, 1}), scan(receiptSM(t, 0, 4|EsmClassUDHI, []byte{9, 1})), "1", ErrUDHLength},
		{"view of another PDU", rx, scan(other), "1", ErrMessageMismatch},
		{"short PDU", rx[:10], scan(rx), "1", ErrTruncated},
		{"length mismatch", rx[:len(rx)-1], scan(rx), "1", ErrLengthMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := AppendReceiptWithID([]byte{1}, tc.p, tc.m, tc.newID)
			if !errors.Is(err, tc.err) || !bytes.Equal(out, []byte{1}) {
				t.Fatalf("%x, %v; want %v", out, err, tc.err)
			}
		})
	}
	// 254 octets exactly is allowed.
	edge := receiptSM(t, 0, 4, []byte("id:1 "+strings.Repeat("x", 248)))
	if out, err := AppendReceiptWithID(nil, edge, scan(edge), "12"); err != nil || out[len(out)-255] != 254 {
		t.Fatalf("254 octets: %v", err)
	}
}

func TestReceiptID(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want string
		ok   bool
	}{
		{"TLV first", mustPDU(t, hexDeliverReceipt).raw(), "4F2A", true},
		{"TLV wins over the text", receiptSM(t, 0, 4, []byte("id:1"), TLV{TagReceiptedMessageID, cstr("2")}), "2", true},
		{"empty TLV falls back to the text", receiptSM(t, 0, 4, []byte("id:1"), TLV{TagReceiptedMessageID, []byte{0}}), "1", true},
		{"TLV without NUL", receiptSM(t, 0, 4, nil, TLV{TagReceiptedMessageID, []byte("77")}), "77", true},
		{"text", receiptSM(t, 0, 4, []byte("ID:00A1 stat:DELIVRD")), "00A1", true},
		{"payload", receiptSM(t, 0, 4, nil, TLV{TagMessagePayload, []byte("id:9 stat:X")}), "9", true},
		{"after a UDH", receiptSM(t, 0, 4|EsmClassUDHI, []byte("\x05\x00\x03\x01\x01\x01id:5")), "5", true},
		{"UCS2 text is not read", receiptSM(t, CodingUCS2, 4, mustEncode(t, CodingUCS2, "id:1")), "", false},
		{"none", receiptSM(t, 0, 4, []byte("stat:DELIVRD")), "", false},
	}
	for _, tc := range tests {
		var m Message
		if err := Scan(tc.p, &m); err != nil {
			t.Fatal(err)
		}
		id, ok := ReceiptID(&m)
		if string(id) != tc.want || ok != tc.ok {
			t.Errorf("%s: ReceiptID = %q, %v; want %q, %v", tc.name, id, ok, tc.want, tc.ok)
		}
		if !inside(tc.p, id) {
			t.Errorf("%s: id is not a view of the PDU", tc.name)
		}
	}
}

func TestReceiptRewriteNoAllocs(t *testing.T) {
	rx := mustPDU(t, hexDeliverReceipt).raw()
	var m Message
	if err := Scan(rx, &m); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendReceiptWithID(buf[:0], rx, &m, "og-1") }); n != 0 {
		t.Errorf("AppendReceiptWithID: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { ReceiptID(&m) }); n != 0 {
		t.Errorf("ReceiptID: %v allocations", n)
	}
}

func BenchmarkAppendReceiptWithID(b *testing.B) {
	rx := mustPDU(b, hexDeliverReceipt).raw()
	var m Message
	if err := Scan(rx, &m); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendReceiptWithID(buf[:0], rx, &m, "og-000123456")
	}
}

func TestAppendReceipt(t *testing.T) {
	at := time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)
	r := ReceiptPDU{
		Source: Addr{1, 1, "15551234567"}, Dest: Addr{5, 0, "OptGuard"},
		Receipt: Receipt{ID: "og-42", Sub: 1, SubmitDate: at, DoneDate: at.Add(time.Minute),
			Stat: "REJECTD", Err: 0, Text: "Hi @all ça {x} 🛑 and more than twenty"},
		MessageState:     StateRejected,
		NetworkErrorCode: []byte{3, 0, 0x22},
		TLVs:             []TLV{{0x1400, []byte("n")}},
	}
	got, err := AppendReceipt([]byte{0xEE}, 77, r)
	if err != nil {
		t.Fatal(err)
	}
	text := "id:og-42 sub:001 dlvrd:000 submit date:2611231530 done date:2611231531 stat:REJECTD err:000 text:"
	sm := append([]byte(text), 'H', 'i', ' ', 0x00, 'a', 'l', 'l', ' ', '?', 'a', ' ', 0x1b, 0x28, 'x', 0x1b, 0x29, ' ', '?', ' ', 'a', 'n', 'd')
	want := pduBytes(DeliverSM, ESME_ROK, 77,
		cstr(""), []byte{1, 1}, cstr("15551234567"), []byte{5, 0}, cstr("OptGuard"),
		[]byte{EsmClassReceipt, 0, 0}, cstr(""), cstr(""), []byte{0, 0, 0, 0, byte(len(sm))}, sm,
		tlvBytes(TagReceiptedMessageID, cstr("og-42")), tlvBytes(TagMessageState, []byte{8}),
		tlvBytes(TagNetworkErrorCode, []byte{3, 0, 0x22}), tlvBytes(0x1400, []byte("n")))
	if got[0] != 0xEE || !bytes.Equal(got[1:], want) {
		t.Fatalf("got\n %x\nwant\n %x", got[1:], want)
	}
	var m Message
	if err := Scan(got[1:], &m); err != nil || !m.IsReceipt() {
		t.Fatalf("scan: %v, receipt %v", err, m.IsReceipt())
	}
	if id, ok := ReceiptID(&m); !ok || string(id) != "og-42" {
		t.Errorf("ReceiptID = %q", id)
	}
	if s, err := DecodeText(m.DataCoding, m.ShortMessage); err != nil || !strings.HasPrefix(s, text+"Hi @all ?a {x} ? an") {
		t.Errorf("text %q, %v", s, err)
	}

	// Without network_error_code; refusals.
	r.NetworkErrorCode, r.TLVs = nil, nil
	got, err = AppendReceipt(nil, 1, r)
	if err != nil || bytes.Contains(got, []byte{0x04, 0x23}) {
		t.Errorf("without network_error_code: %x, %v", got, err)
	}
	for _, bad := range []ReceiptPDU{
		{Receipt: Receipt{ID: ""}},
		{Receipt: Receipt{ID: "a b"}},
		{Receipt: Receipt{ID: "1"}, NetworkErrorCode: []byte{1, 2}},
		{Receipt: Receipt{ID: "1"}, Source: Addr{Addr: strings.Repeat("1", 21)}},
	} {
		if out, err := AppendReceipt([]byte{1}, 1, bad); err != ErrBuildField || !bytes.Equal(out, []byte{1}) {
			t.Errorf("%+v: %x, %v; want ErrBuildField", bad, out, err)
		}
	}
}

func FuzzReceiptWithID(f *testing.F) {
	f.Add(mustPDU(f, hexDeliverReceipt).raw(), "og-1", false)
	f.Add(receiptSM(f, 0, 4, nil, TLV{TagMessagePayload, []byte("id:9 stat:X")}), "12345678901234567890", false)
	f.Add(receiptDataSM(f, 0, TLV{TagReceiptedMessageID, cstr("1")}, TLV{TagMessagePayload, []byte("x id:1")}), "A", true)
	f.Add(receiptSM(f, 0, 4|EsmClassUDHI, []byte("\x05\x00\x03\x01\x01\x01id:5")), "z", false)
	f.Fuzz(func(t *testing.T, data []byte, newID string, dataSM bool) {
		id := DeliverSM
		if dataSM {
			id = DataSM
		}
		p := frameAs(data, id)
		var m Message
		if Scan(p, &m) != nil {
			return
		}
		out, err := AppendReceiptWithID(nil, p, &m, newID)
		if err != nil {
			if out != nil {
				t.Fatalf("output %x with error %v", out, err)
			}
			return
		}
		var m2 Message
		if err := Scan(out, &m2); err != nil {
			t.Fatalf("result does not scan: %v\n%x\n%x", err, p, out)
		}
		if got, ok := ReceiptID(&m2); !ok || string(got) != newID {
			t.Fatalf("ReceiptID = %q, %v; want %q\n%x\n%x", got, ok, newID, p, out)
		}
		if m2.Seq != m.Seq || m2.EsmClass != m.EsmClass || m2.DataCoding != m.DataCoding || !bytes.Equal(m2.Source.Addr, m.Source.Addr) {
			t.Fatalf("fields changed:\n%x\n%x", p, out)
		}
	})
}
