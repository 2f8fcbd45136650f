package store

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/optguard/optguard/store/seal"
)

// Scope is what consent is kept per: an organization and a handset, or,
// when the organization scopes consent by sender, a sender number (the
// employee's line), the organization and a handset.
type Scope struct {
	// Org is the organization (tenant); always set.
	Org string
	// Sender is empty for organization scope, or the sender number/address
	// for sender scope.
	Sender string
	// Number is the handset, in E.164 (+15551234567).
	Number string
}

// OrgScope is the default scope: organization + handset.
func OrgScope(org, number string) Scope { return Scope{Org: org, Number: number} }

// SenderScope is consent per sender number + handset (within org).
func SenderScope(org, sender, number string) Scope {
	return Scope{Org: org, Sender: sender, Number: number}
}

// String names the scope for logs and errors with the middle digits of the
// handset masked, as DESIGN.md asks for anything logged at info.
func (s Scope) String() string {
	if s.Sender == "" {
		return s.Org + "/" + MaskNumber(s.Number)
	}
	return s.Org + "/" + s.Sender + "/" + MaskNumber(s.Number)
}

// MaskNumber hides the middle digits of a number: +1555***4567.
func MaskNumber(n string) string {
	if len(n) <= 8 {
		return strings.Repeat("*", len(n))
	}
	return n[:5] + strings.Repeat("*", len(n)-9) + n[len(n)-4:]
}

const (
	maxOrgLen    = 128
	maxSenderLen = 64
	maxIDLen     = 128
)

// Validate checks that the scope can be written: an organization, a valid
// sender if any, and an E.164 handset number.
func (s Scope) Validate() error {
	if err := checkName("organization", s.Org, maxOrgLen, true); err != nil {
		return err
	}
	if err := checkName("sender", s.Sender, maxSenderLen, false); err != nil {
		return err
	}
	return ValidateNumber(s.Number)
}

func checkName(what, v string, max int, required bool) error {
	if v == "" {
		if required {
			return invalidf("%s is empty", what)
		}
		return nil
	}
	if len(v) > max {
		return invalidf("%s longer than %d bytes", what, max)
	}
	if !utf8.ValidString(v) {
		return invalidf("%s is not UTF-8", what)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return invalidf("%s contains a control character", what)
		}
	}
	return nil
}

// ValidateNumber reports whether n is a canonical E.164 number: '+', a
// non-zero first digit, 7 to 15 digits in all, and a possible number for its
// country calling code. It does not accept formatting; see NormalizeNumber.
func ValidateNumber(n string) error {
	key, ok := e164Key(n)
	if !ok {
		return fmt.Errorf("%w: %q", ErrInvalidNumber, n)
	}
	if knownPossible(n, key) {
		return nil
	}
	return validateParsed(n, key)
}

// e164Key is numberKey for '+' and 7 to 15 digits, the first not 0.
func e164Key(n string) (uint64, bool) {
	key, ok := numberKey(n)
	return key, ok && n[0] == '+' && len(n) >= 8
}

// knownPossible reports whether e164Key's n is a possible number without
// asking the parser: one of the North American plan, or one the parser
// passed before.
func knownPossible(n string, key uint64) bool {
	return validNumbers.has(key) || nanpPossible(n)
}

// validateParsed is ValidateNumber's check by the numbering plan's parser.
func validateParsed(n string, key uint64) error {
	pn, err := phonenumbers.Parse(n, "")
	if err != nil || !phonenumbers.IsPossibleNumber(pn) ||
		phonenumbers.Format(pn, phonenumbers.E164) != n {
		return fmt.Errorf("%w: %q is not a possible number", ErrInvalidNumber, n)
	}
	validNumbers.add(key)
	return nil
}

// nanpPossible reports whether n is +1 and ten digits whose first is 2 to
// 9: a possible number of the North American plan, which is how the
// numbering plan's parser answers every such number (all NANP regions
// have possible length 10, and none of their numbers loses a prefix in
// parsing; TestNANPFastPathAgrees checks it against the parser). It spares
// the parser's 17 µs for the numbers most STOP storms come from, each seen
// for the first time.
func nanpPossible(n string) bool {
	if len(n) != 12 || n[1] != '1' || n[2] < '2' || n[2] > '9' {
		return false
	}
	for i := 3; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// validNumbers remembers numbers that passed ValidateNumber: the numbering
// plan's parser takes some 17 µs a number (regular expressions), and one
// opt-out validates its number several times (the change, then the proof
// of each text sent). '+' and up to 15 digits pack into a key one-to-one.
// The set is dropped whole when it reaches its bound.
var validNumbers numberSet

type numberSet struct {
	mu sync.RWMutex
	m  map[uint64]struct{} // guarded by mu
}

const numberSetMax = 1 << 16

func (s *numberSet) has(k uint64) bool {
	s.mu.RLock()
	_, ok := s.m[k]
	s.mu.RUnlock()
	return ok
}

func (s *numberSet) add(k uint64) {
	s.mu.Lock()
	if s.m == nil || len(s.m) >= numberSetMax {
		s.m = make(map[uint64]struct{}, 1024)
	}
	s.m[k] = struct{}{}
	s.mu.Unlock()
}

// NormalizeNumber turns a number as people or PDUs write it ("+1 (555)
// 123-4567", "0044 20 7946 0958", "020 7946 0958" with region "GB") into
// E.164. region is an ISO 3166 code used when the number has no country
// code; it may be empty for numbers that carry one.
//
// A number written in E.164 already that ValidateNumber passes without the
// parser is its own normal form, and is returned without parsing it (the
// parser's regular expressions take some 10 µs a number, the most of a
// number lookup and of a consent import's row): the parser reads a '+'
// number the same in every region, and gives such a number back as it is
// (TestNormalizeFastPathAgrees).
func NormalizeNumber(raw, region string) (string, error) {
	if key, ok := e164Key(raw); ok && knownPossible(raw, key) {
		return raw, nil
	}
	return normalizeParsed(raw, region)
}

// normalizeParsed is NormalizeNumber by the numbering plan's parser.
func normalizeParsed(raw, region string) (string, error) {
	pn, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidNumber, raw, err)
	}
	if !phonenumbers.IsPossibleNumber(pn) {
		return "", fmt.Errorf("%w: %q is not a possible number", ErrInvalidNumber, raw)
	}
	n := phonenumbers.Format(pn, phonenumbers.E164)
	if err := ValidateNumber(n); err != nil {
		return "", err
	}
	return n, nil
}

// numberKey packs the digits of an E.164 number into a uint64, for the
// in-memory index. The leading '+' is optional so that the hot path can be
// given destination_addr digits as they are. E.164 numbers never start with
// 0, so the packing is one-to-one.
func numberKey[T string | []byte](n T) (uint64, bool) {
	if len(n) > 0 && n[0] == '+' {
		n = n[1:]
	}
	if len(n) == 0 || len(n) > 15 || n[0] == '0' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// appendScopeKey appends the canonical, unambiguous encoding of a scope
// whose handset's pseudonym is p:
//
//	uvarint(len(org)) org  pseudonym(16)  sender
//
// The organization is length-prefixed, the pseudonym fixed in length, the
// sender the rest: the number itself is never in a key.
func appendScopeKey(b []byte, org string, p seal.Pseudonym, sender string) []byte {
	b = binary.AppendUvarint(b, uint64(len(org)))
	b = append(b, org...)
	b = append(b, p[:]...)
	return append(b, sender...)
}

func scopeKey(org string, p seal.Pseudonym, sender string) []byte {
	return appendScopeKey(make([]byte, 0, 24+len(org)+len(sender)), org, p, sender)
}

// scopeKeyParts is a stored scope key taken apart.
type scopeKeyParts struct {
	org, sender string
	p           seal.Pseudonym
}

func parseScopeKey(k []byte) (scopeKeyParts, error) {
	n, w := binary.Uvarint(k)
	if w <= 0 || w != uvarintLen(n) || uint64(len(k)-w) < n+uint64(len(seal.Pseudonym{})) {
		return scopeKeyParts{}, fmt.Errorf("scope key: bad organization length")
	}
	var sp scopeKeyParts
	sp.org = string(k[w : w+int(n)])
	rest := k[w+int(n):]
	copy(sp.p[:], rest)
	sp.sender = string(rest[len(sp.p):])
	return sp, nil
}

// parseScopeKeyV1 reads a scope key of format 1, which held the number:
// uvarint(len(org)) org number 0x00 sender. Only the migration reads it.
func parseScopeKeyV1(k []byte) (Scope, error) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return Scope{}, fmt.Errorf("scope key: bad organization length")
	}
	org := string(k[w : w+int(n)])
	rest := k[w+int(n):]
	i := indexByte(rest, 0)
	if i < 0 {
		return Scope{}, fmt.Errorf("scope key: no number terminator")
	}
	return Scope{Org: org, Number: string(rest[:i]), Sender: string(rest[i+1:])}, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
