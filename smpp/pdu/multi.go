package pdu

import (
	"encoding/binary"
	"errors"
	"strings"
)

// submit_multi is the one request whose relayed bytes optguard changes besides
// receipts: refused destinations are taken out of the destination list, and the
// SMSC's submit_multi_resp is merged with optguard's own refusals before the
// ESME sees it. Both rewrites copy every other octet as it was.

// submit_multi errors.
var (
	ErrNotSubmitMulti     = errors.New("pdu: not a submit_multi")
	ErrNotSubmitMultiResp = errors.New("pdu: not a submit_multi_resp")
	ErrMessageMismatch    = errors.New("pdu: message view is not a scan of this PDU")
	ErrUnsuccessTruncated = errors.New("pdu: submit_multi_resp ends inside its unsuccess_sme list")
	ErrTooManyUnsuccess   = errors.New("pdu: more than 255 unsuccess_sme entries")
)

// maxUnsuccess is the most entries no_unsuccess (one octet) can count.
const maxUnsuccess = 255

// UnsuccessSME is one entry of a submit_multi_resp's unsuccess_sme list: a
// destination the message was not submitted to, and why.
type UnsuccessSME struct {
	TON, NPI byte
	Addr     string
	Status   Status
}

// AppendSubmitMultiResp appends a submit_multi_resp.
//
// The body (message_id, no_unsuccess, unsuccess_sme) is sent when status is
// ESME_ROK or when there are unsuccess entries: an ESME whose every destination
// was refused gets the refusal status in the header and, for each destination,
// the reason, which is what submit_multi_resp exists to carry. An error
// without entries is a header alone, as AppendResp sends it.
//
// The message_id is cut to 64 octets and an address to 20 (the specification's
// maxima, NUL excluded), each also at its first NUL, and at most 255 entries
// are written: the PDU stays well formed whatever the caller passes. Addresses
// come from scanned destinations, which never exceed these limits.
func AppendSubmitMultiResp(dst []byte, status Status, seq uint32, messageID string, unsuccess []UnsuccessSME) []byte {
	w := Begin(dst, SubmitMultiResp, status, seq)
	if status != ESME_ROK && len(unsuccess) == 0 {
		return w.End()
	}
	w.CString(cstringField(messageID, maxMessageID))
	if len(unsuccess) > maxUnsuccess {
		unsuccess = unsuccess[:maxUnsuccess]
	}
	w.Byte(byte(len(unsuccess)))
	w.b = appendUnsuccess(w.b, unsuccess)
	return w.End()
}

// cstringField returns s cut so that it fits a C-octet string of max octets,
// NUL included, and holds no NUL of its own.
func cstringField(s string, max int) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if len(s) > max-1 {
		s = s[:max-1]
	}
	return s
}

func appendUnsuccess(dst []byte, unsuccess []UnsuccessSME) []byte {
	for i := range unsuccess {
		u := &unsuccess[i]
		dst = append(dst, u.TON, u.NPI)
		dst = append(dst, cstringField(u.Addr, maxAddr21)...)
		dst = append(dst, 0)
		dst = binary.BigEndian.AppendUint32(dst, uint32(u.Status))
	}
	return dst
}

// multiResp holds the offsets of the parts of a submit_multi_resp.
type multiResp struct {
	body    bool // false: a header alone
	idEnd   int  // offset after message_id's NUL
	count   int  // no_unsuccess
	listEnd int  // offset after the last unsuccess_sme entry (start of any TLVs)
}

// scanSubmitMultiResp checks p, a whole framed submit_multi_resp, and finds
// its parts. A body that ends right after message_id is read as no_unsuccess
// 0: SMSCs that refuse nothing are known to leave the octet out, and nothing
// else can be meant.
func scanSubmitMultiResp(p []byte) (r multiResp, err error) {
	h, err := ParseHeader(p)
	if err != nil {
		return r, ErrTruncated
	}
	if h.ID != SubmitMultiResp {
		return r, ErrNotSubmitMultiResp
	}
	if int64(h.Length) != int64(len(p)) {
		return r, ErrLengthMismatch
	}
	if len(p) == HeaderLen {
		return multiResp{idEnd: HeaderLen, listEnd: HeaderLen}, nil
	}
	r.body = true
	f := field{b: p, off: HeaderLen}
	if _, err := f.cstring(maxMessageID, ErrMessageID); err != nil {
		return r, err
	}
	r.idEnd = f.off
	if f.off == len(p) {
		r.listEnd = f.off
		return r, nil
	}
	n, _ := f.byte1()
	r.count = int(n)
	for i := 0; i < r.count; i++ {
		var a Address
		if err := f.address(maxAddr21, ErrDestAddr, &a); err != nil {
			if err == ErrTruncated {
				err = ErrUnsuccessTruncated
			}
			return r, err
		}
		if len(p)-f.off < 4 {
			return r, ErrUnsuccessTruncated
		}
		f.off += 4
	}
	r.listEnd = f.off
	return r, nil
}

// ParseSubmitMultiResp reads a submit_multi_resp: its message_id (a view of p;
// empty when the response is a header alone) and its unsuccess_sme list
// (copied, so it allocates: this is for tests and tools, not the relay path,
// which merges with AppendMergedSubmitMultiResp). Octets after the list (TLVs)
// are not checked.
func ParseSubmitMultiResp(p []byte) (messageID []byte, unsuccess []UnsuccessSME, err error) {
	r, err := scanSubmitMultiResp(p)
	if err != nil {
		return nil, nil, err
	}
	if !r.body {
		return nil, nil, nil
	}
	messageID = p[HeaderLen : r.idEnd-1 : r.idEnd-1]
	if r.count == 0 {
		return messageID, nil, nil
	}
	unsuccess = make([]UnsuccessSME, 0, r.count)
	f := field{b: p, off: r.idEnd + 1}
	for range r.count {
		var a Address
		_ = f.address(maxAddr21, ErrDestAddr, &a) // checked by scanSubmitMultiResp
		st := Status(binary.BigEndian.Uint32(p[f.off:]))
		f.off += 4
		unsuccess = append(unsuccess, UnsuccessSME{TON: a.TON, NPI: a.NPI, Addr: string(a.Addr), Status: st})
	}
	return messageID, unsuccess, nil
}

// AppendMergedSubmitMultiResp appends a copy of resp, the SMSC's
// submit_multi_resp, whose unsuccess_sme list is the SMSC's own entries
// followed by extra (the destinations optguard removed before relaying), with
// no_unsuccess and command_length updated. The header (status, sequence
// number), message_id, the SMSC's entries and any octets after the list (TLVs)
// are copied as they are. A response without a body (an error status) gets
// one: an empty message_id and the entries. With no extra entries the copy is
// resp itself, octet for octet. It does not allocate when dst has room.
func AppendMergedSubmitMultiResp(dst, resp []byte, extra []UnsuccessSME) ([]byte, error) {
	r, err := scanSubmitMultiResp(resp)
	if err != nil {
		return dst, err
	}
	if len(extra) == 0 {
		return append(dst, resp...), nil
	}
	if r.count+len(extra) > maxUnsuccess {
		return dst, ErrTooManyUnsuccess
	}
	start := len(dst)
	if !r.body {
		dst = append(dst, resp[:HeaderLen]...)
		dst = append(dst, 0) // empty message_id
	} else {
		dst = append(dst, resp[:r.idEnd]...)
	}
	dst = append(dst, byte(r.count+len(extra)))
	if r.count > 0 {
		dst = append(dst, resp[r.idEnd+1:r.listEnd]...)
	}
	dst = appendUnsuccess(dst, extra)
	dst = append(dst, resp[r.listEnd:]...)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst, nil
}

// AppendSubmitMultiWithout appends a copy of p, a submit_multi, and m, its scan,
// that keeps only the destinations keep accepts (i counts from 0 in wire
// order), with number_of_dests and command_length updated; every other octet
// (header, mandatory fields, short_message, TLVs in their order) is copied as
// it is. It returns how many destinations remain. None remaining is not an
// error: number_of_dests is then 0, a PDU that must not be relayed, and the
// caller refuses the submit_multi instead. It does not allocate when dst has
// room; the Dest passed to keep holds views of p.
func AppendSubmitMultiWithout(dst, p []byte, m *Message, keep func(i int, d Dest) bool) (out []byte, kept int, err error) {
	if m.ID != SubmitMulti {
		return dst, 0, ErrNotSubmitMulti
	}
	h, err := ParseHeader(p)
	if err != nil {
		return dst, 0, ErrTruncated
	}
	if h.ID != SubmitMulti {
		return dst, 0, ErrNotSubmitMulti
	}
	if int64(h.Length) != int64(len(p)) {
		return dst, 0, ErrLengthMismatch
	}
	// Find number_of_dests in p itself, so that the offsets are p's even if m
	// were stale; m must agree with what is found.
	f := field{b: p, off: HeaderLen}
	if _, err := f.cstring(maxServiceType, ErrServiceType); err != nil {
		return dst, 0, err
	}
	var src Address
	if err := f.address(maxAddr21, ErrSourceAddr, &src); err != nil {
		return dst, 0, err
	}
	countOff := f.off
	n, err := f.byte1()
	if err != nil {
		return dst, 0, err
	}
	if int(n) != m.NumDests {
		return dst, 0, ErrMessageMismatch
	}
	orig, start := dst, len(dst)
	dst = append(dst, p[:countOff+1]...)
	it := DestIter{f: field{b: p, off: f.off}}
	for i := range int(n) {
		from := it.f.off
		d, ok := it.Next()
		if !ok {
			return orig, 0, ErrMessageMismatch
		}
		if keep(i, d) {
			dst = append(dst, p[from:it.f.off]...)
			kept++
		}
	}
	if it.f.off-f.off != len(m.dests) {
		return orig, 0, ErrMessageMismatch
	}
	dst = append(dst, p[it.f.off:]...)
	dst[start+countOff] = byte(kept)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst, kept, nil
}
