package pdu

import (
	"strings"
	"testing"
)

// The relay path must not allocate (DESIGN.md, Speed): these tests fail as soon
// as one of its functions does, and the benchmarks report the cost.

// typicalSubmitSM is a submit_sm as load tests send it: a 160-character GSM7
// message and two TLVs.
func typicalSubmitSM(tb testing.TB) []byte {
	text, err := EncodeText(CodingDefault, strings.Repeat("Your code is 123456. Reply STOP to opt out. ", 4)[:160])
	if err != nil || len(text) != 160 {
		tb.Fatalf("text: %d octets, %v", len(text), err)
	}
	p, err := AppendSubmitSM(nil, 1, &SM{
		Source:             Addr{TON: 5, Addr: "OptGuard"},
		Dest:               Addr{TON: 1, NPI: 1, Addr: "447700900123"},
		RegisteredDelivery: 1,
		ShortMessage:       text,
		TLVs: []TLV{
			{Tag: TagUserMessageReference, Value: []byte{0, 1}},
			{Tag: 0x1400, Value: []byte{0xaa, 0xbb, 0xcc}},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestZeroAllocs(t *testing.T) {
	submit := mustPDU(t, hexSubmitSM).raw()
	receipt := mustPDU(t, hexDeliverReceipt).raw()
	dataSM := mustPDU(t, hexDataSM).raw()
	multi := mustPDU(t, hexSubmitMulti).raw()
	bind := mustPDU(t, hexBindTRX).raw()
	resp := mustPDU(t, hexBindTRXResp).raw()
	bad := append([]byte(nil), submit...)
	bad[len(bad)-3] = 0xff // a TLV length past the end
	var m Message
	if err := Scan(multi, &m); err != nil {
		t.Fatal(err)
	}
	var msgs Message
	if err := Scan(receipt, &msgs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	var sink int

	tests := []struct {
		name string
		f    func()
	}{
		{"Frame", func() { n, _ := Frame(submit, DefaultMaxLen); sink += n }},
		{"Frame error", func() { n, _ := Frame([]byte{0, 0, 0, 1}, DefaultMaxLen); sink += n }},
		{"ParseHeader", func() { h, _ := ParseHeader(submit); sink += int(h.Seq) }},
		{"SetSeq", func() { SetSeq(submit, NextSeq(Seq(submit))) }},
		{"Scan submit_sm", func() { _ = Scan(submit, &m) }},
		{"Scan deliver_sm", func() { _ = Scan(receipt, &m) }},
		{"Scan data_sm", func() { _ = Scan(dataSM, &m) }},
		{"Scan submit_multi", func() { _ = Scan(multi, &m) }},
		{"Scan error", func() { _ = Scan(bad, &m) }},
		{"TLVs.Find", func() { v, _ := msgs.TLVs.Find(TagMessageState); sink += len(v) }},
		{"TLVIter", func() {
			for it := msgs.TLVs.Iter(); ; {
				_, v, ok := it.Next()
				if !ok {
					break
				}
				sink += len(v)
			}
		}},
		{"CheckTLVs", func() { _ = CheckTLVs(msgs.TLVs) }},
		{"DestIter", func() {
			var mm Message
			_ = Scan(multi, &mm)
			for it := mm.Dests(); ; {
				d, ok := it.Next()
				if !ok {
					break
				}
				sink += len(d.Addr.Addr) + len(d.DLName)
			}
		}},
		{"ParseBind", func() { b, _ := ParseBind(bind); sink += len(b.SystemID) }},
		{"ParseMessageIDResp", func() { id, _, _ := ParseMessageIDResp(resp); sink += len(id) }},
		{"ReceiptField", func() { v, _, _ := ReceiptField(msgs.ShortMessage, "submit date"); sink += len(v) }},
		{"ReceiptField text", func() { v, _, _ := ReceiptField(msgs.ShortMessage, "TEXT"); sink += len(v) }},
		{"SplitUDH and ParseConcat", func() {
			udh, _, _ := SplitUDH(submit[72:84])
			c, _ := ParseConcat(udh)
			sink += int(c.Part)
		}},
		{"AppendSubmitSMResp into a reused buffer", func() { buf = AppendSubmitSMResp(buf[:0], ESME_ROK, 1, "msg-0001") }},
		{"AppendResp into a reused buffer", func() { buf = AppendResp(buf[:0], SubmitMulti, ESME_ROK, 1) }},
		{"AppendGenericNack into a reused buffer", func() { buf = AppendGenericNack(buf[:0], ESME_RINVCMDLEN, 1) }},
		{"CommandID.Index and Status.Index", func() { sink += SubmitSM.Index() + ESME_RTHROTTLED.Index() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
	if sink == 0 {
		t.Error("nothing was read")
	}
}

func BenchmarkFrame(b *testing.B) {
	buf := append(typicalSubmitSM(b), typicalSubmitSM(b)...)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rest := buf
		for len(rest) > 0 {
			n, err := Frame(rest, DefaultMaxLen)
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			rest = rest[n:]
		}
	}
}

func benchScan(b *testing.B, p []byte) {
	var m Message
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Scan(p, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanSubmitSM(b *testing.B) { benchScan(b, typicalSubmitSM(b)) }

func BenchmarkScanDeliverSMReceipt(b *testing.B) { benchScan(b, mustPDU(b, hexDeliverReceipt).raw()) }

func BenchmarkScanSubmitMulti(b *testing.B) { benchScan(b, mustPDU(b, hexSubmitMulti).raw()) }

func BenchmarkSetSeq(b *testing.B) {
	p := typicalSubmitSM(b)
	b.ReportAllocs()
	seq := uint32(0)
	for b.Loop() {
		seq = NextSeq(seq)
		SetSeq(p, seq)
	}
}

func BenchmarkAppendSubmitSMResp(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSubmitSMResp(buf[:0], ESME_ROK, 7, "0123456789abcdef")
	}
}

func BenchmarkParseBind(b *testing.B) {
	p := mustPDU(b, hexBindTRX).raw()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBind(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceiptField(b *testing.B) {
	text := []byte(receiptText)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := ReceiptField(text, "stat"); !ok {
			b.Fatal("no stat")
		}
	}
}

func BenchmarkDecodeTextUCS2(b *testing.B) {
	ud, err := EncodeText(CodingUCS2, strings.Repeat("Arrêtez 🛑 ", 7)) // 70 UTF-16 units, one UCS2 segment
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ud)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeText(CodingUCS2, ud); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTextGSM7(b *testing.B) {
	ud, err := EncodeText(CodingDefault, strings.Repeat("STOP all [texts] ", 10)[:160])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ud)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeText(CodingDefault, ud); err != nil {
			b.Fatal(err)
		}
	}
}
