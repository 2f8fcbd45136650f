package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optguard/optguard/smpp/pdu"
)

// MO is a mobile-originated message the simulator delivers to the ESME side as
// deliver_sm.
type MO struct {
	From, To string // source_addr (the handset) and destination_addr (the ESME's number)
	Text     string

	// DataCoding encodes Text with pdu.EncodeText; nil = pdu.EncodeBest (GSM 03.38
	// when it can, else UCS2).
	DataCoding *byte

	// Parts > 1 splits the encoded text into that many deliver_sm: each with an
	// 8-bit concatenation UDH (esm_class |= 0x40), or with the SAR TLVs
	// sar_msg_ref_num, sar_total_segments and sar_segment_seqnum when UseSAR.
	Parts  int
	UseSAR bool

	// Payload sends the user data (UDH included) in the message_payload TLV
	// with an empty short_message.
	Payload bool

	TLVs     []pdu.TLV // appended after the TLVs above
	EsmClass byte      // message mode/type bits; UDHI is added when a UDH is sent
}

// ReceiptSpec describes a delivery receipt the simulator sends as deliver_sm.
type ReceiptSpec struct {
	MessageID string // the SMSC message id the receipt is for
	From      string // source_addr: the handset (the original message's destination)
	To        string // destination_addr: the original message's source
	Stat      string // DELIVRD (default), EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE
	Err       int
}

// message_state values (SMPP v3.4 section 5.2.28).
const (
	stateEnroute       byte = 1
	stateDelivered     byte = 2
	stateExpired       byte = 3
	stateDeleted       byte = 4
	stateUndeliverable byte = 5
	stateAccepted      byte = 6
	stateUnknown       byte = 7
	stateRejected      byte = 8
)

func messageState(stat string) byte {
	switch strings.ToUpper(stat) {
	case "ENROUTE":
		return stateEnroute
	case "DELIVRD":
		return stateDelivered
	case "EXPIRED":
		return stateExpired
	case "DELETED":
		return stateDeleted
	case "UNDELIV":
		return stateUndeliverable
	case "ACCEPTD":
		return stateAccepted
	case "REJECTD":
		return stateRejected
	}
	return stateUnknown
}

// addrOf gives an address the usual TON/NPI: international/E.164 for numbers,
// alphanumeric for anything else.
func addrOf(a string) pdu.Addr {
	digits := strings.TrimPrefix(a, "+")
	if digits == "" {
		return pdu.Addr{Addr: a}
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return pdu.Addr{TON: 5, NPI: 0, Addr: a}
		}
	}
	return pdu.Addr{TON: 1, NPI: 1, Addr: a}
}

// buildReceipt encodes a receipt deliver_sm with sequence number seq.
func buildReceipt(seq uint32, r ReceiptSpec, from, to pdu.Addr, submitted, done time.Time, text string) ([]byte, error) {
	if r.Stat == "" {
		r.Stat = "DELIVRD"
	}
	dlvrd := 0
	if strings.EqualFold(r.Stat, "DELIVRD") {
		dlvrd = 1
	}
	body := pdu.AppendReceiptText(nil, pdu.Receipt{
		ID: r.MessageID, Sub: 1, Dlvrd: dlvrd, SubmitDate: submitted, DoneDate: done,
		Stat: strings.ToUpper(r.Stat), Err: r.Err, Text: text,
	})
	from.Addr, to.Addr = r.From, r.To
	return pdu.AppendDeliverSM(nil, seq, &pdu.SM{
		Source:       from,
		Dest:         to,
		EsmClass:     pdu.EsmClassReceipt,
		DataCoding:   pdu.CodingDefault,
		ShortMessage: body,
		TLVs: []pdu.TLV{
			{Tag: pdu.TagReceiptedMessageID, Value: append([]byte(r.MessageID), 0)},
			{Tag: pdu.TagMessageState, Value: []byte{messageState(r.Stat)}},
		},
	})
}

// appendAutoReceipt appends the automatic receipt (sequence number 0) of
// message m, with id and text body: what buildReceipt builds, written field
// by field from m's octets so that it allocates nothing.
func appendAutoReceipt(dst []byte, m *pdu.Message, id []byte, stat string, body []byte) []byte {
	var idz [len(session{}.idb) + 1]byte
	state := [1]byte{messageState(stat)}
	w := pdu.Begin(dst, pdu.DeliverSM, pdu.ESME_ROK, 0)
	w.Byte(0) // service_type
	w.Byte(m.Dest.TON).Byte(m.Dest.NPI).Octets(m.Dest.Addr).Byte(0)
	w.Byte(m.Source.TON).Byte(m.Source.NPI).Octets(m.Source.Addr).Byte(0)
	// esm_class, protocol_id, priority_flag, schedule_delivery_time,
	// validity_period, registered_delivery, replace_if_present,
	// data_coding, sm_default_msg_id.
	w.Byte(pdu.EsmClassReceipt).Byte(0).Byte(0).Byte(0).Byte(0).Byte(0).Byte(0).Byte(pdu.CodingDefault).Byte(0)
	w.Byte(byte(len(body))).Octets(body) // about 200 octets at most: the text is cut at 20 characters
	w.TLV(pdu.TagReceiptedMessageID, append(append(idz[:0], id...), 0))
	w.TLV(pdu.TagMessageState, state[:])
	return w.End()
}

// appendReceiptText appends what pdu.AppendReceiptText writes for an
// automatic receipt (sub 1, submitted and done at at, err 0, stat upper
// case), from octets.
func appendReceiptText(dst, id []byte, stat string, at time.Time, text []byte) []byte {
	dlvrd := "000"
	if stat == "DELIVRD" {
		dlvrd = "001"
	}
	dst = append(append(dst, "id:"...), id...)
	dst = append(append(dst, " sub:001 dlvrd:"...), dlvrd...)
	dst = at.AppendFormat(append(dst, " submit date:"...), receiptDateLayout)
	dst = at.AppendFormat(append(dst, " done date:"...), receiptDateLayout)
	dst = append(append(dst, " stat:"...), stat...)
	dst = append(dst, " err:000 text:"...)
	// The first 20 characters, as pdu.AppendReceiptText cuts them.
	for i, n := 0, 0; i < len(text); n++ {
		if n == 20 {
			text = text[:i]
			break
		}
		_, size := utf8.DecodeRune(text[i:])
		i += size
	}
	return append(dst, text...)
}

// receiptDateLayout is the layout of a receipt's submit date and done date.
const receiptDateLayout = "0601021504"

// SendMO delivers an MO message to a bound receiver or transceiver session of
// systemID ("" = any), waiting for one to bind until ctx ends. Parts are sent
// one after the other, each waiting for its response; it returns the
// command_status of each part's deliver_sm_resp (or generic_nack). An error
// means a part got no response (the statuses so far are returned with it).
func (s *SMSC) SendMO(ctx context.Context, systemID string, mo MO) ([]pdu.Status, error) {
	pdus, err := s.buildMO(mo)
	if err != nil {
		return nil, err
	}
	ss, err := s.pickSession(ctx, systemID, false)
	if err != nil {
		return nil, err
	}
	statuses := make([]pdu.Status, 0, len(pdus))
	for i, p := range pdus {
		resp, err := ss.request(ctx, p)
		if err != nil {
			return statuses, fmt.Errorf("testenv: MO part %d/%d: %w", i+1, len(pdus), err)
		}
		statuses = append(statuses, pdu.StatusOf(resp))
	}
	return statuses, nil
}

// buildMO encodes the deliver_sm of each part, sequence number 0.
func (s *SMSC) buildMO(mo MO) ([][]byte, error) {
	var dc byte
	var ud []byte
	if mo.DataCoding == nil {
		dc, ud = pdu.EncodeBest(mo.Text)
	} else {
		dc = *mo.DataCoding
		var err error
		if ud, err = pdu.EncodeText(dc, mo.Text); err != nil {
			return nil, fmt.Errorf("testenv: MO text: %w", err)
		}
	}
	parts := max(mo.Parts, 1)
	chunks, err := splitUserData(ud, parts, dc)
	if err != nil {
		return nil, err
	}
	ref := byte(s.concatRef.Add(1))
	out := make([][]byte, 0, parts)
	for i, chunk := range chunks {
		sm := pdu.SM{
			Source:     addrOf(mo.From),
			Dest:       addrOf(mo.To),
			EsmClass:   mo.EsmClass,
			DataCoding: dc,
		}
		data := chunk
		if parts > 1 {
			c := pdu.Concat{Ref: uint16(ref), Total: uint8(parts), Part: uint8(i + 1)}
			if mo.UseSAR {
				sm.TLVs = append(sm.TLVs,
					pdu.TLV{Tag: pdu.TagSarMsgRefNum, Value: []byte{0, ref}},
					pdu.TLV{Tag: pdu.TagSarTotalSegments, Value: []byte{c.Total}},
					pdu.TLV{Tag: pdu.TagSarSegmentSeqnum, Value: []byte{c.Part}})
			} else {
				data = append(pdu.AppendConcatUDH(nil, c, false), chunk...)
				sm.EsmClass |= pdu.EsmClassUDHI
			}
		}
		if mo.Payload {
			sm.TLVs = append(sm.TLVs, pdu.TLV{Tag: pdu.TagMessagePayload, Value: data})
		} else {
			sm.ShortMessage = data
		}
		sm.TLVs = append(sm.TLVs, mo.TLVs...)
		p, err := pdu.AppendDeliverSM(nil, 0, &sm)
		if err != nil {
			return nil, fmt.Errorf("testenv: MO part %d/%d: %w", i+1, parts, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// splitUserData splits encoded text into n non-empty chunks of about the same
// size without cutting a UCS2 character (or surrogate pair) or a GSM 03.38
// escape sequence.
func splitUserData(ud []byte, n int, dc byte) ([][]byte, error) {
	if n == 1 {
		return [][]byte{ud}, nil
	}
	if n > 255 {
		return nil, fmt.Errorf("testenv: MO: %d parts (at most 255)", n)
	}
	// Cut points allowed: indexes i where a chunk may start.
	var cuts []int
	switch dc {
	case pdu.CodingUCS2:
		for i := 2; i < len(ud); i += 2 {
			if hi := uint16(ud[i-2])<<8 | uint16(ud[i-1]); hi >= 0xD800 && hi <= 0xDBFF {
				continue // i is inside a surrogate pair
			}
			cuts = append(cuts, i)
		}
	case pdu.CodingDefault:
		for i := 1; i < len(ud); i++ {
			if ud[i-1] == 0x1B {
				continue
			}
			cuts = append(cuts, i)
		}
	default:
		for i := 1; i < len(ud); i++ {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) < n-1 {
		return nil, fmt.Errorf("testenv: MO: text too short for %d parts", n)
	}
	chunks := make([][]byte, 0, n)
	start, ci := 0, 0
	for k := 1; k < n; k++ {
		target := len(ud) * k / n
		// The first allowed cut at or after target, leaving enough cuts for
		// the parts after this one.
		for limit := len(cuts) - (n - k); ci < limit && cuts[ci] < target; ci++ {
		}
		chunks = append(chunks, ud[start:cuts[ci]])
		start = cuts[ci]
		ci++
	}
	return append(chunks, ud[start:]), nil
}

// SendReceipt sends a delivery receipt (deliver_sm, esm_class 0x04, with the
// receipt text and the receipted_message_id and message_state TLVs) to a bound
// receiver or transceiver session of systemID and returns the status of its
// deliver_sm_resp.
func (s *SMSC) SendReceipt(ctx context.Context, systemID string, r ReceiptSpec) (pdu.Status, error) {
	now := time.Now()
	p, err := buildReceipt(0, r, addrOf(r.From), addrOf(r.To), now, now, "")
	if err != nil {
		return 0, fmt.Errorf("testenv: receipt: %w", err)
	}
	ss, err := s.pickSession(ctx, systemID, false)
	if err != nil {
		return 0, err
	}
	resp, err := ss.request(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("testenv: receipt: %w", err)
	}
	return pdu.StatusOf(resp), nil
}

// SendPDU sends any request PDU (raw is copied; its sequence number is set by
// the simulator) on a bound session of systemID that can receive it — any bound
// session for enquire_link and unbind, a receiver or transceiver otherwise —
// and returns a copy of the response (or generic_nack). alert_notification has
// no response in SMPP: SendPDU returns (nil, nil) once it is written. After a
// successful unbind the simulator closes the session.
func (s *SMSC) SendPDU(ctx context.Context, systemID string, raw []byte) ([]byte, error) {
	h, err := pdu.ParseHeader(raw)
	if err != nil || int(h.Length) != len(raw) {
		return nil, fmt.Errorf("testenv: SendPDU: not one whole PDU (%d octets)", len(raw))
	}
	if h.ID.IsResponse() {
		return nil, fmt.Errorf("testenv: SendPDU: %s is a response", h.ID)
	}
	ss, err := s.pickSession(ctx, systemID, h.ID == pdu.EnquireLink || h.ID == pdu.Unbind)
	if err != nil {
		return nil, err
	}
	if h.ID == pdu.AlertNotification {
		p := append([]byte(nil), raw...)
		pdu.SetSeq(p, ss.nextSeq())
		ss.recordOut(p)
		return nil, ss.out.writeFlush(p)
	}
	resp, err := ss.request(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("testenv: %s: %w", h.ID, err)
	}
	if h.ID == pdu.Unbind && pdu.ID(resp) == pdu.UnbindResp && pdu.StatusOf(resp) == pdu.ESME_ROK {
		ss.conn.Close()
	}
	return resp, nil
}

// SendEnquireLink sends enquire_link on a bound session of systemID (any bind
// type) and waits for enquire_link_resp.
func (s *SMSC) SendEnquireLink(ctx context.Context, systemID string) error {
	resp, err := s.SendPDU(ctx, systemID, pdu.AppendEnquireLink(nil, 0))
	if err != nil {
		return err
	}
	if st := pdu.StatusOf(resp); st != pdu.ESME_ROK || pdu.ID(resp) != pdu.EnquireLinkResp {
		return &StatusError{Op: "enquire_link", Status: st}
	}
	return nil
}

// request sends a copy of raw with the session's next sequence number and waits
// for the response with that sequence number.
func (ss *session) request(ctx context.Context, raw []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return nil, ErrClosed
	}
	seq := ss.nextSeqLocked()
	ss.pending[seq] = waiter{ch: ch}
	ss.mu.Unlock()

	p := append([]byte(nil), raw...)
	pdu.SetSeq(p, seq)
	ss.recordOut(p)
	if err := ss.out.writeFlush(p); err != nil {
		ss.forget(seq)
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		ss.forget(seq)
		return nil, fmt.Errorf("waiting for response to seq %d: %w", seq, ctx.Err())
	case <-ss.done:
		// The response may have come just before the close.
		select {
		case resp := <-ch:
			return resp, nil
		default:
		}
		return nil, fmt.Errorf("waiting for response to seq %d: session %d: %w", seq, ss.id, ErrClosed)
	}
}

func (ss *session) forget(seq uint32) {
	ss.mu.Lock()
	if ss.pending != nil {
		delete(ss.pending, seq)
	}
	ss.mu.Unlock()
}
