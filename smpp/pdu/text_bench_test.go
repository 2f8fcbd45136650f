package pdu

import (
	"strings"
	"testing"
)

func benchAppendText(b *testing.B, dc byte, text string, wantLen int) {
	ud, err := EncodeText(dc, text)
	if err != nil || len(ud) != wantLen {
		b.Fatalf("%d octets, %v", len(ud), err)
	}
	dst := make([]byte, 0, 3*len(ud))
	b.SetBytes(int64(len(ud)))
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = AppendText(dst[:0], dc, ud); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendTextGSM7_160 decodes a 160-character GSM MO with two
// extension characters, as keyword detection does.
func BenchmarkAppendTextGSM7_160(b *testing.B) {
	benchAppendText(b, CodingDefault, strings.Repeat("Please STOP all [texts] now. ", 6)[:160], 170)
}

// BenchmarkAppendTextUCS2_70 decodes a full UCS2 segment: 70 UTF-16 units
// with accents and emoji (surrogate pairs).
func BenchmarkAppendTextUCS2_70(b *testing.B) {
	benchAppendText(b, CodingUCS2, strings.Repeat("Arrêtez 🛑 ", 6)+"STOP", 140)
}
