package store

import (
	"encoding/binary"
	"time"

	"github.com/optguard/optguard/store/seal"
)

// Key prefixes. The package doc lists them with their values; changing one
// is a format change (bump formatVersion and write a migration).
var (
	// Both databases.
	keyFormat = []byte("meta/format") // uint32 BE format version

	// Consent database only: the fingerprint (seal.Keys.ID) of the key
	// file the store is written with.
	keyKeyID = []byte("meta/key")

	// Consent database (<dir>/consent, synced).
	keyHead         = []byte("meta/head") // last seq (8) + last hash (32)
	prefixEvent     = []byte("e/")        // e/ seq(8)                        → event
	prefixEventTime = []byte("et/")       // et/ occurred(8) seq(8)           → ""
	prefixEventSubj = []byte("en/")       // en/ subject(16) seq(8)           → ""
	prefixConsent   = []byte("c/")        // c/ scopekey                      → consent record
	prefixConsNum   = []byte("cn/")       // cn/ pseudonym(16) scopekey       → ""
	prefixSubject   = []byte("s/")        // s/ pseudonym(16)                 → subject id(16)
	prefixSubjRec   = []byte("sk/")       // sk/ subject(16)                  → subject record
	prefixHoldMsg   = []byte("hm/")       // hm/ id                           → held message
	prefixHoldQueue = []byte("hq/")       // hq/ lp(scopekey) holdseq(8)      → expires(8) id
	prefixHoldExp   = []byte("hx/")       // hx/ expires(8) id                → ""
	prefixHoldCount = []byte("hc/")       // hc/ scopekey                     → count(4) nextseq(8)
	prefixOutbox    = []byte("ho/")       // ho/ id                           → disposition(1) settled(8)

	// Log database (<dir>/log, not synced, TTL).
	prefixIDOurs    = []byte("io/") // io/ optguard id → SMSC id
	prefixIDSMSC    = []byte("is/") // is/ SMSC id → optguard id
	prefixMsg       = []byte("m/")  // m/ id → record header
	prefixMsgStatus = []byte("ms/") // ms/ lp(id) at(8) status(1) → ""
	prefixMsgNum    = []byte("mn/") // mn/ pseudonym(16) at(8) id → ""
	prefixMsgTime   = []byte("mt/") // mt/ at(8) id → ""
)

func cat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// timeKey maps a time to 8 bytes that sort in time order, negative Unix
// times included (sign bit flipped).
func timeKey(t time.Time) uint64 { return uint64(t.UnixNano()) ^ (1 << 63) }

func timeFromKey(v uint64) time.Time { return time.Unix(0, int64(v^(1<<63))).UTC() }

func appendTime(b []byte, t time.Time) []byte { return appendU64(b, timeKey(t)) }

func appendLP(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func eventKey(seq uint64) []byte { return appendU64(cat(prefixEvent), seq) }

func eventTimeKey(at time.Time, seq uint64) []byte {
	return appendU64(appendTime(cat(prefixEventTime), at), seq)
}

func eventSubjectKey(id SubjectID, seq uint64) []byte {
	return appendU64(cat(prefixEventSubj, id[:]), seq)
}

func consentKey(sk []byte) []byte { return cat(prefixConsent, sk) }

func consentNumKey(p seal.Pseudonym, sk []byte) []byte { return cat(prefixConsNum, p[:], sk) }

func subjectKey(p seal.Pseudonym) []byte { return cat(prefixSubject, p[:]) }

func subjectRecKey(id SubjectID) []byte { return cat(prefixSubjRec, id[:]) }

func holdMsgKey(id string) []byte { return append(cat(prefixHoldMsg), id...) }

func holdQueuePrefix(sk []byte) []byte { return appendLP(cat(prefixHoldQueue), sk) }

func holdQueueKey(sk []byte, seq uint64) []byte { return appendU64(holdQueuePrefix(sk), seq) }

func holdExpKey(exp time.Time, id string) []byte {
	return append(appendTime(cat(prefixHoldExp), exp), id...)
}

func holdCountKey(sk []byte) []byte { return cat(prefixHoldCount, sk) }

func outboxKey(id string) []byte { return append(cat(prefixOutbox), id...) }

func idOursKey(id string) []byte { return append(cat(prefixIDOurs), id...) }
func idSMSCKey(id string) []byte { return append(cat(prefixIDSMSC), id...) }

func msgKey(id string) []byte { return append(cat(prefixMsg), id...) }

func msgStatusPrefix(id string) []byte { return appendLP(cat(prefixMsgStatus), []byte(id)) }

func msgStatusKey(id string, at time.Time, s MsgStatus) []byte {
	return append(appendTime(msgStatusPrefix(id), at), byte(s))
}

func msgNumKey(p seal.Pseudonym, at time.Time, id string) []byte {
	return append(appendTime(cat(prefixMsgNum, p[:]), at), id...)
}

func msgTimeKey(at time.Time, id string) []byte {
	return append(appendTime(cat(prefixMsgTime), at), id...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	e := append([]byte(nil), p...)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] < 0xff {
			e[i]++
			return e[:i+1]
		}
	}
	return nil
}
