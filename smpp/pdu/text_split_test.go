package pdu

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	ya := func(n int) string { return strings.Repeat("я", n) }
	udh8 := func(total, part byte) []byte { return []byte{5, 0, 3, 0x42, total, part} }
	udh16 := func(total, part byte) []byte { return []byte{6, 8, 4, 0x12, 0x42, total, part} }
	gsm := func(s string) []byte { return mustEncode(t, CodingDefault, s) }
	ucs := func(s string) []byte { return mustEncode(t, CodingUCS2, s) }
	cat := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	tests := []struct {
		name  string
		s     string
		ref16 bool
		dc    byte
		parts [][]byte
	}{
		{"empty", "", false, CodingDefault, [][]byte{{}}},
		{"160 septets: one part, no UDH", a(160), false, CodingDefault, [][]byte{gsm(a(160))}},
		{"158 + one extension character is 160 septets", a(158) + "€", false, CodingDefault, [][]byte{gsm(a(158) + "€")}},
		{"159 + one extension character is 161 septets", a(159) + "€", false, CodingDefault, [][]byte{
			cat(udh8(2, 1), gsm(a(153))), cat(udh8(2, 2), gsm(a(6)+"€"))}},
		{"161 septets: two parts of 153 and 8", a(161), false, CodingDefault, [][]byte{
			cat(udh8(2, 1), gsm(a(153))), cat(udh8(2, 2), gsm(a(8)))}},
		{"16-bit reference leaves 152 septets", a(161), true, CodingDefault, [][]byte{
			cat(udh16(2, 1), gsm(a(152))), cat(udh16(2, 2), gsm(a(9)))}},
		{"escape pair across the boundary moves whole", a(152) + "[" + a(10), false, CodingDefault, [][]byte{
			cat(udh8(2, 1), gsm(a(152))), cat(udh8(2, 2), gsm("["+a(10)))}},
		{"escape pair ending exactly at the boundary stays", a(151) + "]" + a(10), false, CodingDefault, [][]byte{
			cat(udh8(2, 1), gsm(a(151)+"]")), cat(udh8(2, 2), gsm(a(10)))}},
		{"three parts", a(153*2 + 1), false, CodingDefault, [][]byte{
			cat(udh8(3, 1), gsm(a(153))), cat(udh8(3, 2), gsm(a(153))), cat(udh8(3, 3), gsm(a(1)))}},
		{"70 UCS2 units: one part", ya(70), false, CodingUCS2, [][]byte{ucs(ya(70))}},
		{"71 UCS2 units: 67 + 4", ya(71), false, CodingUCS2, [][]byte{
			cat(udh8(2, 1), ucs(ya(67))), cat(udh8(2, 2), ucs(ya(4)))}},
		{"16-bit reference leaves 66 units", ya(71), true, CodingUCS2, [][]byte{
			cat(udh16(2, 1), ucs(ya(66))), cat(udh16(2, 2), ucs(ya(5)))}},
		{"emoji across the boundary moves whole", ya(66) + "🛑" + ya(10), false, CodingUCS2, [][]byte{
			cat(udh8(2, 1), ucs(ya(66))), cat(udh8(2, 2), ucs("🛑"+ya(10)))}},
		{"emoji ending exactly at the boundary stays", ya(65) + "🛑" + ya(10), false, CodingUCS2, [][]byte{
			cat(udh8(2, 1), ucs(ya(65)+"🛑")), cat(udh8(2, 2), ucs(ya(10)))}},
		{"one character outside GSM makes it all UCS2", a(100) + "ç", false, CodingUCS2, [][]byte{
			cat(udh8(2, 1), ucs(a(67))), cat(udh8(2, 2), ucs(a(33)+"ç"))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc, parts, err := SplitText(tc.s, 0x1242, tc.ref16)
			if err != nil || dc != tc.dc || len(parts) != len(tc.parts) {
				t.Fatalf("dc %#02x, %d parts, %v; want %#02x, %d", dc, len(parts), err, tc.dc, len(tc.parts))
			}
			var text strings.Builder
			for i, p := range parts {
				if !bytes.Equal(p, tc.parts[i]) {
					t.Errorf("part %d\n got %x\nwant %x", i+1, p, tc.parts[i])
				}
				if cap(p) != len(p) {
					t.Errorf("part %d: cap %d, appending would overwrite the next part", i+1, cap(p))
				}
				ud := p
				if len(parts) > 1 {
					udh, rest, err := SplitUDH(p)
					if err != nil {
						t.Fatal(err)
					}
					c, ok := ParseConcat(udh)
					if !ok || c.Total != uint8(len(parts)) || c.Part != uint8(i+1) {
						t.Errorf("part %d: concat %+v %v", i+1, c, ok)
					}
					ud = rest
				}
				s, err := DecodeText(dc, ud)
				if err != nil {
					t.Errorf("part %d does not decode alone: %v", i+1, err)
				}
				text.WriteString(s)
			}
			if text.String() != tc.s {
				t.Errorf("parts decode to %q", text.String())
			}
		})
	}
}

func TestSplitTextPartLimit(t *testing.T) {
	if _, parts, err := SplitText(strings.Repeat("a", 153*255), 1, false); err != nil || len(parts) != 255 {
		t.Fatalf("255 full parts: %d, %v", len(parts), err)
	}
	for _, s := range []string{strings.Repeat("a", 153*255+1), strings.Repeat("я", 67*255+1)} {
		if dc, parts, err := SplitText(s, 1, false); err != ErrTextTooLong || parts != nil {
			t.Errorf("%d characters: dc %#02x, %d parts, %v; want ErrTextTooLong", len([]rune(s)), dc, len(parts), err)
		}
	}
	if _, parts, err := SplitText(strings.Repeat("я", 66*255), 1, true); err != nil || len(parts) != 255 {
		t.Fatalf("255 full 16-bit UCS2 parts: %d, %v", len(parts), err)
	}
}

func FuzzSplitText(f *testing.F) {
	for _, s := range []string{"", "STOP", strings.Repeat("a€", 90), strings.Repeat("я🛑", 40), "ab\xffcd"} {
		f.Add(s, uint16(7), false)
		f.Add(s, uint16(0x1234), true)
	}
	f.Fuzz(func(t *testing.T, s string, ref uint16, ref16 bool) {
		dc, parts, err := SplitText(s, ref, ref16)
		if err != nil {
			if err != ErrTextTooLong || parts != nil {
				t.Fatalf("%d parts, %v", len(parts), err)
			}
			return
		}
		var text strings.Builder
		for i, p := range parts {
			ud := p
			if len(parts) > 1 {
				udh, rest, err := SplitUDH(p)
				c, ok := ParseConcat(udh)
				if err != nil || !ok || c.Total != uint8(len(parts)) || c.Part != uint8(i+1) {
					t.Fatalf("part %d UDH %x: %+v %v %v", i+1, udh, c, ok, err)
				}
				ud = rest
			}
			limit := 140 // octets on the air
			if dc == CodingDefault {
				limit = 160 - ((len(p)-len(ud))*8+6)/7 // septets left after the UDH and its fill bits
				if len(parts) == 1 {
					limit = 160
				}
			}
			if len(ud) > limit || len(p) > MaxShortMessage {
				t.Fatalf("part %d: %d units of user data, limit %d", i+1, len(ud), limit)
			}
			dec, err := DecodeText(dc, ud)
			if err != nil {
				t.Fatalf("part %d does not decode alone: %v", i+1, err)
			}
			text.WriteString(dec)
		}
		if utf8.ValidString(s) && text.String() != s {
			t.Fatalf("parts decode to %q, want %q", text.String(), s)
		}
	})
}
