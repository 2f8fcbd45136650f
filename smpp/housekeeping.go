package smpp

import (
	"sync"
	"time"
)

// Housekeeping (overdue responses, enquire_link on idle links) runs for every
// session from a few shared goroutines, not from a timer per session: with
// a timer in each session's writer, 10,000 binds were 20,000 timers firing
// every second, and the runtime's timer heap took a third of the CPU of the
// binds that carried traffic. Sessions are spread over housekeeperShards
// lists; each list has one goroutine that wakes every tick (the same
// granularity the per-session timers had, see tickEvery) and walks its
// sessions. An idle session costs a few loads per tick.
//
// A shard's goroutine runs only while the shard has sessions, so a server
// with no sessions has no housekeeping goroutines.

const housekeeperShards = 16

type housekeeper struct {
	every  time.Duration
	shards [housekeeperShards]hkShard
}

type hkShard struct {
	hk       *housekeeper
	mu       sync.Mutex
	sessions []*Session    // guarded by mu
	running  bool          // guarded by mu: the shard's goroutine is up
	wake     chan struct{} // the last session left: let the goroutine end now
	// Owned by the shard's goroutine.
	walk    []*Session
	expired []request
}

func newHousekeeper(every time.Duration) *housekeeper {
	hk := &housekeeper{every: every}
	for i := range hk.shards {
		hk.shards[i].hk = hk
		hk.shards[i].wake = make(chan struct{}, 1)
	}
	return hk
}

// add puts s under housekeeping, starting its shard's goroutine if needed. A
// session closed already is left out: close sets closed before it calls
// remove, so under the shard's lock one of the two sees the other.
func (hk *housekeeper) add(s *Session) {
	sh := &hk.shards[s.id%housekeeperShards]
	sh.mu.Lock()
	if s.closed() {
		sh.mu.Unlock()
		return
	}
	s.hkIndex = len(sh.sessions)
	sh.sessions = append(sh.sessions, s)
	if !sh.running {
		sh.running = true
		go sh.run()
	}
	sh.mu.Unlock()
}

// remove takes s off housekeeping; a walk under way may still visit it once.
func (hk *housekeeper) remove(s *Session) {
	sh := &hk.shards[s.id%housekeeperShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i := s.hkIndex
	if i < 0 || i >= len(sh.sessions) || sh.sessions[i] != s {
		return // never added, or removed already
	}
	last := len(sh.sessions) - 1
	sh.sessions[i] = sh.sessions[last]
	sh.sessions[i].hkIndex = i
	sh.sessions[last] = nil
	sh.sessions = sh.sessions[:last]
	s.hkIndex = -1
	if last == 0 {
		select {
		case sh.wake <- struct{}{}:
		default:
		}
	}
}

// run walks the shard's sessions every tick until the shard is empty. The
// walk runs without the lock (housekeeping may close a session, which
// removes it), over a copy of the list.
func (sh *hkShard) run() {
	t := time.NewTicker(sh.hk.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-sh.wake:
		}
		sh.mu.Lock()
		if len(sh.sessions) == 0 {
			sh.running = false
			sh.mu.Unlock()
			return
		}
		sh.walk = append(sh.walk[:0], sh.sessions...)
		sh.mu.Unlock()
		for i, s := range sh.walk {
			if !s.closed() {
				sh.expired = s.housekeep(sh.expired[:0])
			}
			sh.walk[i] = nil // let closed sessions go
		}
	}
}
