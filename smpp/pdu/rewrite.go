package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// A receipt for a message optguard held and released later must carry the id
// the ESME was given, not the SMSC's: the receipt is relayed as a copy in
// which only that id changes, in the receipted_message_id TLV and in the id:
// field of the receipt text, wherever each is.

// Receipt rewrite errors.
var (
	ErrNotReceiptPDU = errors.New("pdu: receipt rewrite needs a deliver_sm or data_sm")
	ErrReceiptNoID   = errors.New("pdu: receipt carries no id to rewrite")
	ErrReceiptCoding = errors.New("pdu: receipt text is not in an ASCII-compatible data_coding")
	ErrReceiptNewID  = errors.New("pdu: receipt id must be 1 to 64 letters, digits, '-' or '.'")
	ErrReceiptLength = errors.New("pdu: rewritten receipt text does not fit its field")
)

// asciiText reports whether text in data_coding dc writes letters, digits,
// space, ':', '-' and '.' as their ASCII octets, so that the id: field can be
// found and written as bytes: the GSM 03.38 default alphabet (unpacked, as
// SMPP carries it), IA5, Latin-1 and the ISO-8859 alphabets.
func asciiText(dc byte) bool {
	switch alphabetOf(dc) {
	case alphaGSM7, alphaASCII, alphaLatin1, alphaCyrillic, alphaHebrew:
		return true
	}
	return false
}

// validReceiptID reports whether id can be written into receipt text in any
// ASCII-compatible coding (the characters GSM 03.38 and ASCII encode alike)
// and into receipted_message_id (65 octets, NUL included).
func validReceiptID(id string) bool {
	if len(id) == 0 || len(id) >= maxMessageID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// receiptTextOf returns the receipt text in user data ud (after its UDH when
// esm_class says there is one) and the offset of the text in ud.
func receiptTextOf(m *Message, ud []byte) (text []byte, off int, err error) {
	if !m.HasUDH() || len(ud) == 0 {
		return ud, 0, nil
	}
	udh, rest, err := SplitUDH(ud)
	if err != nil {
		return nil, 0, err
	}
	return rest, len(udh), nil
}

// ReceiptID returns the message id a receipt carries: the value of the
// receipted_message_id TLV (up to its NUL) when it is there and not empty,
// else the value of the id: field of the receipt text (short_message, or
// message_payload) when the text is in an ASCII-compatible data_coding. The
// id is a view of the PDU. It does not allocate.
func ReceiptID(m *Message) ([]byte, bool) {
	if v, ok := m.TLVs.Find(TagReceiptedMessageID); ok {
		if i := bytes.IndexByte(v, 0); i >= 0 {
			v = v[:i:i]
		}
		if len(v) > 0 {
			return v, true
		}
	}
	if !asciiText(m.DataCoding) {
		return nil, false
	}
	for _, ud := range [2][]byte{m.ShortMessage, payloadOf(m)} {
		text, _, err := receiptTextOf(m, ud)
		if err != nil {
			continue
		}
		if v, _, ok := ReceiptField(text, "id"); ok {
			return v, true
		}
	}
	return nil, false
}

func payloadOf(m *Message) []byte {
	v, _ := m.TLVs.Find(TagMessagePayload)
	return v
}

// AppendReceiptWithID appends a copy of p, a deliver_sm or data_sm receipt,
// and m, its scan, in which the message id is newID: the value of the
// receipted_message_id TLV becomes newID and its NUL, and the value of the id:
// field of the receipt text (in short_message and in the first
// message_payload, wherever there is one) becomes newID, with sm_length, the
// TLV lengths and command_length adjusted. Every other octet is copied as it is, TLVs in
// their order. It does not allocate when dst has room.
//
// newID must be 1 to 64 letters, digits, '-' or '.': the characters every
// ASCII-compatible coding, GSM 03.38 included, writes alike. Text in other
// codings (UCS2) is refused with ErrReceiptCoding; a receipt with neither a
// TLV nor an id: field is ErrReceiptNoID; a short_message that would pass 254
// octets is ErrSMTooLong.
func AppendReceiptWithID(dst, p []byte, m *Message, newID string) ([]byte, error) {
	if m.ID != DeliverSM && m.ID != DataSM {
		return dst, ErrNotReceiptPDU
	}
	if !validReceiptID(newID) {
		return dst, ErrReceiptNewID
	}
	h, err := ParseHeader(p)
	if err != nil {
		return dst, ErrTruncated
	}
	if h.ID != m.ID {
		return dst, ErrMessageMismatch
	}
	if int64(h.Length) != int64(len(p)) {
		return dst, ErrLengthMismatch
	}
	// m's views end where p does (Scan keeps the TLVs to the end), so the
	// offsets follow from their lengths; check that they are p's.
	tlvStart := len(p) - len(m.TLVs)
	smStart := tlvStart - len(m.ShortMessage)
	if smStart <= HeaderLen || !bytes.Equal(p[tlvStart:], m.TLVs) || !bytes.Equal(p[smStart:tlvStart], m.ShortMessage) ||
		(m.ID == DeliverSM && int(p[smStart-1]) != len(m.ShortMessage)) {
		return dst, ErrMessageMismatch
	}

	// The short_message text's id field, if any.
	smVal, smOff, smFound, err := findReceiptID(m, m.ShortMessage)
	if err != nil {
		return dst, err
	}
	found := smFound
	if smFound && len(m.ShortMessage)-len(smVal)+len(newID) > MaxShortMessage {
		return dst, ErrSMTooLong
	}

	orig, start := dst, len(dst)
	if m.ID == DeliverSM {
		dst = append(dst, p[:smStart-1]...)
		if smFound {
			dst = append(dst, byte(len(m.ShortMessage)-len(smVal)+len(newID)))
			dst = append(dst, m.ShortMessage[:smOff]...)
			dst = append(dst, newID...)
			dst = append(dst, m.ShortMessage[smOff+len(smVal):]...)
		} else {
			dst = append(dst, p[smStart-1:tlvStart]...)
		}
	} else {
		dst = append(dst, p[:tlvStart]...)
	}
	// Only the first message_payload is the receipt's text (TLVs.Find and
	// every reader take the first); a repeated one is copied as it is.
	payloadSeen := false
	for it := m.TLVs.Iter(); ; {
		tag, v, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case tag == TagReceiptedMessageID:
			dst = binary.BigEndian.AppendUint16(dst, uint16(tag))
			dst = binary.BigEndian.AppendUint16(dst, uint16(len(newID)+1))
			dst = append(append(dst, newID...), 0)
			found = true
			continue
		case tag == TagMessagePayload && !payloadSeen:
			payloadSeen = true
			val, off, ok, err := findReceiptID(m, v)
			if err != nil {
				return orig, err
			}
			if ok {
				n := len(v) - len(val) + len(newID)
				if n > 0xFFFF {
					return orig, ErrReceiptLength
				}
				dst = binary.BigEndian.AppendUint16(dst, uint16(tag))
				dst = binary.BigEndian.AppendUint16(dst, uint16(n))
				dst = append(dst, v[:off]...)
				dst = append(dst, newID...)
				dst = append(dst, v[off+len(val):]...)
				found = true
				continue
			}
		}
		dst = AppendTLV(dst, tag, v)
	}
	if !found {
		return orig, ErrReceiptNoID
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst, nil
}

// findReceiptID finds the id: field of the receipt text in user data ud and
// returns its value and the value's offset in ud. Text in a coding that is
// not ASCII-compatible is an error only when there is text.
func findReceiptID(m *Message, ud []byte) (val []byte, off int, ok bool, err error) {
	if len(ud) == 0 {
		return nil, 0, false, nil
	}
	if !asciiText(m.DataCoding) {
		return nil, 0, false, ErrReceiptCoding
	}
	text, textOff, err := receiptTextOf(m, ud)
	if err != nil {
		return nil, 0, false, err
	}
	val, off, ok = ReceiptField(text, "id")
	return val, textOff + off, ok, nil
}
