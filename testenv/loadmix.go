package testenv

import (
	"fmt"
	"math/rand/v2"

	"github.com/optguard/optguard/smpp/pdu"
)

// A load run encodes each message of its mix once, before it starts: the
// requests of the message (its parts), and where in them the writer patches
// what varies per message (the destination's digits, registered_delivery,
// the concatenation reference). Sending a message then copies nothing but
// these few octets and the sequence number.

// loadPart is one request of a message template.
type loadPart struct {
	pdu     []byte
	dests   []int // offsets of each destination's digits (width loadTmpl.width)
	regOff  int   // offset of registered_delivery; -1: not patched
	refOffs []int // offsets of the concatenation reference (one octet each: UDH, or the SAR TLV's low octet)
}

// loadTmpl is one message of the mix, encoded.
type loadTmpl struct {
	name    string
	cmd     pdu.CommandID
	parts   []loadPart
	ndests  int  // destinations per message (submit_multi), else 1
	width   int  // digits patched per destination; 0: the destination is fixed
	receipt bool // a plain Message that asks for a receipt itself
}

// loadMixer draws messages from the templates by share (one per writer:
// not safe for concurrent use).
type loadMixer struct {
	tmpls []loadTmpl
	cum   []float64 // cumulative shares, the last one 1
	rng   *rand.Rand
}

func (m *loadMixer) draw() int {
	if len(m.tmpls) == 1 {
		return 0
	}
	u := m.rng.Float64()
	for i, c := range m.cum {
		if u < c {
			return i
		}
	}
	return len(m.cum) - 1
}

// buildMix encodes cfg's messages. Without a Mix it is the one Message (or
// the default), with VaryDest's four patched digits when there is no
// population.
func buildMix(cfg *LoadConfig) ([]loadTmpl, []float64, error) {
	if len(cfg.Mix) == 0 && cfg.Handsets != nil {
		if cfg.Message != nil {
			return nil, nil, fmt.Errorf("a Message goes to its own destination; with Handsets, give it as the Mix")
		}
		cfg.Mix = []LoadMessage{{Share: 1}}
	}
	if len(cfg.Mix) == 0 {
		msg := cfg.Message
		if msg == nil {
			msg = defaultLoadMessage()
		}
		raw, err := pdu.AppendSubmitSM(nil, 0, msg)
		if err != nil {
			return nil, nil, fmt.Errorf("load message: %w", err)
		}
		t := loadTmpl{name: "submit_sm", cmd: pdu.SubmitSM, ndests: 1, parts: []loadPart{{pdu: raw, regOff: -1}},
			receipt: msg.RegisteredDelivery&0x03 != 0}
		if cfg.VaryDest {
			if len(msg.Dest.Addr) < 4 {
				return nil, nil, fmt.Errorf("VaryDest needs a destination of at least 4 characters")
			}
			// header, service_type, source TON/NPI/addr, dest TON/NPI, then dest.
			off := pdu.HeaderLen + len(msg.ServiceType) + 1 + 2 + len(msg.Source.Addr) + 1 + 2 + len(msg.Dest.Addr) - 4
			t.parts[0].dests, t.width = []int{off}, 4
		}
		return []loadTmpl{t}, []float64{1}, nil
	}
	if cfg.Handsets == nil {
		return nil, nil, fmt.Errorf("a message mix needs a handset population")
	}
	tmpls := make([]loadTmpl, len(cfg.Mix))
	cum := make([]float64, len(cfg.Mix))
	total := 0.0
	for i := range cfg.Mix {
		m := &cfg.Mix[i]
		if m.Share <= 0 {
			return nil, nil, fmt.Errorf("mix %d (%s): share must be above 0", i+1, m.Name)
		}
		t, err := encodeLoadMessage(m, cfg.Handsets)
		if err != nil {
			return nil, nil, fmt.Errorf("mix %d (%s): %w", i+1, m.Name, err)
		}
		tmpls[i] = t
		total += m.Share
		cum[i] = total
	}
	if total < 1-1e-6 || total > 1+1e-6 {
		return nil, nil, fmt.Errorf("the mix's shares add up to %g, not 1", total)
	}
	cum[len(cum)-1] = 1
	return tmpls, cum, nil
}

// encodeLoadMessage encodes one mix entry to the population's first handset
// (the writer patches the digits).
func encodeLoadMessage(m *LoadMessage, h *LoadHandsets) (loadTmpl, error) {
	width, err := h.digits()
	if err != nil {
		return loadTmpl{}, err
	}
	kind := m.Kind
	if kind == 0 {
		kind = pdu.SubmitSM
	}
	text := m.Text
	if text == "" {
		text = defaultLoadText
	}
	src := m.Source
	if src.Addr == "" {
		src = pdu.Addr{TON: 1, NPI: 1, Addr: "+15550000001"}
	}
	dest := h.Number(0)
	digitsAt := len(dest) - width // a leading '+' stays
	t := loadTmpl{name: m.Name, cmd: kind, ndests: 1, width: width}
	if t.name == "" {
		t.name = defaultMixName(m)
	}

	if kind == pdu.DataSM {
		dc := byte(pdu.CodingDefault)
		if m.UCS2 {
			dc = pdu.CodingUCS2
		}
		payload, err := pdu.EncodeText(dc, text)
		if err != nil {
			return loadTmpl{}, fmt.Errorf("text: %w", err)
		}
		w := pdu.Begin(nil, pdu.DataSM, 0, 0)
		w.CString("").Address(src.TON, src.NPI, src.Addr)
		w.Byte(h.TON).Byte(h.NPI)
		dOff := len(w.End()) + digitsAt
		w.CString(dest).Byte(0)
		regOff := len(w.End())
		w.Byte(0).Byte(dc).TLV(pdu.TagMessagePayload, payload)
		for _, tlv := range m.TLVs {
			w.TLV(tlv.Tag, tlv.Value)
		}
		t.parts = []loadPart{{pdu: w.End(), dests: []int{dOff}, regOff: regOff}}
		return t, nil
	}
	if kind != pdu.SubmitSM && kind != pdu.SubmitMulti {
		return loadTmpl{}, fmt.Errorf("%s is not a message submission (submit_sm, data_sm or submit_multi)", kind)
	}
	ndests := 1
	if kind == pdu.SubmitMulti {
		ndests = m.Dests
		if ndests == 0 {
			ndests = 2
		}
		if ndests < 1 || ndests > 254 || ndests > h.Count {
			return loadTmpl{}, fmt.Errorf("submit_multi: %d destinations; want 1 … 254 and at most the population (%d)", ndests, h.Count)
		}
		t.ndests = ndests
	}
	dc, parts, sar, err := splitLoadText(text, m.UCS2, m.SAR)
	if err != nil {
		return loadTmpl{}, err
	}
	var esm byte
	if len(parts) > 1 && !sar {
		esm = pdu.EsmClassUDHI
	}
	for i, sm := range parts {
		w := pdu.Begin(nil, kind, 0, 0)
		w.CString("").Address(src.TON, src.NPI, src.Addr)
		var dests []int
		if kind == pdu.SubmitMulti {
			w.Byte(byte(ndests))
			for range ndests {
				w.Byte(pdu.DestSME).Byte(h.TON).Byte(h.NPI)
				dests = append(dests, len(w.End())+digitsAt)
				w.CString(dest)
			}
		} else {
			w.Byte(h.TON).Byte(h.NPI)
			dests = []int{len(w.End()) + digitsAt}
			w.CString(dest)
		}
		w.Byte(esm).Byte(0).Byte(0).CString("").CString("")
		regOff := len(w.End())
		w.Byte(0).Byte(0).Byte(dc).Byte(0).Byte(byte(len(sm))).Octets(sm)
		var refs []int
		if len(parts) > 1 {
			if sar {
				off := len(w.End())
				w.TLV(pdu.TagSarMsgRefNum, []byte{0, 0})
				refs = []int{off + 5} // tag, length, then the reference's low octet
				w.TLV(pdu.TagSarTotalSegments, []byte{byte(len(parts))})
				w.TLV(pdu.TagSarSegmentSeqnum, []byte{byte(i + 1)})
			} else {
				// The UDH's reference: length, IE id, IE length, then it.
				refs = []int{regOff + 5 + 3}
			}
		}
		for _, tlv := range m.TLVs {
			w.TLV(tlv.Tag, tlv.Value)
		}
		t.parts = append(t.parts, loadPart{pdu: w.End(), dests: dests, regOff: regOff, refOffs: refs})
	}
	return t, nil
}

// splitLoadText encodes text into the short_messages of one message: GSM
// 03.38 unless ucs2 (GSM 03.38 refused when it cannot carry the text);
// parts carry a concatenation UDH, or none for sar (the caller adds the
// sar_* TLVs).
func splitLoadText(text string, ucs2, sar bool) (dc byte, parts [][]byte, isSAR bool, err error) {
	if !ucs2 {
		if _, _, ok := pdu.GSM7Fit(text); !ok {
			return 0, nil, false, fmt.Errorf("text: not GSM 03.38; set UCS2 (coding: ucs2)")
		}
		dc, parts, err = pdu.SplitText(text, 0, false)
	} else {
		dc = pdu.CodingUCS2
		parts, err = splitUCS2(text)
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("text: %w", err)
	}
	if sar && len(parts) > 1 {
		for i, p := range parts {
			parts[i] = p[int(p[0])+1:] // without its UDH
		}
		return dc, parts, true, nil
	}
	return dc, parts, false, nil
}

// splitUCS2 encodes text as UCS2 in parts of at most 134 octets after an
// 8-bit concatenation UDH (one part without UDH when it fits 140), never
// cutting a surrogate pair.
func splitUCS2(text string) ([][]byte, error) {
	enc, err := pdu.EncodeText(pdu.CodingUCS2, text)
	if err != nil {
		return nil, err
	}
	if len(enc) <= 140 {
		return [][]byte{enc}, nil
	}
	var cuts []int
	for off := 0; off < len(enc); {
		end := min(off+134, len(enc))
		if end < len(enc) && enc[end-2]&0xFC == 0xD8 {
			end -= 2 // a high surrogate: its pair goes in the next part
		}
		cuts = append(cuts, end)
		off = end
	}
	if len(cuts) > 255 {
		return nil, pdu.ErrTextTooLong
	}
	parts := make([][]byte, len(cuts))
	off := 0
	for i, end := range cuts {
		p := pdu.AppendConcatUDH(nil, pdu.Concat{Total: uint8(len(cuts)), Part: uint8(i + 1)}, false)
		parts[i] = append(p, enc[off:end]...)
		off = end
	}
	return parts, nil
}

func defaultMixName(m *LoadMessage) string {
	kind := m.Kind
	if kind == 0 {
		kind = pdu.SubmitSM
	}
	name := kind.String()
	if m.UCS2 {
		name += "-ucs2"
	}
	if m.SAR {
		name += "-sar"
	}
	return name
}

// putDigits writes v as width decimal digits at p[0:width].
func putDigits(p []byte, v uint64, width int) {
	for i := width - 1; i >= 0; i-- {
		p[i] = byte('0' + v%10)
		v /= 10
	}
}
