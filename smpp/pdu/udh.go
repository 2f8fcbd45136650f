package pdu

import (
	"encoding/binary"
	"errors"
)

// UDH errors.
var (
	ErrUDHLength = errors.New("pdu: user data header length runs past the user data")
	ErrUDHIE     = errors.New("pdu: user data header element runs past the header")
)

// Information element identifiers of the user data header (3GPP TS 23.040).
const (
	IEConcat8  byte = 0x00 // concatenated message, 8-bit reference
	IEConcat16 byte = 0x08 // concatenated message, 16-bit reference
)

// SplitUDH splits user data that starts with a user data header (esm_class
// UDHI set) into the header, its length octet included, and the rest.
func SplitUDH(ud []byte) (udh, rest []byte, err error) {
	if len(ud) == 0 {
		return nil, nil, ErrUDHLength
	}
	n := int(ud[0]) + 1
	if n > len(ud) {
		return nil, nil, ErrUDHLength
	}
	return ud[:n:n], ud[n:], nil
}

// Concat says which part of a concatenated message this is.
type Concat struct {
	Ref   uint16 // reference shared by all parts
	Total uint8  // number of parts
	Part  uint8  // this part, 1-based
}

// ParseConcat finds the concatenation element in a user data header (as
// returned by SplitUDH). ok is false when there is none or it is malformed.
func ParseConcat(udh []byte) (c Concat, ok bool) {
	if len(udh) == 0 {
		return c, false
	}
	ies := udh[1:]
	for len(ies) >= 2 {
		id, n := ies[0], int(ies[1])
		if n > len(ies)-2 {
			return Concat{}, false
		}
		v := ies[2 : 2+n]
		switch {
		case id == IEConcat8 && n == 3:
			c = Concat{Ref: uint16(v[0]), Total: v[1], Part: v[2]}
			ok = true
		case id == IEConcat16 && n == 4:
			c = Concat{Ref: binary.BigEndian.Uint16(v[0:2]), Total: v[2], Part: v[3]}
			ok = true
		}
		ies = ies[2+n:]
	}
	if ok && (c.Total == 0 || c.Part == 0 || c.Part > c.Total) {
		return Concat{}, false
	}
	return c, ok
}

// AppendConcatUDH appends a user data header holding only a concatenation
// element, with an 8-bit reference unless ref16 is set.
func AppendConcatUDH(dst []byte, c Concat, ref16 bool) []byte {
	if ref16 {
		dst = append(dst, 6, IEConcat16, 4)
		dst = binary.BigEndian.AppendUint16(dst, c.Ref)
		return append(dst, c.Total, c.Part)
	}
	return append(dst, 5, IEConcat8, 3, byte(c.Ref), c.Total, c.Part)
}
