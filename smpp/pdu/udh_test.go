package pdu

import (
	"bytes"
	"testing"
)

func TestSplitUDH(t *testing.T) {
	tests := []struct {
		name      string
		ud        string
		udh, rest string
		err       error
	}{
		{"concat header and text", "050003a70201 48656c6c6f", "050003a70201", "48656c6c6f", nil},
		{"header only", "050003a70201", "050003a70201", "", nil},
		{"empty header", "00 41", "00", "41", nil},
		{"empty header, nothing after", "00", "00", "", nil},
		{"no user data", "", "", "", ErrUDHLength},
		{"header length past the user data", "050003a702", "", "", ErrUDHLength},
		{"header length 0xff", "ff00", "", "", ErrUDHLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ud := unhex(t, tc.ud)
			ud = ud[:len(ud):len(ud)] // as a scanned view is
			udh, rest, err := SplitUDH(ud)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				if udh != nil || rest != nil {
					t.Errorf("udh %x rest %x on error", udh, rest)
				}
				return
			}
			wantView(t, "udh", ud, udh, unhex(t, tc.udh), 0)
			wantView(t, "rest", ud, rest, unhex(t, tc.rest), len(udh))
			if cap(udh) != len(udh) {
				t.Errorf("udh cap %d: appending to it would overwrite the text", cap(udh))
			}
		})
	}
}

func TestParseConcat(t *testing.T) {
	tests := []struct {
		name string
		udh  string
		want Concat
		ok   bool
	}{
		{"8-bit reference", "05 00 03 a7 02 01", Concat{Ref: 0xa7, Total: 2, Part: 1}, true},
		{"8-bit last part", "05 00 03 00 ff ff", Concat{Ref: 0, Total: 255, Part: 255}, true},
		{"16-bit reference", "06 08 04 1234 03 02", Concat{Ref: 0x1234, Total: 3, Part: 2}, true},
		{"port addressing element before it", "0b 05 04 0b84 23f0 00 03 a7 02 01", Concat{Ref: 0xa7, Total: 2, Part: 1}, true},
		{"empty element before a 16-bit one", "08 0a 00 08 04 beef 02 02", Concat{Ref: 0xbeef, Total: 2, Part: 2}, true},
		{"element after it", "08 00 03 01 02 02 0a 01 00", Concat{Ref: 1, Total: 2, Part: 2}, true},
		{"part 0", "05 00 03 a7 02 00", Concat{}, false},
		{"part above total", "05 00 03 a7 02 03", Concat{}, false},
		{"total 0", "05 00 03 a7 00 00", Concat{}, false},
		{"16-bit part above total", "06 08 04 1234 02 03", Concat{}, false},
		{"8-bit element of length 2", "04 00 02 a7 02", Concat{}, false},
		{"8-bit element of length 4", "06 00 04 a7 02 01 00", Concat{}, false},
		{"16-bit element of length 3", "05 08 03 12 02 01", Concat{}, false},
		{"element length past the header", "05 00 05 a7 02 01", Concat{}, false},
		{"earlier element length past the header", "05 05 09 00 03 a7", Concat{}, false},
		{"no concatenation element", "06 05 04 0b84 23f0", Concat{}, false},
		{"empty header", "00", Concat{}, false},
		{"nothing", "", Concat{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := ParseConcat(unhex(t, tc.udh))
			if ok != tc.ok || c != tc.want {
				t.Errorf("ParseConcat = %+v, %v; want %+v, %v", c, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAppendConcatUDH(t *testing.T) {
	tests := []struct {
		name  string
		c     Concat
		ref16 bool
		want  string
		back  Concat // what ParseConcat reads back
	}{
		{"8-bit", Concat{Ref: 0xa7, Total: 2, Part: 1}, false, "050003a70201", Concat{Ref: 0xa7, Total: 2, Part: 1}},
		{"8-bit keeps the low octet of the reference", Concat{Ref: 0x1234, Total: 3, Part: 3}, false, "050003340303", Concat{Ref: 0x34, Total: 3, Part: 3}},
		{"16-bit", Concat{Ref: 0x1234, Total: 3, Part: 2}, true, "060804123403 02", Concat{Ref: 0x1234, Total: 3, Part: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ud := AppendConcatUDH([]byte("x"), tc.c, tc.ref16)
			if !bytes.Equal(ud, append([]byte("x"), unhex(t, tc.want)...)) {
				t.Fatalf("AppendConcatUDH = %x, want x+%s", ud, tc.want)
			}
			ud = append(ud[1:], "text"...)
			udh, rest, err := SplitUDH(ud)
			if err != nil || string(rest) != "text" {
				t.Fatalf("SplitUDH: %x %q %v", udh, rest, err)
			}
			if c, ok := ParseConcat(udh); !ok || c != tc.back {
				t.Errorf("ParseConcat = %+v, %v; want %+v", c, ok, tc.back)
			}
		})
	}
}
