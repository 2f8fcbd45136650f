package pdu

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// This file holds the helpers the tests share: an annotated-hex PDU reader, a
// small PDU assembler, and checks for errors and views.

// fld is one named field of a hand-assembled PDU, its octets as on the wire
// (a C-octet string includes its NUL).
type fld struct {
	name string
	b    []byte
}

// spec is a PDU as a list of named fields, header fields included.
type spec []fld

// parseHex reads a PDU written one field per line as
//
//	hex-octets-or-"quoted string"  // field_name free comment
//
// Hex octets may be grouped and spaced freely; a Go-quoted string stands for
// its bytes. The first word of the comment names the field; names are unique.
func parseHex(t testing.TB, src string) spec {
	t.Helper()
	var s spec
	seen := map[string]bool{}
	for ln, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		code, comment, ok := strings.Cut(line, "//")
		if !ok {
			t.Fatalf("hex line %d %q has no // field name", ln, line)
		}
		name := strings.Fields(comment)[0]
		if seen[name] {
			t.Fatalf("hex line %d: field %q named twice", ln, name)
		}
		seen[name] = true
		var b []byte
		code = strings.TrimSpace(code)
		for code != "" {
			if code[0] == '"' {
				q, err := strconv.QuotedPrefix(code)
				if err != nil {
					t.Fatalf("hex line %d: %v", ln, err)
				}
				u, _ := strconv.Unquote(q)
				b = append(b, u...)
				code = strings.TrimSpace(code[len(q):])
				continue
			}
			tok, rest, _ := strings.Cut(code, " ")
			h, err := hex.DecodeString(tok)
			if err != nil {
				t.Fatalf("hex line %d: %v", ln, err)
			}
			b = append(b, h...)
			code = strings.TrimSpace(rest)
		}
		s = append(s, fld{name, b})
	}
	return s
}

// mustPDU parses an annotated PDU and checks that its hand-written
// command_length is right, so that a slip in the test data shows as such.
func mustPDU(t testing.TB, src string) spec {
	t.Helper()
	s := parseHex(t, src)
	p := s.raw()
	if len(p) < HeaderLen || binary.BigEndian.Uint32(p) != uint32(len(p)) {
		t.Fatalf("test data: command_length %d, PDU has %d octets", binary.BigEndian.Uint32(p), len(p))
	}
	return s
}

// raw returns the fields' octets exactly as written.
func (s spec) raw() []byte {
	var p []byte
	for _, f := range s {
		p = append(p, f.b...)
	}
	return p
}

// framed returns the octets with command_length set to their number: the form
// for a spec that a test has changed.
func (s spec) framed() []byte {
	p := s.raw()
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}

func (s spec) index(t testing.TB, name string) int {
	t.Helper()
	for i, f := range s {
		if f.name == name {
			return i
		}
	}
	t.Fatalf("no field %q", name)
	return -1
}

// off returns the offset of the named field in the PDU.
func (s spec) off(t testing.TB, name string) int {
	t.Helper()
	n := 0
	for _, f := range s[:s.index(t, name)] {
		n += len(f.b)
	}
	return n
}

// get returns the octets of the named field.
func (s spec) get(t testing.TB, name string) []byte {
	t.Helper()
	return s[s.index(t, name)].b
}

// with returns a copy of s with the named field's octets replaced.
func (s spec) with(t testing.TB, name string, b []byte) spec {
	t.Helper()
	c := append(spec(nil), s...)
	c[s.index(t, name)].b = b
	return c
}

// upTo returns the fields before the named one (the header and body up to it).
func (s spec) upTo(t testing.TB, name string) spec {
	t.Helper()
	return append(spec(nil), s[:s.index(t, name)]...)
}

// plus returns a copy of s with more fields at its end.
func (s spec) plus(more ...fld) spec {
	return append(append(spec(nil), s...), more...)
}

// pduBytes assembles a PDU: header with the right command_length, then body.
func pduBytes(id CommandID, status Status, seq uint32, body ...[]byte) []byte {
	p := make([]byte, HeaderLen)
	binary.BigEndian.PutUint32(p[4:], uint32(id))
	binary.BigEndian.PutUint32(p[8:], uint32(status))
	binary.BigEndian.PutUint32(p[12:], seq)
	for _, b := range body {
		p = append(p, b...)
	}
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	return p
}

// cstr is s with its terminating NUL.
func cstr(s string) []byte { return append([]byte(s), 0) }

// cstrN is a C-octet string of n octets, NUL included.
func cstrN(n int) []byte { return cstr(strings.Repeat("7", n-1)) }

// tlvBytes is one TLV as on the wire.
func tlvBytes(tag Tag, v []byte) []byte { return AppendTLV(nil, tag, v) }

// unhex decodes hex written with optional spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantStatusErr fails unless err is a *StatusError identical to want (the
// package's sentinel) and carrying want's Status.
func wantStatusErr(t testing.TB, err error, want *StatusError) {
	t.Helper()
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *StatusError %v", err, err, want)
	}
	if se != want {
		t.Fatalf("error %v, want %v", se, want)
	}
	if se.Status != want.Status {
		t.Fatalf("status %v, want %v", se.Status, want.Status)
	}
}

// wantView fails unless v has the wanted octets and, when not empty, starts at
// p[off] itself (the view aliases the PDU: zero-copy).
func wantView(t testing.TB, name string, p, v []byte, want []byte, off int) {
	t.Helper()
	if !bytes.Equal(v, want) {
		t.Errorf("%s = %q, want %q", name, v, want)
		return
	}
	if len(v) > 0 && &v[0] != &p[off] {
		t.Errorf("%s does not alias the PDU at offset %d", name, off)
	}
	if cap(v) > 0 && !inside(p, v) {
		t.Errorf("%s reaches past the PDU (cap %d)", name, cap(v))
	}
}

// inside reports whether all of v's capacity lies within p[:len(p)]: a view
// handed out by the scanner must not let anyone read or append past the PDU.
func inside(p, v []byte) bool {
	if cap(v) == 0 {
		return true
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	return start >= base && start+uintptr(cap(v)) <= base+uintptr(len(p))
}

// withSpareCap copies p into a larger buffer filled with junk after it, so that
// a view that forgets to cap itself would show in inside().
func withSpareCap(p []byte) []byte {
	buf := make([]byte, len(p), len(p)+64)
	copy(buf, p)
	junk := buf[len(p):cap(buf)]
	for i := range junk {
		junk[i] = 0xEE
	}
	return buf
}
