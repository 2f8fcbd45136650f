package main

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// The live view's data (GET /api/v1/live): a sampler reads the SMPP
// server's request counters, the policy's consent counts and the store's
// held count every liveStep and keeps the last liveWindow of them in a
// ring, so that the console draws series, not only totals. It reads
// atomics (and, once per step, the store's expiry index): the relay path
// does not see it.

const (
	liveStep   = 5 * time.Second
	liveWindow = 15 * time.Minute
	// liveSamples cover the window: one more than its steps, as a rate
	// needs a sample at each end of its step.
	liveSamples = int(liveWindow/liveStep) + 1
)

// liveRoute is a configured route to an SMSC.
type liveRoute struct{ name, address string }

type liveSampler struct {
	srv    *smpp.Server
	pol    *policy.Engine
	st     store.Store
	log    zerolog.Logger
	routes []liveRoute
	step   time.Duration

	mu   sync.Mutex
	ring []httpapi.LiveSample // guarded by mu: oldest first, at most cap(ring)
	held int                  // guarded by mu: the last count read

	stop chan struct{}
	done chan struct{}
}

// startLive starts the sampler of the live view; step 0 is liveStep
// (tests shorten it, and the window with it).
func (p *proxy) startLive(step time.Duration) {
	if step <= 0 {
		step = liveStep
	}
	var routes []liveRoute
	if a := p.cfg.Upstream.Default.Address; a != "" {
		routes = append(routes, liveRoute{"default", a})
	}
	for _, r := range p.cfg.Upstream.Routes {
		routes = append(routes, liveRoute{r.Name, r.Address})
	}
	s := &liveSampler{srv: p.srv, pol: p.pol, st: p.store, log: p.log, routes: routes, step: step,
		ring: make([]httpapi.LiveSample, 0, liveSamples), stop: make(chan struct{}), done: make(chan struct{})}
	s.add(s.sample(time.Now(), true))
	go s.run()
	p.live = s
}

// stopLive ends the sampler; it is idempotent.
func (p *proxy) stopLive() {
	if p.live == nil {
		return
	}
	select {
	case <-p.live.stop:
	default:
		close(p.live.stop)
	}
	<-p.live.done
}

func (s *liveSampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.step)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.add(s.sample(now, true))
		}
	}
}

// sample reads the counters at now; the held count only when readHeld
// (it walks the store's expiry index), else the last one read.
func (s *liveSampler) sample(now time.Time, readHeld bool) httpapi.LiveSample {
	smp := httpapi.LiveSample{
		At:          now.UTC().Round(time.Millisecond),
		SubmitSM:    s.srv.Received(smpp.Downstream, pdu.SubmitSM),
		SubmitMulti: s.srv.Received(smpp.Downstream, pdu.SubmitMulti),
		DeliverSM:   s.srv.Received(smpp.Upstream, pdu.DeliverSM),
		DataSM:      s.srv.Received(smpp.Downstream, pdu.DataSM) + s.srv.Received(smpp.Upstream, pdu.DataSM),
		Consent:     map[string]httpapi.LiveConsent{},
	}
	for acct, n := range s.pol.ConsentCounts() {
		smp.Consent[acct] = httpapi.LiveConsent{OptOuts: n.OptOuts, OptIns: n.OptIns}
	}
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if readHeld {
		ctx, cancel := context.WithTimeout(context.Background(), s.step)
		n, _, err := s.st.HeldSummary(ctx)
		cancel()
		if err != nil {
			s.log.Debug().Err(err).Msg("live view: counting held messages; the last count stands")
		} else {
			held = n
		}
	}
	smp.Held = held
	return smp
}

// add appends smp to the ring, dropping the oldest when it is full.
func (s *liveSampler) add(smp httpapi.LiveSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = smp.Held
	if len(s.ring) == cap(s.ring) {
		copy(s.ring, s.ring[1:])
		s.ring = s.ring[:len(s.ring)-1]
	}
	s.ring = append(s.ring, smp)
}

// snapshot is Options.Live: the binds and upstreams now, the ring, and
// the counters now.
func (s *liveSampler) snapshot() httpapi.LiveSnapshot {
	now := time.Now()
	snap := httpapi.LiveSnapshot{At: now.UTC().Round(time.Millisecond), Step: s.step, Window: time.Duration(liveSamples-1) * s.step,
		Now: s.sample(now, false)}
	s.mu.Lock()
	snap.Samples = append([]httpapi.LiveSample(nil), s.ring...)
	s.mu.Unlock()
	perRoute := map[string]int{}
	for _, b := range s.srv.Binds() {
		perRoute[b.Route]++
		snap.Binds = append(snap.Binds, httpapi.LiveBind{
			SystemID: b.SystemID, Remote: b.Remote, Route: b.Route, BindType: b.Bind.String(), BoundAt: b.Since.UTC(),
			OutstandingDownstream: b.DownstreamOutstanding, OutstandingUpstream: b.UpstreamOutstanding, Window: b.Window, Service: b.Service,
		})
	}
	seen := map[string]smpp.UpstreamStatus{}
	for _, u := range s.srv.Upstreams() {
		seen[u.Route] = u
	}
	for _, r := range s.routes {
		u := seen[r.name]
		snap.Upstreams = append(snap.Upstreams, httpapi.LiveUpstream{
			Route: r.name, Address: r.address, Binds: perRoute[r.name], Connects: u.Binds, Failures: u.Failures,
			LastBind: u.LastBind.UTC(), LastFailure: u.LastFail.UTC(), LastError: u.LastErr,
		})
	}
	return snap
}
