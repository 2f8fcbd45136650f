package pdu

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// lengthPrefix is a buffer whose first four octets are command_length l,
// followed by have-4 more octets (have ≥ 4).
func lengthPrefix(l uint32, have int) []byte {
	b := make([]byte, have)
	binary.BigEndian.PutUint32(b, l)
	return b
}

func TestFrame(t *testing.T) {
	tests := []struct {
		name   string
		buf    []byte
		maxLen uint32
		n      int
		err    *StatusError
	}{
		{"empty buffer needs more", nil, DefaultMaxLen, 0, nil},
		{"1 octet needs more", []byte{0}, DefaultMaxLen, 0, nil},
		{"2 octets need more", []byte{0, 0}, DefaultMaxLen, 0, nil},
		{"3 octets need more", []byte{0, 0, 0}, DefaultMaxLen, 0, nil},
		{"command_length 0", lengthPrefix(0, 16), DefaultMaxLen, 0, ErrLengthTooShort},
		{"command_length 15", lengthPrefix(15, 16), DefaultMaxLen, 0, ErrLengthTooShort},
		{"command_length 0 refused from 4 octets", lengthPrefix(0, 4), DefaultMaxLen, 0, ErrLengthTooShort},
		{"command_length 16 whole", lengthPrefix(16, 16), DefaultMaxLen, 16, nil},
		{"command_length 16 with 15 octets needs more", lengthPrefix(16, 15), DefaultMaxLen, 0, nil},
		{"command_length 16 from 4 octets needs more", lengthPrefix(16, 4), DefaultMaxLen, 0, nil},
		{"partial body needs more", lengthPrefix(40, 39), DefaultMaxLen, 0, nil},
		{"whole body", lengthPrefix(40, 40), DefaultMaxLen, 40, nil},
		{"more than one PDU returns the first", lengthPrefix(20, 60), DefaultMaxLen, 20, nil},
		{"command_length 2^31", lengthPrefix(1<<31, 16), DefaultMaxLen, 0, ErrLengthTooLong},
		{"command_length 2^32-1", lengthPrefix(0xFFFFFFFF, 16), DefaultMaxLen, 0, ErrLengthTooLong},
		{"command_length maxLen whole", lengthPrefix(DefaultMaxLen, DefaultMaxLen), DefaultMaxLen, DefaultMaxLen, nil},
		{"command_length maxLen partial", lengthPrefix(DefaultMaxLen, DefaultMaxLen-1), DefaultMaxLen, 0, nil},
		{"command_length maxLen+1 refused from 4 octets", lengthPrefix(DefaultMaxLen+1, 4), DefaultMaxLen, 0, ErrLengthTooLong},
		{"command_length maxLen+1 refused when all there", lengthPrefix(DefaultMaxLen+1, DefaultMaxLen+1), DefaultMaxLen, 0, ErrLengthTooLong},
		{"small maxLen", lengthPrefix(100, 200), 99, 0, ErrLengthTooLong},
		{"maxLen below 16 refuses everything", lengthPrefix(16, 16), 15, 0, ErrLengthTooLong},
		{"huge maxLen, 2^31 needs more", lengthPrefix(1<<31, 16), 0xFFFFFFFF, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Frame(tc.buf, tc.maxLen)
			if n != tc.n {
				t.Errorf("n = %d, want %d", n, tc.n)
			}
			if tc.err == nil {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			wantStatusErr(t, err, tc.err)
		})
	}
}

func TestFrameBackToBack(t *testing.T) {
	// A read buffer holding several PDUs and the start of the next: Frame walks
	// them in order and then asks for more.
	var buf []byte
	buf = AppendEnquireLink(buf, 1)
	buf = append(buf, mustPDU(t, hexSubmitSM).raw()...)
	buf = AppendSubmitSMResp(buf, ESME_ROK, 3, "abc")
	buf = append(buf, mustPDU(t, hexDeliverReceipt).raw()...)
	next := mustPDU(t, hexDeliverMO).raw()
	buf = append(buf, next[:10]...)

	wantIDs := []CommandID{EnquireLink, SubmitSM, SubmitSMResp, DeliverSM}
	var got []CommandID
	rest := buf
	for {
		n, err := Frame(rest, DefaultMaxLen)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		p := rest[:n]
		got = append(got, ID(p))
		if ID(p) == SubmitSM || ID(p) == DeliverSM {
			var m Message
			if err := Scan(p, &m); err != nil {
				t.Fatalf("Scan of framed %v: %v", ID(p), err)
			}
		}
		rest = rest[n:]
	}
	if len(got) != len(wantIDs) {
		t.Fatalf("framed %v, want %v", got, wantIDs)
	}
	for i := range got {
		if got[i] != wantIDs[i] {
			t.Fatalf("framed %v, want %v", got, wantIDs)
		}
	}
	if !bytes.Equal(rest, next[:10]) {
		t.Errorf("left over %x, want the partial PDU", rest)
	}
	// The rest of the partial PDU arrives: now it frames.
	rest = append(rest, next[10:]...)
	if n, err := Frame(rest, DefaultMaxLen); err != nil || n != len(next) {
		t.Errorf("after the rest arrived: %d, %v", n, err)
	}
}

func TestParseHeader(t *testing.T) {
	p := unhex(t, "0000002a 80000004 00000058 7fffffff ffff")
	h, err := ParseHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Length: 42, ID: SubmitSMResp, Status: ESME_RTHROTTLED, Seq: MaxSeq}
	if h != want {
		t.Errorf("ParseHeader = %+v, want %+v", h, want)
	}
	if ID(p) != want.ID || StatusOf(p) != want.Status || Seq(p) != want.Seq {
		t.Errorf("ID/StatusOf/Seq = %v %v %d", ID(p), StatusOf(p), Seq(p))
	}
	for n := 0; n < HeaderLen; n++ {
		if _, err := ParseHeader(p[:n]); err != ErrShortHeader {
			t.Errorf("%d octets: %v, want ErrShortHeader", n, err)
		}
	}
}

func TestSetSeqPatchesOnlyTheSequenceNumber(t *testing.T) {
	orig := mustPDU(t, hexSubmitSM).raw()
	for _, seq := range []uint32{0, 1, 0x01020304, MaxSeq, 0xFFFFFFFF} {
		p := append([]byte(nil), orig...)
		SetSeq(p, seq)
		if Seq(p) != seq {
			t.Errorf("Seq after SetSeq(%#x) = %#x", seq, Seq(p))
		}
		if !bytes.Equal(p[:12], orig[:12]) || !bytes.Equal(p[16:], orig[16:]) {
			t.Errorf("SetSeq(%#x) changed octets outside 12..15", seq)
		}
		if got := binary.BigEndian.Uint32(p[12:16]); got != seq {
			t.Errorf("octets 12..15 = %#x", got)
		}
	}
}

func TestNextSeq(t *testing.T) {
	tests := []struct{ in, want uint32 }{
		{0, 1},
		{1, 2},
		{41, 42},
		{MaxSeq - 1, MaxSeq},
		{MaxSeq, 1},
		{MaxSeq + 1, 1}, // out of range: back into range
		{0xFFFFFFFF, 1},
	}
	for _, tc := range tests {
		if got := NextSeq(tc.in); got != tc.want {
			t.Errorf("NextSeq(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
	// Walk across the wrap: never 0, never above MaxSeq.
	s := uint32(MaxSeq - 3)
	for i := 0; i < 8; i++ {
		s = NextSeq(s)
		if s == 0 || s > MaxSeq {
			t.Fatalf("NextSeq returned %#x", s)
		}
	}
	if s != 5 { // MaxSeq-2, MaxSeq-1, MaxSeq, 1, 2, 3, 4, 5
		t.Errorf("8 steps from MaxSeq-3 reach %d, want 5", s)
	}
}
