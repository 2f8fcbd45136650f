package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	cases := []struct{ raw, region, want string }{
		{"+1 (202) 555-0143", "", "+12025550143"},
		{"202-555-0143", "US", "+12025550143"},
		{"020 7946 0958", "gb", "+442079460958"},
		{"+44 20 7946 0958", "", "+442079460958"},
		{"0033 1 23 45 67 89", "FR", "+33123456789"},
	}
	for _, tc := range cases {
		got, err := NormalizeNumber(tc.raw, tc.region)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q", tc.raw, tc.region, got, err, tc.want)
		}
	}
	for _, raw := range []string{"", "hello", "12", "+1 202 555 01430000"} {
		if _, err := NormalizeNumber(raw, "US"); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("NormalizeNumber(%q) = %v, want ErrInvalidNumber", raw, err)
		}
	}
	for _, ok := range []string{"+12025550143", "+442079460958", "+6831234"} {
		if err := ValidateNumber(ok); err != nil {
			t.Errorf("ValidateNumber(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"12025550143", "+012025550143", "+1202555014a", "+1 2025550143", "+1234567890123456"} {
		if err := ValidateNumber(bad); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("ValidateNumber(%q) = %v", bad, err)
		}
	}
}

func TestScopeKeyIsUnambiguous(t *testing.T) {
	scopes := []Scope{
		{Org: "a", Number: "+15551230001"},
		{Org: "a", Sender: "b", Number: "+15551230001"},
		{Org: "ab", Number: "+15551230001"},
		{Org: "a", Sender: "+1555", Number: "+1555123000"},
		{Org: "a\x01", Number: "+15551230001"},
		{Org: strings.Repeat("o", 128), Sender: "x", Number: "+15551230001"},
		{Org: "a", Sender: "12345", Number: "+15551230001"},
	}
	seen := map[string]Scope{}
	for _, s := range scopes {
		p := testKeys.Pseudonym([]byte(strings.TrimPrefix(s.Number, "+")))
		k := scopeKey(s.Org, p, s.Sender)
		if prev, dup := seen[string(k)]; dup {
			t.Fatalf("%+v and %+v share key %x", prev, s, k)
		}
		seen[string(k)] = s
		back, err := parseScopeKey(k)
		if err != nil || back.org != s.Org || back.sender != s.Sender || back.p != p {
			t.Errorf("parse(%x) = %+v, %v; want %+v", k, back, err, s)
		}
		if bytes.Contains(k, []byte(strings.TrimPrefix(s.Number, "+"))) {
			t.Errorf("the key of %+v holds the number", s)
		}
	}
	if _, err := parseScopeKey([]byte{9, 'a'}); err == nil {
		t.Error("malformed key parsed")
	}
}

func TestMaskNumber(t *testing.T) {
	if got := MaskNumber("+15551234567"); got != "+1555***4567" {
		t.Errorf("MaskNumber = %q", got)
	}
	if got := OrgScope("acme", "+15551234567").String(); got != "acme/+1555***4567" {
		t.Errorf("Scope.String = %q", got)
	}
	if got := MaskNumber("+123"); strings.Contains(got, "123") {
		t.Errorf("short number not masked: %q", got)
	}
}

func TestStateDoesNotAllocate(t *testing.T) {
	s, c := memStore(t)
	org := OrgScope("acme", num(1))
	snd := SenderScope("acme", "agent-7", num(2))
	mustApply(t, s, change(org, EventOptedIn, c.Now()))
	mustApply(t, s, change(snd, EventOptedOut, c.Now()))
	miss := OrgScope("nobody", num(3))
	numb, sndb := []byte(num(2)[1:]), []byte("agent-7")
	allocs := testing.AllocsPerRun(1000, func() {
		if s.State(org) != StateOptedIn || s.State(snd) != StateOptedOut || s.State(miss) != StateUnknown ||
			s.StateBytes("acme", sndb, numb) != StateOptedOut || s.StateBytes("acme", nil, numb) != StateUnknown {
			panic("wrong state")
		}
	})
	if allocs != 0 {
		t.Fatalf("State allocates %v times per call", allocs)
	}
}

// TestImports keeps store free of the proxy and policy packages (DESIGN.md):
// of optguard's own packages it uses store/seal alone.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/optguard/optguard/") && dep != "github.com/optguard/optguard/store" && dep != "github.com/optguard/optguard/store/seal" {
			t.Errorf("store imports %s", dep)
		}
	}
}

// A number validated once is answered from memory; an invalid one is
// never remembered.
func TestValidateNumberRemembers(t *testing.T) {
	for i := 0; i < 2; i++ {
		if err := ValidateNumber("+15551234567"); err != nil {
			t.Fatal(err)
		}
		if err := ValidateNumber("+1555123"); err == nil {
			t.Fatal("a number too short for its country passed")
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = ValidateNumber("+15551234567") }); n != 0 {
		t.Fatalf("a remembered number allocates %v times", n)
	}
}

// NormalizeNumber's fast path gives what the parser gives: every +1
// number with a first digit 2 to 9 and ten digits, over every area code,
// and numbers of other plans once the parser has passed them, in every
// region a caller may name; numbers off the fast path (not E.164, too
// short, a national prefix after the country code) still go to the parser.
func TestNormalizeFastPathAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var numbers []string
	for area := 200; area <= 999; area++ {
		numbers = append(numbers, fmt.Sprintf("+1%03d%07d", area, rng.IntN(10_000_000)))
	}
	others := []string{"+442079460958", "+447911123456", "+4915112345678", "+33612345678", "+61412345678", "+390612345678"}
	for _, n := range others {
		if err := ValidateNumber(n); err != nil { // the parser passes it, and it is remembered
			t.Fatal(err)
		}
	}
	numbers = append(numbers, others...)
	numbers = append(numbers, "+4407911123456", "+11234567890", "+1212555123", "15551234567", "+1 555 123 4567")
	for _, n := range numbers {
		for _, region := range []string{"", "US", "CA", "GB", "de"} {
			fast, ferr := NormalizeNumber(n, region)
			slow, serr := normalizeParsed(n, region)
			if fast != slow || (ferr == nil) != (serr == nil) {
				t.Fatalf("NormalizeNumber(%q, %q) = %q, %v; the parser: %q, %v", n, region, fast, ferr, slow, serr)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeNumber("+15551234567", "US") }); n != 0 {
		t.Errorf("an E.164 North American number allocates %v times", n)
	}
}

// The NANP fast path of ValidateNumber answers as the numbering plan's
// parser does: every +1 number with a first digit 2 to 9 and ten digits is
// possible to both, over every area code and a spread of the rest.
func TestNANPFastPathAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for area := 200; area <= 999; area++ {
		for j := 0; j < 12; j++ {
			n := fmt.Sprintf("+1%03d%07d", area, rng.IntN(10_000_000))
			if j == 0 {
				n = fmt.Sprintf("+1%03d0000000", area)
			}
			key, _ := numberKey(n)
			fast := nanpPossible(n)
			slow := validateParsed(n, key) == nil
			if fast != slow {
				t.Fatalf("%s: fast path %v, parser %v", n, fast, slow)
			}
		}
	}
	for _, n := range []string{"+11234567890", "+10234567890", "+1212555123", "+121255512345", "+442079460958", "+1212555123x"} {
		if nanpPossible(n) {
			t.Errorf("%s took the fast path", n)
		}
	}
}

// Numbers come from people (the operator API, imports): whatever is typed,
// NormalizeNumber answers an error or a valid E.164 number that normalizes
// to itself, never a panic.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+1 (555) 123-4567", "0044 20 7946 0958", "020 7946 0958", "12", "+", "", "٠١٢٣", "+1555;ext=9", "tel:+15551234567", "1-800-FLOWERS"} {
		f.Add(s, "GB")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if len(raw) > 256 || len(region) > 8 {
			return
		}
		n, err := NormalizeNumber(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("NormalizeNumber(%q, %q): %v, not an ErrInvalidNumber", raw, region, err)
			}
			return
		}
		if err := ValidateNumber(n); err != nil {
			t.Fatalf("NormalizeNumber(%q, %q) = %q, which is not valid: %v", raw, region, n, err)
		}
		if again, err := NormalizeNumber(n, ""); err != nil || again != n {
			t.Fatalf("NormalizeNumber(%q) = %q, %v; want itself", n, again, err)
		}
	})
}
