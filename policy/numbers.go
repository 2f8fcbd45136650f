package policy

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Handset numbers arrive as PDU addresses: digits with a type of number
// (TON). The consent index is keyed by the pseudonym of the E.164 digits
// (store.Handset), so every MT's destination is turned into them on the
// hot path, without allocating and
// without the phone-number library (which allocates): a dial plan per
// organization holds what that needs, computed once from the library's
// metadata when the policy is built.

// TON values of SMPP v3.4 section 5.2.5.
const (
	tonUnknown       byte = 0
	tonInternational byte = 1
	tonNational      byte = 2
	tonAlphanumeric  byte = 5
)

// maxE164 is the longest E.164 number, in digits.
const maxE164 = 15

// digits is a buffer for one E.164 number without its '+'.
type digits [maxE164 + 1]byte

// dialPlan turns addresses into E.164 digits for one default country.
type dialPlan struct {
	region  string
	cc      string // country calling code, e.g. "1", "44"
	ccValue uint64 // cc as a number
	trunk   string // national (trunk) prefix, e.g. "0"; "" where there is none
}

func newDialPlan(region string) (dialPlan, error) {
	region = strings.ToUpper(region)
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if cc == 0 {
		return dialPlan{}, fmt.Errorf("policy: %q is not a country code the numbering plan knows (write ISO 3166 alpha-2, like US or GB)", region)
	}
	return dialPlan{region: region, cc: strconv.Itoa(cc), ccValue: uint64(cc), trunk: phonenumbers.GetNddPrefixForRegion(region, true)}, nil
}

// e164 writes addr as E.164 digits (no '+') into buf and returns them; ok is
// false when addr is not a phone number (alphanumeric, empty, too long,
// not digits). It does not allocate.
//
//   - TON international, or a leading '+' or "00": the digits as they are;
//   - TON national: the trunk prefix dropped and the country code put in front;
//   - TON unknown (most ESMEs send 0): international when the digits start
//     with the country code and are longer than a national number of the
//     default country can be (10 digits in NANP), national otherwise.
func (p *dialPlan) e164(buf *digits, ton byte, addr []byte) ([]byte, bool) {
	v, ok := p.pack(ton, addr)
	if !ok {
		return nil, false
	}
	return strconv.AppendUint(buf[:0], v, 10), true
}

// pack is e164 with the digits packed into a uint64 in one pass, with no
// buffer (e164 then writes them out). E.164 numbers never start with 0, so
// the packing is one-to-one.
func (p *dialPlan) pack(ton byte, addr []byte) (uint64, bool) {
	if d, ok := longIntl(ton, addr); ok {
		return parseLong(d)
	}
	if ton == tonAlphanumeric || len(addr) == 0 {
		return 0, false
	}
	if d := addr; ton == tonInternational || d[0] == '+' {
		if d[0] == '+' {
			d = d[1:]
		}
		if n := len(d); n >= 7 && n <= maxE164 && d[0] != '0' {
			return parseDigits(d)
		}
	}
	intl := ton == tonInternational
	switch {
	case addr[0] == '+':
		addr, intl = addr[1:], true
	case len(addr) > 2 && addr[0] == '0' && addr[1] == '0':
		addr, intl = addr[2:], true
	}
	if !intl && ton != tonNational {
		intl = len(addr) > 10 && hasPrefix(addr, p.cc) && !hasPrefix(addr, p.trunk)
	}
	var v uint64
	n := 0
	if !intl {
		if p.trunk != "" && hasPrefix(addr, p.trunk) {
			addr = addr[len(p.trunk):]
		}
		v, n = p.ccValue, len(p.cc)
	}
	if n+len(addr) > maxE164 || n+len(addr) < 7 || (n == 0 && addr[0] == '0') {
		return 0, false
	}
	d, ok := parseDigits(addr)
	return v*pow10[len(addr)] + d, ok
}

// dest returns the E.164 digits (no '+') of an MT's destination: the
// PDU's own bytes when they are that already (the common international
// destination, nothing copied and nothing parsed: the store hashes digits,
// see store.Badger.Handset), else written into buf by e164. ok is false
// when the destination is not a phone number.
func (p *dialPlan) dest(buf *digits, ton byte, addr []byte) ([]byte, bool) {
	if d, ok := longIntl(ton, addr); ok {
		return d, longDigits(d)
	}
	return p.e164(buf, ton, addr)
}

// longDigits reports whether d, 9 to 15 bytes (longIntl's), are all ASCII
// digits: parseLong's loads without its arithmetic.
func longDigits(d []byte) bool {
	n := len(d)
	hi := binary.LittleEndian.Uint64(d)<<(8*(16-n)) | zeros>>(8*(n-8))
	lo := binary.LittleEndian.Uint64(d[n-8:])
	return notDigits(hi)|notDigits(lo) == 0
}

// longIntl returns the digits of addr when it is the common destination,
// an international number of 9 to 15 digits as it is or with its '+'
// (every MT of a load test comes this way), for parseLong. The MT path
// asks it before pack, to call parseLong itself: it is small enough to be
// inlined, and pack is not.
func longIntl(ton byte, addr []byte) ([]byte, bool) {
	if ton == tonAlphanumeric {
		return nil, false
	}
	if len(addr) > 0 && addr[0] == '+' {
		addr = addr[1:]
	} else if ton != tonInternational {
		return nil, false
	}
	return addr, len(addr) >= 9 && len(addr) <= maxE164 && addr[0] != '0'
}

// pow10[i] is 10^i for the lengths parseDigits takes.
var pow10 = func() (t [maxE164 + 1]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// parseDigits returns the value of d, 1 to 15 ASCII digits; ok is false for
// any other byte or length. It reads eight digits at a time (the SWAR
// parse of simdjson's parse_eight_digits_unrolled): every MT's destination
// goes through it, and a digit-by-digit loop is a chain of multiplies and
// branches as long as the number.
func parseDigits(d []byte) (uint64, bool) {
	n := len(d)
	if n == 0 || n > maxE164 {
		return 0, false
	}
	if n > 8 {
		return parseLong(d)
	}
	var b [8]byte
	copy(b[:], d)
	x := binary.LittleEndian.Uint64(b[:])<<(8*(8-n)) | zeros>>(8*n)
	return eightValue(x), notDigits(x) == 0
}

// parseLong is parseDigits for 9 to 15 digits (len(d) must be in range):
// two overlapping eight-byte loads, the first shifted to its n-8 digits
// under '0' padding.
func parseLong(d []byte) (uint64, bool) {
	n := len(d)
	hi := binary.LittleEndian.Uint64(d)<<(8*(16-n)) | zeros>>(8*(n-8))
	lo := binary.LittleEndian.Uint64(d[n-8:])
	return eightValue(hi)*1e8 + eightValue(lo), notDigits(hi)|notDigits(lo) == 0
}

// zeros is eight ASCII '0's, the padding in front of a short chunk.
const zeros = 0x3030303030303030

// notDigits is 0 when every byte of x is an ASCII digit.
func notDigits(x uint64) uint64 {
	return ((x & 0xF0F0F0F0F0F0F0F0) | ((x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) ^ 0x3333333333333333
}

// eightValue is the value of the eight ASCII digits of x, the first in its
// low byte.
func eightValue(x uint64) uint64 {
	x = (x & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
	x = (x & 0x00FF00FF00FF00FF) * 6553601 >> 16
	return (x & 0x0000FFFF0000FFFF) * 42949672960001 >> 32
}

func hasPrefix(b []byte, p string) bool {
	return p != "" && len(b) >= len(p) && string(b[:len(p)]) == p
}

// regions answers "which country is this number in" for the allowed-countries
// rule. The numbering plan's answer allocates, so it is cached per number;
// the cache is dropped whole when it grows past its bound.
type regions struct {
	mu sync.RWMutex
	m  map[uint64]string // guarded by mu
}

const regionCacheMax = 1 << 18

func (r *regions) of(e164 []byte) string {
	key, ok := packDigits(e164)
	if !ok {
		return ""
	}
	r.mu.RLock()
	reg, hit := r.m[key]
	r.mu.RUnlock()
	if hit {
		return reg
	}
	reg = regionOf(string(e164))
	r.mu.Lock()
	if r.m == nil || len(r.m) >= regionCacheMax {
		r.m = make(map[uint64]string)
	}
	r.m[key] = reg
	r.mu.Unlock()
	return reg
}

// regionOf returns the ISO 3166 region of E.164 digits: the region whose
// numbering plan the number is valid in, else the main region of its
// country calling code (a number in no assigned range of +1 is taken as
// US), "" if the calling code is unknown.
func regionOf(e164 string) string {
	pn, err := phonenumbers.Parse("+"+e164, "")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(pn); r != "" {
		return r
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(int(pn.GetCountryCode())); r != "ZZ" {
		return r
	}
	return ""
}

// packDigits packs up to 15 digits, first not 0, into a uint64.
func packDigits(d []byte) (uint64, bool) {
	if len(d) == 0 || d[0] == '0' {
		return 0, false
	}
	return parseDigits(d)
}
