package policy

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// Message ids. A held MT is answered with an id of optguard's, which the
// ESME keeps to match the receipt; so it takes the form of the SMSC's own
// ids (hex or decimal, learned from the receipts that pass or configured),
// and ESMEs that parse ids keep working. Ids are 63 random bits: unique
// across restarts and instances without coordination. Messages optguard
// sends itself get ids with a prefix no SMSC id has, so that their
// receipts are recognised and consumed.

const (
	autoPrefix   = "og-auto-" // auto-messages to handsets and notices to senders
	heldMOPrefix = "og-mo-"   // MOs held until the handset consents (never shown to anyone)
)

type idGen struct {
	mu  sync.Mutex
	rnd *rand.ChaCha8 // guarded by mu
	seq uint64        // guarded by mu
}

func (g *idGen) init() {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	}
	g.rnd = rand.NewChaCha8(seed)
}

func (g *idGen) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if v := g.rnd.Uint64() >> 1; v != 0 {
			return v
		}
	}
}

// heldID is the id a held MT is answered with, in the account's form.
func (e *Engine) heldID(a *account) string {
	v := e.ids.next()
	switch IDForm(a.ids.form.Load()) {
	case IDDecimal:
		return strconv.FormatUint(v, 10)
	default:
		s := strconv.FormatUint(v, 16)
		s = strings.Repeat("0", 16-len(s)) + s
		if a.ids.upper.Load() {
			s = strings.ToUpper(s)
		}
		return s
	}
}

func (e *Engine) autoID() string   { return autoPrefix + strconv.FormatUint(e.ids.next(), 36) }
func (e *Engine) moHoldID() string { return heldMOPrefix + strconv.FormatUint(e.ids.next(), 36) }

func isAutoID(id string) bool   { return strings.HasPrefix(id, autoPrefix) }
func isHeldMOID(id string) bool { return strings.HasPrefix(id, heldMOPrefix) }

// idFormKey is the store key of an account's learned id form.
func idFormKey(a *account) string { return "idform/" + a.name }

// saveIDForm keeps what an account learned of its SMSC's ids, off the
// receipt path (it changes once or twice in an account's life). The form
// is read when the save runs, not when it is asked for: a save that waited
// behind another writes what is known by then, not what was known when the
// receipt came.
func (e *Engine) saveIDForm(a *account) {
	e.async(func() {
		if err := e.st.SaveLearned(context.Background(), idFormKey(a), a.ids.encode()); err != nil {
			e.log.Warn().Err(err).Str("organization", a.name).Msg("keeping the learned form of the SMSC's message ids; after a restart it is learned again from the next receipt")
		}
	})
}

// loadIDForms gives the accounts that learn their id form what they had
// learned before the restart.
func (e *Engine) loadIDForms(t *table) {
	for _, a := range t.accounts {
		if a.main.spec.MessageIDs != IDAuto {
			continue
		}
		v, ok, err := e.st.LoadLearned(idFormKey(a))
		switch {
		case err != nil:
			e.log.Warn().Err(err).Str("organization", a.name).Msg("reading the learned form of the SMSC's message ids; it is learned again from the next receipt")
		case ok && !a.ids.decode(v):
			e.log.Warn().Str("organization", a.name).Bytes("value", v).Msg("the stored form of the SMSC's message ids is not one optguard writes; it is learned again from the next receipt")
		}
	}
}

// canonicalID folds an SMSC message id for the id map: lower case, leading
// zeros dropped. SMSCs are inconsistent between the submit_sm_resp and the
// receipt in both (the most reported receipt problem in Jasmin's tracker).
func canonicalID(dst, id []byte) []byte {
	i := 0
	for i < len(id)-1 && id[i] == '0' {
		i++
	}
	for _, c := range id[i:] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// idVariants are the forms a receipt may carry an SMSC id in: as the SMSC
// answered it (canonical), and, where it reads as a number, the same number
// written the other way (an SMSC that answers hex and reports decimal in
// its receipts, or the reverse). The canonical form comes last.
func idVariants(smscID string) []string {
	canon := string(canonicalID(nil, []byte(smscID)))
	var out []string
	if v, err := strconv.ParseUint(canon, 10, 64); err == nil {
		if h := strconv.FormatUint(v, 16); h != canon {
			out = append(out, h)
		}
	}
	if v, err := strconv.ParseUint(canon, 16, 64); err == nil {
		if d := strconv.FormatUint(v, 10); d != canon {
			out = append(out, d)
		}
	}
	return append(out, canon)
}

// noteIDs makes the mapping of optguard's message ours to the SMSC's
// smscID visible to the receipt path at once, from the session goroutine
// that got the submit_sm_resp; mapIDs then writes it.
func (e *Engine) noteIDs(ours, smscID string) {
	for _, v := range idVariants(smscID) {
		e.st.NoteMessageID(ours, v)
	}
}

// mapIDs records that the SMSC accepted optguard's message ours as smscID.
func (e *Engine) mapIDs(ours, smscID string) {
	if err := e.st.MapMessageIDs(context.Background(), ours, idVariants(smscID)...); err != nil {
		e.log.Warn().Err(err).Str("message_id", ours).Msg("recording the SMSC's message id; its receipt will carry the SMSC's id")
	}
}

// receipt decides a delivery receipt from the SMSC. Receipts for messages
// never held pass untouched and cost a lookup in memory.
func (e *Engine) receipt(a *account, m *pdu.Message, raw []byte) Decision {
	id, ok := pdu.ReceiptID(m)
	if !ok {
		return Decision{}
	}
	if a.ids.learn(id, a.main.spec.MessageIDs) {
		e.saveIDForm(a)
	}
	var cb [72]byte
	ours, ok := e.st.OptguardMessageIDBytes(canonicalID(cb[:0], id))
	if !ok {
		return Decision{}
	}
	st := receiptStatus(m)
	if isAutoID(ours) {
		// optguard's own message: the ESME never sent it.
		e.m.receipts[receiptConsumed].Add(1)
		if st != 0 {
			e.st.LogStatus(ours, st, e.now())
		}
		return Decision{Action: Hold}
	}
	out, err := pdu.AppendReceiptWithID(nil, raw, m, ours)
	if err != nil {
		e.m.receipts[receiptUnrewritable].Add(1)
		e.log.Warn().Err(err).Str("message_id", ours).Msg("receipt for a released message could not be rewritten; relayed with the SMSC's id")
		return Decision{}
	}
	e.m.receipts[receiptRewritten].Add(1)
	if st != 0 {
		e.st.LogStatus(ours, st, e.now())
	}
	return Decision{Action: Replace, Replace: out}
}

// Receipt outcomes, for metrics.
const (
	receiptRewritten = iota
	receiptConsumed
	receiptUnrewritable
	receiptSent // REJECTD / EXPIRED receipts optguard answered itself
	numReceiptOutcomes
)

var receiptOutcomeNames = [...]string{"rewritten", "consumed", "unrewritable", "sent"}

// receiptStatus reads a receipt's final state into the message log's terms;
// 0 when it says nothing final.
func receiptStatus(m *pdu.Message) store.MsgStatus {
	if v, ok := m.TLVs.Find(pdu.TagMessageState); ok && len(v) == 1 {
		switch v[0] {
		case 2:
			return store.MsgDelivered
		case 3:
			return store.MsgExpired
		case 5:
			return store.MsgUndeliverable
		case 8:
			return store.MsgRejected
		case 4, 7:
			return store.MsgFailed
		}
	}
	stat, _, ok := pdu.ReceiptField(m.ShortMessage, "stat")
	if !ok {
		return 0
	}
	switch strings.ToUpper(string(stat)) {
	case "DELIVRD":
		return store.MsgDelivered
	case "EXPIRED":
		return store.MsgExpired
	case "UNDELIV":
		return store.MsgUndeliverable
	case "REJECTD":
		return store.MsgRejected
	case "DELETED", "UNKNOWN":
		return store.MsgFailed
	}
	return 0
}

// message_state values (SMPP v3.4 section 5.2.28) of the receipts optguard
// sends itself.
const (
	stateExpired  byte = 3
	stateRejected byte = 8
)

// receiptFor builds the receipt optguard answers for a held MT that will
// never be sent: a deliver_sm to the ESME from the handset, with the id the
// ESME was given, stat REJECTD (the handset opted out) or EXPIRED (it
// waited too long), message_state, and the vendor TLV naming it optguard's.
func (e *Engine) receiptFor(h store.HeldMessage, expired bool, tag pdu.Tag, now time.Time) ([]byte, error) {
	var m pdu.Message
	if err := pdu.Scan(h.PDU, &m); err != nil {
		return nil, err
	}
	stat, state := "REJECTD", stateRejected
	if expired {
		stat, state = "EXPIRED", stateExpired
	}
	var text string
	if ud := m.UserData(); pdu.IsText(m.DataCoding) && !m.HasUDH() {
		text, _ = pdu.DecodeText(m.DataCoding, ud)
	}
	body := pdu.AppendReceiptText(nil, pdu.Receipt{
		ID: h.ID, Sub: 1, Dlvrd: 0, SubmitDate: h.HeldAt, DoneDate: now, Stat: stat, Err: 0, Text: asciiOnly(text),
	})
	return pdu.AppendDeliverSM(nil, 0, &pdu.SM{
		Source:       pdu.Addr{TON: m.Dest.TON, NPI: m.Dest.NPI, Addr: string(m.Dest.Addr)},
		Dest:         pdu.Addr{TON: m.Source.TON, NPI: m.Source.NPI, Addr: string(m.Source.Addr)},
		EsmClass:     pdu.EsmClassReceipt,
		ShortMessage: body,
		TLVs: []pdu.TLV{
			{Tag: pdu.TagReceiptedMessageID, Value: append([]byte(h.ID), 0)},
			{Tag: pdu.TagMessageState, Value: []byte{state}},
			{Tag: tag, Value: []byte("receipt")},
		},
	})
}

// asciiOnly keeps the printable ASCII of s: a receipt's text field is sent
// in the default alphabet, and a few characters of the original suffice.
func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7F {
			b.WriteRune(r)
		}
	}
	return b.String()
}
