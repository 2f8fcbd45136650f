package policy

import (
	"strconv"
	"testing"
)

func TestDialPlanE164(t *testing.T) {
	us, err := newDialPlan("US")
	if err != nil {
		t.Fatal(err)
	}
	gb, err := newDialPlan("gb")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		plan *dialPlan
		ton  byte
		addr string
		want string // "" = not a number
	}{
		{&us, tonInternational, "15551234567", "15551234567"},
		{&us, tonUnknown, "+15551234567", "15551234567"},
		{&us, tonUnknown, "0015551234567", "15551234567"},
		{&us, tonUnknown, "15551234567", "15551234567"},
		{&us, tonUnknown, "5551234567", "15551234567"},
		{&us, tonNational, "5551234567", "15551234567"},
		{&us, tonInternational, "447911123456", "447911123456"},
		{&gb, tonNational, "07911123456", "447911123456"},
		{&gb, tonUnknown, "07911123456", "447911123456"},
		{&gb, tonUnknown, "447911123456", "447911123456"},
		{&us, tonAlphanumeric, "ACME", ""},
		{&us, tonUnknown, "ACME", ""},
		{&us, tonUnknown, "", ""},
		{&us, tonInternational, "1234", ""},
		{&us, tonInternational, "1234567890123456", ""},
		{&us, tonInternational, "05551234567", ""},
	}
	for _, tt := range tests {
		var buf digits
		got, ok := tt.plan.e164(&buf, tt.ton, []byte(tt.addr))
		if string(got) != tt.want || ok != (tt.want != "") {
			t.Errorf("%s e164(ton %d, %q) = %q, %v; want %q", tt.plan.region, tt.ton, tt.addr, got, ok, tt.want)
		}
	}
	if _, err := newDialPlan("XX"); err == nil {
		t.Error("newDialPlan(XX) accepted a country that does not exist")
	}
	var buf digits
	addr := []byte("5551234567")
	if n := testing.AllocsPerRun(100, func() { us.e164(&buf, tonUnknown, addr) }); n != 0 {
		t.Errorf("e164 allocates %v times", n)
	}
}

func TestRegions(t *testing.T) {
	var r regions
	for _, tt := range []struct{ num, want string }{
		{"15551234567", "US"}, {"14165550123", "CA"}, {"447400123456", "GB"}, {"447911123456", "GG"}, {"33612345678", "FR"},
	} {
		if got := r.of([]byte(tt.num)); got != tt.want {
			t.Errorf("region of %s = %q; want %s", tt.num, got, tt.want)
		}
	}
	num := []byte("15551234567")
	if n := testing.AllocsPerRun(100, func() { r.of(num) }); n != 0 {
		t.Errorf("a cached region lookup allocates %v times", n)
	}
}

// FuzzParseDigits holds the eight-at-a-time parse to strconv's answer for
// every input of up to 15 bytes.
func FuzzParseDigits(f *testing.F) {
	for _, s := range []string{"1", "12345678", "123456789", "155512345678901", "0000000", "12a45678", "1234567/", "12345678:", "\x00", "999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		got, ok := parseDigits(d)
		digitsOnly := len(d) > 0 && len(d) <= maxE164
		for _, c := range d {
			digitsOnly = digitsOnly && c >= '0' && c <= '9'
		}
		if ok != digitsOnly {
			t.Fatalf("parseDigits(%q) ok = %v, want %v", d, ok, digitsOnly)
		}
		if want, _ := strconv.ParseUint(string(d), 10, 64); ok && got != want {
			t.Fatalf("parseDigits(%q) = %d, want %d", d, got, want)
		}
	})
}

func BenchmarkDialPlanPack(b *testing.B) {
	us, err := newDialPlan("US")
	if err != nil {
		b.Fatal(err)
	}
	addrs := [][]byte{[]byte("15551234567"), []byte("447911123456"), []byte("5551234567"), []byte("+4915112345678")}
	b.ReportAllocs()
	var sum uint64
	for i := 0; b.Loop(); i++ {
		v, _ := us.pack(tonUnknown, addrs[i&3])
		sum += v
	}
	sinkNumber = sum
}

var sinkNumber uint64
