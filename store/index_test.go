package store

import (
	"fmt"
	"sync"
	"testing"
)

func TestSymbolsPromoteAndStayConsistent(t *testing.T) {
	ix := newIndex(0)
	s := &ix.syms
	ids := map[string]uint32{}
	for i := 0; i < 100; i++ {
		name := fmt.Sprint("org-", i)
		ids[name] = s.intern(name)
		if again := s.intern(name); again != ids[name] {
			t.Fatalf("intern(%s) = %d then %d", name, ids[name], again)
		}
	}
	// Lookups of names still in dirty take the lock and, after enough of
	// them, publish a new read map; every id stays the same.
	for round := 0; round < 3; round++ {
		for name, id := range ids {
			if got, ok := s.lookup(name); !ok || got != id {
				t.Fatalf("lookup(%s) = %d, %v; want %d", name, got, ok, id)
			}
		}
	}
	if n := s.dirtyLen.Load(); n != 0 {
		t.Fatalf("%d names never promoted to the read map", n)
	}
	if _, ok := s.lookup("nobody"); ok {
		t.Fatal("unknown name found")
	}
	if id, ok := s.lookup(""); !ok || id != 0 {
		t.Fatal("empty name is not id 0")
	}
}

// TestIndexConcurrentReadWrite runs readers against a writer interning new
// organizations and senders (meaningful under -race).
func TestIndexConcurrentReadWrite(t *testing.T) {
	ix := newIndex(0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sc := SenderScope(fmt.Sprint("org-", i%20), fmt.Sprint("s", i%30), num(i%500))
				if v, ok := ix.get(sc); ok && v.state != StateOptedIn {
					t.Errorf("read %v for %v", v.state, sc)
					return
				}
			}
		}()
	}
	for i := 0; i < 5000; i++ {
		ix.set(SenderScope(fmt.Sprint("org-", i%20), fmt.Sprint("s", i%30), num(i%500)), idxVal{state: StateOptedIn, updated: int64(i)})
	}
	close(stop)
	wg.Wait()
	if ix.len() == 0 || ix.countByState()[StateOptedIn] != ix.len() {
		t.Fatalf("counts: len %d by state %v", ix.len(), ix.countByState())
	}
}
