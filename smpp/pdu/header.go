package pdu

import (
	"encoding/binary"
	"errors"
)

// HeaderLen is the length of the PDU header: command_length, command_id,
// command_status and sequence_number, four octets each.
const HeaderLen = 16

// DefaultMaxLen is the default maximum command_length optguard accepts (64 KiB).
const DefaultMaxLen = 64 * 1024

// MaxSeq is the largest sequence number; counters wrap from it back to 1.
const MaxSeq = 0x7FFFFFFF

// Framing errors. A stream whose command_length is out of range cannot be framed
// any further: the connection is answered with generic_nack and closed.
var (
	ErrShortHeader = errors.New("pdu: short header")
	// ErrLengthTooShort: command_length below 16 (it cannot even hold the header).
	ErrLengthTooShort = statusErr(ESME_RINVCMDLEN, "command_length below 16")
	// ErrLengthTooLong: command_length above the configured maximum.
	ErrLengthTooLong = statusErr(ESME_RINVCMDLEN, "command_length above the maximum")
)

// Header is the fixed 16-octet header of every PDU.
type Header struct {
	Length uint32
	ID     CommandID
	Status Status
	Seq    uint32
}

// ParseHeader reads the header at the start of b. It checks only that 16 octets
// are there; Frame checks the length against the limits.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShortHeader
	}
	return Header{
		Length: binary.BigEndian.Uint32(b[0:4]),
		ID:     CommandID(binary.BigEndian.Uint32(b[4:8])),
		Status: Status(binary.BigEndian.Uint32(b[8:12])),
		Seq:    binary.BigEndian.Uint32(b[12:16]),
	}, nil
}

// Frame finds the first PDU in buf. It returns the PDU's length n when all of it
// is in buf, 0 with a nil error when more bytes are needed, and an error when
// command_length is below 16 or above maxLen. The length is read as soon as four
// octets are there, so that a bad length is refused before its bytes arrive.
func Frame(buf []byte, maxLen uint32) (n int, err error) {
	if len(buf) < 4 {
		return 0, nil
	}
	l := binary.BigEndian.Uint32(buf[0:4])
	if l < HeaderLen {
		return 0, ErrLengthTooShort
	}
	if l > maxLen {
		return 0, ErrLengthTooLong
	}
	if uint64(len(buf)) < uint64(l) {
		return 0, nil
	}
	return int(l), nil
}

// ID returns the command_id of a framed PDU (len(p) ≥ 16).
func ID(p []byte) CommandID { return CommandID(binary.BigEndian.Uint32(p[4:8])) }

// StatusOf returns the command_status of a framed PDU (len(p) ≥ 16).
func StatusOf(p []byte) Status { return Status(binary.BigEndian.Uint32(p[8:12])) }

// Seq returns the sequence_number of a framed PDU (len(p) ≥ 16).
func Seq(p []byte) uint32 { return binary.BigEndian.Uint32(p[12:16]) }

// SetSeq overwrites the sequence_number of a framed PDU in place: the only change
// optguard makes to a relayed PDU.
func SetSeq(p []byte, seq uint32) { binary.BigEndian.PutUint32(p[12:16], seq) }

// NextSeq returns the sequence number after seq: 1 … MaxSeq, then 1 again.
func NextSeq(seq uint32) uint32 {
	if seq >= MaxSeq {
		return 1
	}
	return seq + 1
}
