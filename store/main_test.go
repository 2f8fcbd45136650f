package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/optguard/optguard/store/seal"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func newClock() *clock {
	// Near the wall clock: badger judges TTLs by it.
	return &clock{t: time.Now().UTC().Truncate(time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backends runs fn against a store in a temp dir and one in memory.
func backends(t *testing.T, fn func(t *testing.T, s *Badger, c *clock)) {
	t.Helper()
	for _, mem := range []bool{false, true} {
		name := "dir"
		if mem {
			name = "mem"
		}
		t.Run(name, func(t *testing.T) {
			c := newClock()
			opts := Options{Clock: c.Now, InMemory: mem}
			if !mem {
				opts.Dir = t.TempDir()
			} else {
				opts.KeyFile = filepath.Join(t.TempDir(), KeyFileName) // so that a backup can be read elsewhere
			}
			fn(t, openT(t, opts), c)
		})
	}
}

func openT(t testing.TB, opts Options) *Badger {
	t.Helper()
	s, err := OpenBadger(opts)
	if err != nil {
		t.Fatalf("OpenBadger: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func memStore(t testing.TB) (*Badger, *clock) {
	c := newClock()
	return openT(t, Options{InMemory: true, Clock: c.Now}), c
}

var ctx = context.Background()

func num(i int) string { return fmt.Sprintf("+1555%07d", i) }

// change builds a valid change of type typ for scope s.
func change(s Scope, typ EventType, at time.Time) Change {
	ch := Change{
		Scope:      s,
		Type:       typ,
		Mode:       ModeConsent,
		OccurredAt: at,
		Method:     MethodSMSKeyword,
		Actor:      "handset",
	}
	if typ == EventStateImported {
		ch.State = StateOptedIn
		ch.Method = MethodImport
		ch.Actor = "import"
	}
	return ch
}

func mustApply(t testing.TB, s Store, ch Change) Applied {
	t.Helper()
	a, err := s.Apply(ctx, ch)
	if err != nil {
		t.Fatalf("Apply(%s %s): %v", ch.Type, ch.Scope, err)
	}
	return a
}

func mustVerify(t testing.TB, s Store) VerifyReport {
	t.Helper()
	rep, err := s.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func mustAgree(t testing.TB, s Store) RebuildReport {
	t.Helper()
	rep, err := s.CheckIndex(ctx)
	if err != nil {
		t.Fatalf("CheckIndex: %v", err)
	}
	if !rep.Agrees() || rep.PrevStateMismatches != 0 {
		t.Fatalf("index disagrees with ledger: %+v", rep)
	}
	return rep
}

// pdu returns a plausible submit_sm-sized byte string tagged with i.
func pdu(i int) []byte {
	b := make([]byte, 64)
	b[3] = 64
	b[7] = 4 // submit_sm
	copy(b[16:], fmt.Sprintf("pdu-%d", i))
	return b
}

// handsetNum is the Handset of the E.164 number whose digits are n.
func handsetNum(b *Badger, n uint64) Handset { return b.Handset(digitsNum(n)) }

// digitsNum is the E.164 number whose digits are n, as a PDU carries it.
func digitsNum(n uint64) []byte { return strconv.AppendUint(nil, n, 10) }

// testKeys are the keys of indexes that tests build without a store.
var testKeys = seal.Generate()

// setScope is index.set for a scope with its number, as tests write them.
func (ix *index) setScope(s Scope, v idxVal) {
	h, _ := handsetOfNumber(ix.keys, s.Number)
	ix.set(s.Org, s.Sender, h, v)
}

// dirScopeKey is the stored key of scope s in the store of directory dir,
// under the key file there.
func dirScopeKey(t testing.TB, dir string, s Scope) []byte {
	t.Helper()
	k, err := seal.Load(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	return scopeKey(s.Org, k.Pseudonym([]byte(strings.TrimPrefix(s.Number, "+"))), s.Sender)
}
