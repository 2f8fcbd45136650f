// Package ratelog bounds the log lines that remote peers can cause.
//
// Anyone who can reach optguard's port can make it warn: a connection over
// the limit, garbage instead of a PDU, a bind with a wrong password, a bind
// that never comes. One line per event let a connection flood write 100,000
// lines in ten seconds and take most of a core. A Limiter lets the first few
// events of a kind from one remote host through in each interval, counts the
// rest, and writes one summary line per kind and host at the end of the
// interval with the count. Metrics still count every event (that is the
// caller's job); audit events (consent changes) never go through a Limiter.
//
// Hosts are kept up to MaxHosts per kind; beyond that, events from new hosts
// are counted under the host "*" (a flood from many addresses still yields a
// bounded number of lines). A Limiter's goroutine, which writes the
// summaries, runs only while it has something to summarize.
package ratelog

import (
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of a Limiter's settings.
const (
	DefaultInterval = 10 * time.Second
	DefaultBurst    = 5
	DefaultMaxHosts = 1024
)

// Limiter rate-limits warnings per kind and remote host. The zero value is
// not usable; call New.
type Limiter struct {
	log      zerolog.Logger
	interval time.Duration
	burst    int
	maxHosts int

	mu      sync.Mutex
	entries map[key]*entry // guarded by mu: this interval's events
	hosts   map[string]int // guarded by mu: hosts with an entry, per kind
	running bool           // guarded by mu: the summary goroutine is up
	stop    chan struct{}  // closed by Close
	closed  bool           // guarded by mu
	wg      sync.WaitGroup // the summary goroutine
}

type key struct{ kind, host string }

type entry struct {
	seen       int // events this interval
	suppressed int // of which not logged
}

// Options configure a Limiter; zero fields take the defaults.
type Options struct {
	Interval time.Duration // summary interval
	Burst    int           // events logged per kind and host in each interval
	MaxHosts int           // hosts tracked per kind before they share "*"
}

// New returns a Limiter that writes its summaries to log.
func New(log zerolog.Logger, o Options) *Limiter {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxHosts <= 0 {
		o.MaxHosts = DefaultMaxHosts
	}
	return &Limiter{log: log, interval: o.Interval, burst: o.Burst, maxHosts: o.MaxHosts,
		entries: make(map[key]*entry), hosts: make(map[string]int), stop: make(chan struct{})}
}

// Allow records one event of kind from remote (a host, or host:port) and
// reports whether the caller should log it.
func (l *Limiter) Allow(kind, remote string) bool {
	host := Host(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	k := key{kind, host}
	e := l.entries[k]
	if e == nil {
		if l.hosts[kind] >= l.maxHosts {
			k.host = "*"
			e = l.entries[k]
		}
		if e == nil {
			e = &entry{}
			l.entries[k] = e
			l.hosts[kind]++
		}
	}
	e.seen++
	if !l.running && !l.closed {
		l.running = true
		l.wg.Add(1)
		go l.run()
	}
	if e.seen > l.burst {
		e.suppressed++
		return false
	}
	return true
}

// run writes the summaries at the end of each interval and ends once an
// interval passed without events, or at Close.
func (l *Limiter) run() {
	defer l.wg.Done()
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.stop:
			l.mu.Lock()
			l.flushLocked()
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Lock()
		if len(l.entries) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.flushLocked()
		l.mu.Unlock()
	}
}

// flushLocked writes one line per kind and host that had events suppressed
// and starts a new interval.
func (l *Limiter) flushLocked() {
	for k, e := range l.entries {
		if e.suppressed > 0 {
			l.log.Warn().Str("kind", k.kind).Str("remote_host", k.host).Int("suppressed", e.suppressed).
				Int("events", e.seen).Dur("interval", l.interval).Msg("repeated warnings suppressed")
		}
	}
	clear(l.entries)
	clear(l.hosts)
}

// Close writes the pending summaries and stops the summary goroutine. Events
// after Close are still limited, and their summaries are not written.
func (l *Limiter) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// Host returns the host of a host:port address, or the address itself.
func Host(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
