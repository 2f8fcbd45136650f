package store

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestDefaultReserve: the default reserve follows the sizes badger runs
// with, 256 MiB with the defaults, and a larger percentage of the
// filesystem raises it.
func TestDefaultReserve(t *testing.T) {
	o := Options{Dir: "x"}.withDefaults()
	if o.MinFreeBytes != 256<<20 {
		t.Fatalf("default MinFreeBytes %d; want 256 MiB", o.MinFreeBytes)
	}
	big := Options{Dir: "x", MemTableSize: 64 << 20}.withDefaults()
	if want := int64((7*64+10+7*32+10+64+63)/64*64) << 20; big.MinFreeBytes != want {
		t.Fatalf("MinFreeBytes with 64 MiB memtables %d; want %d", big.MinFreeBytes, want)
	}
	g := newDiskGuard(Options{Dir: "x", MinFreeBytes: 8 << 20, MinFreePercent: 10}, zerolog.Nop())
	if r, f := g.thresholds(1<<30, 0); r != 1<<30/10 || f != 1<<30/20 {
		t.Fatalf("reserve %d floor %d on 1 GiB at 10%%; want %d and %d", r, f, 1<<30/10, 1<<30/20)
	}
	if r, f := g.thresholds(10<<20, 50<<20); f != 51<<20 || r != f {
		t.Fatalf("reserve %d floor %d when badger needs 50 MiB; want both 51 MiB", r, f)
	}
}

// TestDiskFullErrorText: the message names the directory and both sizes in
// bytes and in binary units.
func TestDiskFullErrorText(t *testing.T) {
	err := &DiskFullError{Dir: "/var/lib/optguard", Free: 3 << 20, Needed: 256 << 20, For: "of its reserve"}
	want := "store: disk full: /var/lib/optguard has 3145728 bytes (3.0 MiB) free, less than the 268435456 bytes (256.0 MiB) of its reserve"
	if err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err.Error(), want)
	}
	if !strings.Contains((&DiskFullError{Free: 0}).Error(), "has 0 bytes free") {
		t.Fatal("zero bytes free is not written as such")
	}
}
