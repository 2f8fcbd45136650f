package pdu

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// hexSubmitMultiResp: the SMSC accepted the message for some destinations and
// lists one it refused; a vendor TLV follows the list.
const hexSubmitMultiResp = `
00000031                    // command_length 49
80000021                    // command_id submit_multi_resp
00000000                    // command_status
0000000a                    // sequence_number
"smsc-77" 00                // message_id
01                          // no_unsuccess
01                          // u1.dest_addr_ton
01                          // u1.dest_addr_npi
"15550009999" 00            // u1.destination_addr
0000000b                    // u1.error_status_code ESME_RINVDSTADR
1401 0002 abcd              // tlv_vendor_1401
`

func TestAppendSubmitMultiResp(t *testing.T) {
	tests := []struct {
		name      string
		status    Status
		id        string
		unsuccess []UnsuccessSME
		want      []byte
	}{
		{"accepted, nothing refused", ESME_ROK, "m1", nil,
			pduBytes(SubmitMultiResp, ESME_ROK, 9, cstr("m1"), []byte{0})},
		{"accepted, two refused", ESME_ROK, "m1", []UnsuccessSME{
			{TON: 1, NPI: 1, Addr: "15551234567", Status: 0x400},
			{TON: 0, NPI: 0, Addr: "", Status: ESME_RINVDSTADR},
		}, pduBytes(SubmitMultiResp, ESME_ROK, 9, cstr("m1"), []byte{2},
			[]byte{1, 1}, cstr("15551234567"), []byte{0, 0, 4, 0},
			[]byte{0, 0}, cstr(""), []byte{0, 0, 0, 0x0b})},
		{"every destination refused: status and the list", 0x400, "", []UnsuccessSME{
			{TON: 1, NPI: 1, Addr: "15551234567", Status: 0x400},
		}, pduBytes(SubmitMultiResp, 0x400, 9, cstr(""), []byte{1},
			[]byte{1, 1}, cstr("15551234567"), []byte{0, 0, 4, 0})},
		{"error without entries is a header alone", ESME_RSYSERR, "m1", nil,
			pduBytes(SubmitMultiResp, ESME_RSYSERR, 9)},
		{"over-long fields are cut to the specification's maxima", ESME_ROK, strings.Repeat("i", 70) + "\x00x",
			[]UnsuccessSME{{TON: 1, NPI: 1, Addr: strings.Repeat("5", 30), Status: 1}},
			pduBytes(SubmitMultiResp, ESME_ROK, 9, cstr(strings.Repeat("i", 64)), []byte{1},
				[]byte{1, 1}, cstr(strings.Repeat("5", 20)), []byte{0, 0, 0, 1})},
		{"a NUL inside an address ends it", ESME_ROK, "m1",
			[]UnsuccessSME{{TON: 1, NPI: 1, Addr: "155\x00xx", Status: 1}},
			pduBytes(SubmitMultiResp, ESME_ROK, 9, cstr("m1"), []byte{1},
				[]byte{1, 1}, cstr("155"), []byte{0, 0, 0, 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("xyz")
			got := AppendSubmitMultiResp(prefix, tc.status, 9, tc.id, tc.unsuccess)
			if !bytes.Equal(got[:3], prefix) || !bytes.Equal(got[3:], tc.want) {
				t.Fatalf("got  %x\nwant %x", got[3:], tc.want)
			}
			// What it builds parses back (with the cut fields).
			id, un, err := ParseSubmitMultiResp(got[3:])
			if err != nil {
				t.Fatal(err)
			}
			if len(un) != len(tc.unsuccess) || (len(tc.unsuccess) > 0 && un[0].Status != tc.unsuccess[0].Status) {
				t.Fatalf("parsed back %q %+v", id, un)
			}
		})
	}
}

func TestAppendSubmitMultiRespCapsEntries(t *testing.T) {
	un := make([]UnsuccessSME, 300)
	p := AppendSubmitMultiResp(nil, ESME_ROK, 1, "m", un)
	_, got, err := ParseSubmitMultiResp(p)
	if err != nil || len(got) != 255 || p[HeaderLen+2] != 255 {
		t.Fatalf("%d entries, no_unsuccess %d, %v", len(got), p[HeaderLen+2], err)
	}
	if len(p) != HeaderLen+2+1+255*(2+1+4) {
		t.Fatalf("length %d", len(p))
	}
}

func TestParseSubmitMultiResp(t *testing.T) {
	s := mustPDU(t, hexSubmitMultiResp)
	p := withSpareCap(s.raw())
	id, un, err := ParseSubmitMultiResp(p)
	if err != nil {
		t.Fatal(err)
	}
	wantView(t, "message_id", p, id, []byte("smsc-77"), HeaderLen)
	want := []UnsuccessSME{{TON: 1, NPI: 1, Addr: "15550009999", Status: ESME_RINVDSTADR}}
	if len(un) != 1 || un[0] != want[0] {
		t.Fatalf("unsuccess %+v, want %+v", un, want)
	}

	errs := []struct {
		name string
		p    []byte
		err  error
	}{
		{"not a submit_multi_resp", pduBytes(SubmitSMResp, 0, 1, cstr("x")), ErrNotSubmitMultiResp},
		{"short header", p[:10], ErrTruncated},
		{"length mismatch", p[:len(p)-1], ErrLengthMismatch},
		{"message_id without NUL", pduBytes(SubmitMultiResp, 0, 1, []byte("abc")), ErrTruncated},
		{"message_id too long", pduBytes(SubmitMultiResp, 0, 1, cstrN(66)), ErrMessageID},
		{"entry cut in its address", s.upTo(t, "u1.destination_addr").plus(fld{"a", []byte("155")}).framed(), ErrUnsuccessTruncated},
		{"entry cut in its status", s.upTo(t, "u1.error_status_code").plus(fld{"a", []byte{0, 0}}).framed(), ErrUnsuccessTruncated},
		{"count above the entries", s.with(t, "no_unsuccess", []byte{2}).upTo(t, "tlv_vendor_1401").framed(), ErrUnsuccessTruncated},
		{"address too long", s.with(t, "u1.destination_addr", cstrN(22)).framed(), ErrDestAddr},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ParseSubmitMultiResp(tc.p); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if _, err := AppendMergedSubmitMultiResp(nil, tc.p, []UnsuccessSME{{}}); !errors.Is(err, tc.err) {
				t.Fatalf("merge err = %v, want %v", err, tc.err)
			}
		})
	}

	// Lenient forms: a header alone, and a body that stops after message_id.
	if id, un, err := ParseSubmitMultiResp(pduBytes(SubmitMultiResp, ESME_RSYSERR, 1)); err != nil || id != nil || un != nil {
		t.Errorf("header alone: %q %v %v", id, un, err)
	}
	if id, un, err := ParseSubmitMultiResp(pduBytes(SubmitMultiResp, 0, 1, cstr("m9"))); err != nil || string(id) != "m9" || un != nil {
		t.Errorf("no no_unsuccess: %q %v %v", id, un, err)
	}
}

func TestAppendMergedSubmitMultiResp(t *testing.T) {
	smsc := mustPDU(t, hexSubmitMultiResp)
	refused := []UnsuccessSME{
		{TON: 1, NPI: 1, Addr: "15551234567", Status: 0x400},
		{TON: 2, NPI: 8, Addr: "999", Status: ESME_RINVDSTADR},
	}
	refusedBytes := [][]byte{
		{1, 1}, cstr("15551234567"), {0, 0, 4, 0},
		{2, 8}, cstr("999"), {0, 0, 0, 0x0b},
	}
	flat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		resp  []byte
		extra []UnsuccessSME
		want  []byte
	}{
		{"SMSC entry kept, ours after it, TLV kept at the end",
			smsc.raw(), refused,
			smsc.with(t, "no_unsuccess", []byte{3}).
				with(t, "u1.error_status_code", flat(smsc.get(t, "u1.error_status_code"), flat(refusedBytes...))).framed()},
		{"nothing extra: the response as it came",
			smsc.raw(), nil, smsc.raw()},
		{"SMSC refused nothing",
			pduBytes(SubmitMultiResp, ESME_ROK, 5, cstr("abc"), []byte{0}), refused[:1],
			pduBytes(SubmitMultiResp, ESME_ROK, 5, cstr("abc"), []byte{1}, flat(refusedBytes[:3]...))},
		{"SMSC left no_unsuccess out",
			pduBytes(SubmitMultiResp, ESME_ROK, 5, cstr("abc")), refused[:1],
			pduBytes(SubmitMultiResp, ESME_ROK, 5, cstr("abc"), []byte{1}, flat(refusedBytes[:3]...))},
		{"error without a body gets one, status and sequence kept",
			pduBytes(SubmitMultiResp, ESME_RSUBMITFAIL, 0x7fffffff), refused,
			pduBytes(SubmitMultiResp, ESME_RSUBMITFAIL, 0x7fffffff, cstr(""), []byte{2}, flat(refusedBytes...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendMergedSubmitMultiResp([]byte{0xEE}, tc.resp, tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != 0xEE || !bytes.Equal(got[1:], tc.want) {
				t.Fatalf("got  %x\nwant %x", got[1:], tc.want)
			}
		})
	}

	full := AppendSubmitMultiResp(nil, ESME_ROK, 1, "m", make([]UnsuccessSME, 250))
	if out, err := AppendMergedSubmitMultiResp([]byte{1}, full, make([]UnsuccessSME, 6)); err != ErrTooManyUnsuccess || !bytes.Equal(out, []byte{1}) {
		t.Errorf("256 entries: %x, %v", out, err)
	}
	if _, err := AppendMergedSubmitMultiResp(nil, full, make([]UnsuccessSME, 5)); err != nil {
		t.Errorf("255 entries: %v", err)
	}
}

func TestAppendSubmitMultiWithout(t *testing.T) {
	s := mustPDU(t, hexSubmitMulti)
	p := s.raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		t.Fatal(err)
	}
	d1 := flatFields(s, t, "dest1.dest_flag", "dest1.dest_addr_ton", "dest1.dest_addr_npi", "dest1.destination_addr")
	d2 := flatFields(s, t, "dest2.dest_flag", "dest2.dl_name")
	d3 := flatFields(s, t, "dest3.dest_flag", "dest3.dest_addr_ton", "dest3.dest_addr_npi", "dest3.destination_addr")
	// without returns s with the destinations replaced by the kept ones.
	without := func(n byte, kept ...[]byte) []byte {
		c := s.with(t, "number_of_dests", []byte{n}).
			with(t, "dest1.dest_flag", bytes.Join(kept, nil))
		for _, name := range []string{"dest1.dest_addr_ton", "dest1.dest_addr_npi", "dest1.destination_addr",
			"dest2.dest_flag", "dest2.dl_name",
			"dest3.dest_flag", "dest3.dest_addr_ton", "dest3.dest_addr_npi", "dest3.destination_addr"} {
			c = c.with(t, name, nil)
		}
		return c.framed()
	}
	tests := []struct {
		name string
		keep func(i int, d Dest) bool
		kept int
		want []byte
	}{
		{"all kept: the PDU itself", func(int, Dest) bool { return true }, 3, p},
		{"first removed", func(i int, _ Dest) bool { return i != 0 }, 2, without(2, d2, d3)},
		{"middle (distribution list) removed", func(_ int, d Dest) bool { return d.Flag == DestSME }, 2, without(2, d1, d3)},
		{"last removed", func(_ int, d Dest) bool { return string(d.Addr.Addr) != "12345" }, 2, without(2, d1, d2)},
		{"only the list kept", func(_ int, d Dest) bool { return string(d.DLName) == "friends" }, 1, without(1, d2)},
		{"none kept", func(int, Dest) bool { return false }, 0, without(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []int
			keep := func(i int, d Dest) bool { seen = append(seen, i); return tc.keep(i, d) }
			out, kept, err := AppendSubmitMultiWithout([]byte("ab"), p, &m, keep)
			if err != nil {
				t.Fatal(err)
			}
			if kept != tc.kept || string(out[:2]) != "ab" || !bytes.Equal(out[2:], tc.want) {
				t.Fatalf("kept %d, got\n %x\nwant %d\n %x", kept, out[2:], tc.kept, tc.want)
			}
			if len(seen) != 3 || seen[0] != 0 || seen[2] != 2 {
				t.Errorf("keep called for %v", seen)
			}
			if kept > 0 {
				var m2 Message
				if err := Scan(out[2:], &m2); err != nil || m2.NumDests != kept {
					t.Errorf("result scans to %d dests, %v", m2.NumDests, err)
				}
			}
		})
	}
}

func flatFields(s spec, t *testing.T, names ...string) []byte {
	var b []byte
	for _, n := range names {
		b = append(b, s.get(t, n)...)
	}
	return b
}

func TestAppendSubmitMultiWithoutErrors(t *testing.T) {
	multi := mustPDU(t, hexSubmitMulti).raw()
	var m Message
	if err := Scan(multi, &m); err != nil {
		t.Fatal(err)
	}
	other := mustPDU(t, hexSubmitMulti).with(t, "dest3.destination_addr", cstr("1234")).framed()
	var sm Message
	if err := Scan(mustPDU(t, hexSubmitSM).raw(), &sm); err != nil {
		t.Fatal(err)
	}
	two := m
	two.NumDests = 2
	all := func(int, Dest) bool { return true }
	tests := []struct {
		name string
		p    []byte
		m    *Message
		err  error
	}{
		{"view of a submit_sm", multi, &sm, ErrNotSubmitMulti},
		{"PDU is a submit_sm", mustPDU(t, hexSubmitSM).raw(), &m, ErrNotSubmitMulti},
		{"short", multi[:12], &m, ErrTruncated},
		{"length mismatch", multi[:len(multi)-1], &m, ErrLengthMismatch},
		{"view of another PDU (count)", multi, &two, ErrMessageMismatch},
		{"view of another PDU (length)", other, &m, ErrMessageMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, kept, err := AppendSubmitMultiWithout([]byte{7}, tc.p, tc.m, all)
			if !errors.Is(err, tc.err) || kept != 0 || !bytes.Equal(out, []byte{7}) {
				t.Fatalf("%x, %d, %v; want %v", out, kept, err, tc.err)
			}
		})
	}
}

func TestSubmitMultiNoAllocs(t *testing.T) {
	multi := mustPDU(t, hexSubmitMulti).raw()
	resp := mustPDU(t, hexSubmitMultiResp).raw()
	var m Message
	if err := Scan(multi, &m); err != nil {
		t.Fatal(err)
	}
	extra := []UnsuccessSME{{TON: 1, NPI: 1, Addr: "15551234567", Status: 0x400}}
	buf := make([]byte, 0, 512)
	keep := func(i int, _ Dest) bool { return i != 1 }
	for name, f := range map[string]func(){
		"AppendSubmitMultiWithout":    func() { buf, _, _ = AppendSubmitMultiWithout(buf[:0], multi, &m, keep) },
		"AppendMergedSubmitMultiResp": func() { buf, _ = AppendMergedSubmitMultiResp(buf[:0], resp, extra) },
		"AppendSubmitMultiResp":       func() { buf = AppendSubmitMultiResp(buf[:0], ESME_ROK, 1, "m1", extra) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

func FuzzMergeSubmitMultiResp(f *testing.F) {
	f.Add(mustPDU(f, hexSubmitMultiResp).raw(), byte(2))
	f.Add(pduBytes(SubmitMultiResp, ESME_RSYSERR, 1), byte(1))
	f.Add(pduBytes(SubmitMultiResp, ESME_ROK, 1, cstr("abc")), byte(1))
	f.Add(pduBytes(SubmitMultiResp, ESME_ROK, 1, cstr("abc"), []byte{3, 1, 1}), byte(0))
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, n byte) {
		resp := frameAs(data, SubmitMultiResp)
		extra := make([]UnsuccessSME, int(n)%8)
		for i := range extra {
			extra[i] = UnsuccessSME{TON: byte(i), NPI: 1, Addr: strings.Repeat("5", i*3), Status: Status(i + 1)}
		}
		id, before, perr := ParseSubmitMultiResp(resp)
		out, err := AppendMergedSubmitMultiResp(nil, resp, extra)
		if (perr == nil) != (err == nil || err == ErrTooManyUnsuccess) {
			t.Fatalf("parse %v, merge %v", perr, err)
		}
		if err != nil {
			if out != nil {
				t.Fatalf("output %x with error %v", out, err)
			}
			return
		}
		if !bytes.Equal(out[4:16], resp[4:16]) {
			t.Fatalf("header changed: %x -> %x", resp[:16], out[:16])
		}
		id2, after, err := ParseSubmitMultiResp(out)
		if err != nil {
			t.Fatalf("merged response does not parse: %v\n%x", err, out)
		}
		if !bytes.Equal(id, id2) || len(after) != len(before)+len(extra) {
			t.Fatalf("id %q -> %q, %d + %d entries -> %d", id, id2, len(before), len(extra), len(after))
		}
		for i := range before {
			if after[i] != before[i] {
				t.Fatalf("SMSC entry %d: %+v -> %+v", i, before[i], after[i])
			}
		}
		for i := range extra {
			if after[len(before)+i] != extra[i] {
				t.Fatalf("extra entry %d: %+v -> %+v", i, extra[i], after[len(before)+i])
			}
		}
		// The octets after the list (TLVs) end the merged PDU unchanged.
		r, _ := scanSubmitMultiResp(resp)
		if tail := resp[r.listEnd:]; !bytes.HasSuffix(out, tail) {
			t.Fatalf("trailing %x lost: %x", tail, out)
		}
	})
}

func FuzzSubmitMultiWithout(f *testing.F) {
	p := mustPDU(f, hexSubmitMulti).raw()
	f.Add(p, uint64(0b101))
	f.Add(p, uint64(0))
	f.Add(p, ^uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, mask uint64) {
		p := frameAs(data, SubmitMulti)
		var m Message
		if Scan(p, &m) != nil {
			return
		}
		keep := func(i int, _ Dest) bool { return mask>>(i%64)&1 != 0 }
		out, kept, err := AppendSubmitMultiWithout(nil, p, &m, keep)
		if err != nil {
			t.Fatalf("refused a scanned submit_multi: %v", err)
		}
		want := 0
		for i := range m.NumDests {
			if keep(i, Dest{}) {
				want++
			}
		}
		if kept != want {
			t.Fatalf("kept %d, want %d", kept, want)
		}
		if kept == 0 {
			return
		}
		var m2 Message
		if err := Scan(out, &m2); err != nil {
			t.Fatalf("result does not scan: %v", err)
		}
		if m2.NumDests != kept || !bytes.Equal(m2.ShortMessage, m.ShortMessage) || !bytes.Equal(m2.TLVs, m.TLVs) ||
			!bytes.Equal(m2.Source.Addr, m.Source.Addr) || m2.DataCoding != m.DataCoding || m2.Seq != m.Seq {
			t.Fatalf("result differs beyond its destinations:\n%x\n%x", p, out)
		}
	})
}

func BenchmarkAppendSubmitMultiWithout(b *testing.B) {
	p := mustPDU(b, hexSubmitMulti).raw()
	var m Message
	if err := Scan(p, &m); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	keep := func(i int, _ Dest) bool { return i != 1 }
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = AppendSubmitMultiWithout(buf[:0], p, &m, keep)
	}
}

func BenchmarkAppendMergedSubmitMultiResp(b *testing.B) {
	resp := mustPDU(b, hexSubmitMultiResp).raw()
	extra := []UnsuccessSME{{TON: 1, NPI: 1, Addr: "15551234567", Status: 0x400}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendMergedSubmitMultiResp(buf[:0], resp, extra)
	}
}
