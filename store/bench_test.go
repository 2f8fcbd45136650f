package store

import (
	"fmt"
	"math/rand"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks for docs/BENCHMARKS.md:
//
//	go test -run '^$' -bench . -benchmem ./store/
//
// Durable benchmarks use a temp dir on the real disk (every change is
// synced); the others use whatever is cheapest to set up.

func benchStore(b *testing.B, opts Options) *Badger {
	b.Helper()
	if !opts.InMemory {
		opts.Dir = b.TempDir()
	}
	return openT(b, opts)
}

func reportRate(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

var benchTypes = []EventType{EventOptedIn, EventOptedOut}

func BenchmarkApply(b *testing.B) {
	s := benchStore(b, Options{})
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustApply(b, s, change(OrgScope("acme", num(i%1000)), benchTypes[i%2], now))
	}
	reportRate(b, "changes/s")
}

func benchApplyParallel(b *testing.B, opts Options) {
	s := benchStore(b, opts)
	now := time.Now()
	var n atomic.Int64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			mustApply(b, s, change(OrgScope("acme", num(i%1000)), benchTypes[i%2], now))
		}
	})
	reportRate(b, "changes/s")
}

// BenchmarkApplyParallel16: 16 concurrent writers, group commit.
func BenchmarkApplyParallel16(b *testing.B) { benchApplyParallel(b, Options{}) }

// BenchmarkApplyParallel16NoBatch: the same with CommitBatch 1, i.e. plain
// serialized appends, one sync per change (the alternative not taken).
func BenchmarkApplyParallel16NoBatch(b *testing.B) { benchApplyParallel(b, Options{CommitBatch: 1}) }

// stateStore is an in-memory store with n imported consent records.
func stateStore(b *testing.B, n int) (*Badger, []Scope) {
	s := benchStore(b, Options{InMemory: true})
	scopes := make([]Scope, n)
	changes := make([]Change, 0, 10000)
	now := time.Now()
	for i := range scopes {
		scopes[i] = OrgScope(fmt.Sprintf("org-%d", i%50), num(i))
		ch := change(scopes[i], EventStateImported, now)
		changes = append(changes, ch)
		if len(changes) == cap(changes) || i == n-1 {
			if _, err := s.Import(ctx, changes); err != nil {
				b.Fatal(err)
			}
			changes = changes[:0]
		}
	}
	return s, scopes
}

func BenchmarkState(b *testing.B) {
	s, scopes := stateStore(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.State(scopes[i%len(scopes)]) != StateOptedIn {
			b.Fatal("wrong state")
		}
	}
	reportRate(b, "lookups/s")
}

func BenchmarkStateParallel(b *testing.B) {
	s, scopes := stateStore(b, 100000)
	var seed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(7919))
		for pb.Next() {
			i++
			if s.State(scopes[i%len(scopes)]) != StateOptedIn {
				b.Fatal("wrong state")
			}
		}
	})
	reportRate(b, "lookups/s")
}

// BenchmarkState1M is the MT hot path against a full index of 1 M scopes
// (100 organizations), in random order: the handset is formatted into a
// reused buffer as the relay would hold destination_addr, and looked up
// with StateBytes. The index is filled directly (ix.set, what the committer
// does after each commit) because importing 1 M records in memory would
// take most of a minute of setup.
func BenchmarkState1M(b *testing.B) {
	s := benchStore(b, Options{InMemory: true})
	ix := s.idx.Load()
	const n = 1_000_000
	orgs := make([]string, 100)
	for i := range orgs {
		orgs[i] = fmt.Sprint("org-", i)
	}
	for i := 0; i < n; i++ {
		ix.setScope(OrgScope(orgs[i%100], fmt.Sprintf("+1555%07d", i)), idxVal{state: StateOptedIn, mode: ModeConsent})
	}
	order := rand.Perm(n)
	buf := append(make([]byte, 0, 32), "+1555"...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := order[i%n]
		num := strconv.AppendInt(buf[:5], int64(10_000_000+k), 10)
		copy(num[5:], num[6:]) // drop the leading 1 of the 8-digit counter: 7 digits
		if s.StateBytes(orgs[k%100], nil, num[:len(num)-1]) != StateOptedIn {
			b.Fatal("wrong state")
		}
	}
	reportRate(b, "lookups/s")
}

// BenchmarkHoldRelease: hold an MT for a new handset (synced), opt the
// handset in releasing it (synced, one transaction), acknowledge it after
// forwarding (synced): the full round trip of a held message.
func BenchmarkHoldRelease(b *testing.B) {
	s := benchStore(b, Options{})
	now := time.Now()
	msg := pdu(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc := OrgScope("acme", num(i))
		id := fmt.Sprint("og-", i)
		if _, err := s.Hold(ctx, HeldMessage{ID: id, Scope: sc, SystemID: "esme", PDU: msg}); err != nil {
			b.Fatal(err)
		}
		ch := change(sc, EventOptedIn, now)
		ch.Holds = ReleaseHeld
		a := mustApply(b, s, ch)
		if len(a.Released) != 1 {
			b.Fatal("not released")
		}
		if n, err := s.Ack(ctx, id); n != 1 || err != nil {
			b.Fatal(n, err)
		}
	}
	reportRate(b, "roundtrips/s")
}

// BenchmarkEventsExport streams a 100k-event ledger from disk.
func BenchmarkEventsExport(b *testing.B) {
	s := benchStore(b, Options{})
	const n = 100000
	changes := make([]Change, n)
	now := time.Now()
	for i := range changes {
		changes[i] = change(OrgScope("acme", num(i)), EventStateImported, now)
		changes[i].Note = "imported from the CRM export of 2024-05-01"
	}
	if _, err := s.Import(ctx, changes); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var events int
	for i := 0; i < b.N; i++ {
		err := s.Events(ctx, EventFilter{}, func(Event) error { events++; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMessageLog measures Log on the relay path (ns/op, allocs) and
// reports how many of the records the writer kept up with.
func BenchmarkMessageLog(b *testing.B) {
	s := benchStore(b, Options{})
	r := Record{ID: "", Org: "acme", Sender: "+15550000001", Number: "+15551230001", Status: MsgSent}
	idList := make([]string, 1<<16)
	for i := range idList {
		idList[i] = fmt.Sprint("og-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.ID = idList[i&(len(idList)-1)]
		r.At = time.Time{}
		s.Log(r)
	}
	b.StopTimer()
	s.Close()
	b.ReportMetric(float64(s.ml.dropped.Load())/float64(b.N)*100, "%dropped")
}

// BenchmarkMessageLogWriter measures what the writer sustains on disk:
// records are offered no faster than it drains them, and the clock stops
// when the last one is written.
func BenchmarkMessageLogWriter(b *testing.B) {
	s := benchStore(b, Options{})
	r := Record{Org: "acme", Sender: "+15550000001", Number: "+15551230001", Status: MsgSent}
	idList := make([]string, 1<<16)
	for i := range idList {
		idList[i] = fmt.Sprint("og-", i)
	}
	half := cap(s.ml.ch) / 2
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for len(s.ml.ch) > half {
			time.Sleep(50 * time.Microsecond)
		}
		r.ID = idList[i&(len(idList)-1)]
		s.Log(r)
	}
	for s.ml.written.Load()+s.ml.dropped.Load() < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	if d := s.ml.dropped.Load(); d != 0 {
		b.Fatalf("%d dropped", d)
	}
	reportRate(b, "records/s")
}

// BenchmarkIDMapMiss is the receipt path for messages that were never held
// (answered from memory).
func BenchmarkIDMapMiss(b *testing.B) {
	s := benchStore(b, Options{})
	for i := 0; i < 1000; i++ {
		s.MapMessageID(ctx, fmt.Sprint("og-", i), fmt.Sprint("smsc-", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.OptguardMessageID(ctx, "not-mapped"); err == nil {
			b.Fatal("found")
		}
	}
}

// BenchmarkApplyWithLogLoad: one durable writer while the message log is
// fed about 50 000 records/s in the background.
func BenchmarkApplyWithLogLoad(b *testing.B) {
	s := benchStore(b, Options{})
	now := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		r := Record{Org: "acme", Sender: "+15550000001", Number: "+15551230001", Status: MsgSent}
		for i := 0; ; {
			select {
			case <-stop:
				return
			case <-t.C:
				for k := 0; k < 50; k++ {
					i++
					r.ID = fmt.Sprint("og-", i)
					s.Log(r)
				}
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustApply(b, s, change(OrgScope("acme", num(i%1000)), benchTypes[i%2], now))
	}
	b.StopTimer()
	close(stop)
	<-done
	reportRate(b, "changes/s")
	b.ReportMetric(float64(s.ml.written.Load())/b.Elapsed().Seconds(), "logrecords/s")
}

// BenchmarkImportHolds is Import of numbers the store has never seen, in
// chunks of 10,000 on the real disk, with and without a hold action: what
// looking for each number's held messages costs an import that finds none.
func BenchmarkImportHolds(b *testing.B) {
	for _, bc := range []struct {
		name  string
		holds HoldAction
	}{{"keep", KeepHeld}, {"release", ReleaseHeld}} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStore(b, Options{})
			now := time.Now()
			const chunk = 10_000
			changes := make([]Change, chunk)
			first := 0
			for b.Loop() {
				for i := range changes {
					changes[i] = change(OrgScope("acme", num(first+i)), EventStateImported, now)
					changes[i].Holds = bc.holds
				}
				if rep, err := s.Import(ctx, changes); err != nil || rep.Applied != chunk {
					b.Fatalf("import: %+v, %v", rep, err)
				}
				first += chunk
			}
			b.ReportMetric(float64(first)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
