package policy

import (
	"encoding/binary"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// MO decides a deliver_sm or data_sm from the SMSC: a receipt (rewritten
// when it is for a message optguard held, consumed when it is for one
// optguard sent itself, else relayed untouched) or a mobile-originated
// message, whose text is decoded and classified. A consent change is
// deferred so that it is on disk before the SMSC gets deliver_sm_resp; an
// opt-out is enforced for MTs from the moment MO returns.
func (e *Engine) MO(b Bind, m *pdu.Message, raw []byte) Decision {
	t := e.tab.Load()
	c := t.claimFor(b.SystemID)
	a := c.acct
	if m.IsReceipt() {
		return e.receipt(a, m, raw)
	}
	var hbuf digits
	num, ok := a.plan.e164(&hbuf, m.Source.TON, m.Source.Addr)
	if !ok {
		e.m.mo[moNotNumber].Add(1)
		return Decision{} // not from a handset number: nobody's consent
	}
	var sbuf digits
	sender, numeric := a.plan.e164(&sbuf, m.Dest.TON, m.Dest.Addr)
	if !numeric {
		sender = m.Dest.Addr
	}
	o := c.orgFor(sender)

	ud := m.UserData()
	part, multipart := concatOf(m, ud)
	if m.HasUDH() {
		var err error
		if _, ud, err = pdu.SplitUDH(ud); err != nil {
			ud = nil // unreadable header: no text to look at, still relayed
		}
	}
	var tb [1024]byte
	txt, _ := pdu.AppendText(tb[:0], m.DataCoding, ud)
	full, fullRaw := txt, ud
	res := keywords.Result{}
	complete := true
	if multipart {
		k := partKey{acct: a, sender: senderKey(sender), ref: part.Ref, total: part.Total}
		k.handset, _ = packDigits(num)
		if t, u, ok := e.reasm.add(k, part.Part, m.DataCoding, ud, e.now()); ok {
			full, fullRaw = t, u
		} else {
			complete = false
		}
	}
	if complete {
		res = o.matcher.Classify(full)
	}
	e.m.classified(res)
	mk := func(kind taskKind) *task {
		tk := &task{
			kind:        kind,
			org:         o,
			bind:        b,
			at:          e.now(),
			scope:       e.scopeOf(o, sender, num),
			handset:     addrOf(m.Source),
			sender:      addrOf(m.Dest),
			pdu:         append([]byte(nil), raw...),
			class:       res,
			text:        string(full),
			reassembled: multipart,
		}
		tk.mo = &store.MO{Raw: append([]byte(nil), fullRaw...), DataCoding: m.DataCoding, Text: tk.text}
		return tk
	}
	switch res.Class {
	case keywords.OptOut:
		tk := mk(taskOptOut)
		tk.ovKey = ovKey{acct: a.key}
		tk.ovKey.number, _ = packDigits(num)
		if a.main.spec.Scope == ScopeSender {
			tk.ovKey.sender = senderKey(sender)
		}
		e.ov.add(tk.ovKey)
		return Decision{Action: Defer, task: tk}
	case keywords.OptIn:
		return Decision{Action: Defer, task: mk(taskOptIn)}
	case keywords.Help:
		return Decision{Action: Defer, task: mk(taskHelp)}
	case keywords.PossibleOptOut:
		return Decision{Action: Defer, task: mk(taskReview)}
	}
	if a.mode == ModeConsent {
		var scopeSender []byte
		if a.main.spec.Scope == ScopeSender {
			scopeSender = sender
		}
		if e.st.StateBytes(a.name, scopeSender, num) != store.StateOptedIn {
			// The handset writes first (seed 000's MT case): its message
			// waits until it consents.
			e.m.mo[moHeld].Add(1)
			tk := mk(taskHoldMO)
			tk.incomplete = !complete
			return Decision{Action: Defer, task: tk}
		}
	}
	e.m.mo[moRelayed].Add(1)
	return Decision{}
}

// concatOf finds the concatenation of an MO part: its UDH element (8- or
// 16-bit reference), else the SAR TLVs.
func concatOf(m *pdu.Message, ud []byte) (pdu.Concat, bool) {
	if m.HasUDH() {
		if udh, _, err := pdu.SplitUDH(ud); err == nil {
			if c, ok := pdu.ParseConcat(udh); ok && c.Total > 1 {
				return c, true
			}
		}
	}
	ref, ok1 := m.TLVs.Find(pdu.TagSarMsgRefNum)
	total, ok2 := m.TLVs.Find(pdu.TagSarTotalSegments)
	seq, ok3 := m.TLVs.Find(pdu.TagSarSegmentSeqnum)
	if !ok1 || !ok2 || !ok3 || len(ref) != 2 || len(total) != 1 || len(seq) != 1 {
		return pdu.Concat{}, false
	}
	c := pdu.Concat{Ref: binary.BigEndian.Uint16(ref), Total: total[0], Part: seq[0]}
	if c.Total < 2 || c.Part == 0 || c.Part > c.Total {
		return pdu.Concat{}, false
	}
	return c, true
}

// MO outcomes, for metrics.
const (
	moRelayed = iota
	moHeld
	moNotNumber
	numMOOutcomes
)

var moOutcomeNames = [...]string{"relayed", "held", "not_a_number"}
