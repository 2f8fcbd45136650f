package seal

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

var sinkP Pseudonym

// BenchmarkPseudonym is the MT path's cost of keying the consent index by
// pseudonym, beside what a keyed hash from the standard library would cost
// (the package doc's comparison; keyed BLAKE2b, which needs
// golang.org/x/crypto, was measured apart). The input is the digits as a
// PDU carries them.
func BenchmarkPseudonym(b *testing.B) {
	k := fixedKeys(b)
	const number = 15551230007 // the standard library's inputs, packed
	digits := [][]byte{[]byte("15551230007"), []byte("447700900123"), []byte("4915123456789"), []byte("33612345678")}
	b.Run("SipHash128", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkP = k.Pseudonym(digits[i&3])
		}
	})
	b.Run("AES128Block", func(b *testing.B) {
		c, err := aes.NewCipher(make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		var in [16]byte
		b.ReportAllocs()
		for i := uint64(0); b.Loop(); i++ {
			binary.BigEndian.PutUint64(in[:8], number+i)
			in[8] = 0x80 // CMAC's padding of a short block
			c.Encrypt(sinkP[:], in[:])
		}
	})
	b.Run("HMACSHA256", func(b *testing.B) {
		m := hmac.New(sha256.New, make([]byte, 32))
		var in [8]byte
		var out [32]byte
		b.ReportAllocs()
		for i := uint64(0); b.Loop(); i++ {
			binary.BigEndian.PutUint64(in[:], number+i)
			m.Reset()
			m.Write(in[:])
			m.Sum(out[:0])
		}
	})
}

// BenchmarkSubject is what a durable event pays for its sealed fields: a
// new subject (id, key, wrapped key), unwrapping a stored subject key, and
// sealing and opening a 160-byte MO text.
func BenchmarkSubject(b *testing.B) {
	k := fixedKeys(b)
	id, key, wrapped := k.NewSubject()
	text := make([]byte, 160)
	sealed := key.Seal(nil, text, id[:])
	buf := make([]byte, 0, 256)
	b.Run("New", func(b *testing.B) {
		for b.Loop() {
			k.NewSubject()
		}
	})
	b.Run("Unwrap", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Unwrap(id, wrapped); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Seal160", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = key.Seal(buf[:0], text, id[:])
		}
	})
	b.Run("Open160", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = key.Open(buf[:0], sealed, id[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
