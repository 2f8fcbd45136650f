package smpp

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optguard/optguard/smpp/pdu"
)

// direction of a PDU relative to optguard.
const (
	dirIn  = 0
	dirOut = 1
)

// metrics are the server's counters. PDU counts live in a fixed array indexed by
// leg, direction, command and status, updated with atomics, so that counting
// costs no allocation and no lock on the relay path; Collect turns them into
// Prometheus samples when scraped.
type metrics struct {
	pdus [2][2][pdu.NumCommandIndexes][pdu.NumStatusIndexes]atomic.Uint64

	sessions [2]atomic.Int64 // open connections by leg
	binds    [4]atomic.Int64 // bound pairs by BindType

	throttled, timeouts, stray, scanErrors, badFrames atomic.Uint64
	refusedConns, panics, injected                    atomic.Uint64
	verdicts                                          [3]atomic.Uint64 // by Action

	latency [2]prometheus.Histogram // request sent on a leg → its response, by leg

	mu       sync.Mutex
	upConns  map[string]uint64 // guarded by mu: successful upstream binds by route
	upFailed map[string]uint64 // guarded by mu: failed upstream connects or binds by route
}

func newMetrics() *metrics {
	m := &metrics{upConns: map[string]uint64{}, upFailed: map[string]uint64{}}
	for leg := range m.latency {
		m.latency[leg] = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "optguard_relay_latency_seconds",
			Help:        "Time from relaying a request on a leg to receiving its response on that leg.",
			ConstLabels: prometheus.Labels{"leg": Leg(leg).String()},
			Buckets:     []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		})
	}
	return m
}

// count records one PDU.
func (m *metrics) count(leg Leg, dir int, id pdu.CommandID, st pdu.Status) {
	si := 0
	if id.IsResponse() {
		si = st.Index()
	}
	m.pdus[leg][dir][id.Index()][si].Add(1)
}

func (m *metrics) observeLatency(leg Leg, ns int64) {
	m.latency[leg].Observe(float64(ns) / 1e9)
}

func (m *metrics) sessionOpened(leg Leg) { m.sessions[leg].Add(1) }
func (m *metrics) sessionClosed(leg Leg) { m.sessions[leg].Add(-1) }
func (m *metrics) bound(b BindType, d int64) {
	m.binds[b].Add(d)
}

func (m *metrics) upstreamConnect(route string) {
	m.mu.Lock()
	m.upConns[route]++
	m.mu.Unlock()
}

func (m *metrics) upstreamFailure(route string) {
	m.mu.Lock()
	m.upFailed[route]++
	m.mu.Unlock()
}

var (
	descPDUs = prometheus.NewDesc("optguard_pdus_total",
		"PDUs by leg (downstream: ESME side, upstream: SMSC side), direction (in: received by optguard, out: sent), command and status (responses only).",
		[]string{"leg", "direction", "command", "status"}, nil)
	descSessions = prometheus.NewDesc("optguard_connections",
		"Open SMPP connections by leg.", []string{"leg"}, nil)
	descBinds = prometheus.NewDesc("optguard_binds",
		"Bound ESME sessions by bind type.", []string{"bind"}, nil)
	descUnbound = prometheus.NewDesc("optguard_unbound_connections",
		"ESME connections that have not bound (yet).", nil, nil)
	descWindow = prometheus.NewDesc("optguard_window_outstanding",
		"Outstanding requests summed over the binds, by leg.", []string{"leg"}, nil)
	descWindowMax = prometheus.NewDesc("optguard_window_size",
		"Configured window per leg of a bind.", nil, nil)
	descEvents = prometheus.NewDesc("optguard_relay_events_total",
		"Relay events: throttled (window full), timeout (response overdue), stray_response, malformed_message, unframeable_input, refused_connection, panic, injected.",
		[]string{"event"}, nil)
	descVerdicts = prometheus.NewDesc("optguard_verdicts_total",
		"Interceptor verdicts by action.", []string{"action"}, nil)
	descUpConnects = prometheus.NewDesc("optguard_upstream_binds_total",
		"Upstream connections that bound (or got the SMSC's bind_resp), by route.", []string{"route"}, nil)
	descUpFailures = prometheus.NewDesc("optguard_upstream_failures_total",
		"Upstream connects or bind exchanges that failed, by route.", []string{"route"}, nil)
)

// Collector returns the server's Prometheus collector.
func (srv *Server) Collector() prometheus.Collector { return (*collector)(srv) }

type collector Server

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPDUs, descSessions, descBinds, descUnbound, descWindow, descWindowMax, descEvents, descVerdicts, descUpConnects, descUpFailures} {
		ch <- d
	}
	for _, h := range c.metrics.latency {
		h.Describe(ch)
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	srv := (*Server)(c)
	m := srv.metrics
	dirs := [2]string{"in", "out"}
	for leg := range m.pdus {
		for dir := range m.pdus[leg] {
			for ci := range m.pdus[leg][dir] {
				cmd := "unknown"
				if ci < len(pdu.KnownCommands) {
					cmd = pdu.KnownCommands[ci].String()
				}
				for si := range m.pdus[leg][dir][ci] {
					n := m.pdus[leg][dir][ci][si].Load()
					if n == 0 {
						continue
					}
					status := ""
					if ci < len(pdu.KnownCommands) && pdu.KnownCommands[ci].IsResponse() || ci == len(pdu.KnownCommands) {
						if st, ok := pdu.StatusAt(si); ok {
							status = st.String()
						} else {
							status = "other"
						}
					}
					ch <- prometheus.MustNewConstMetric(descPDUs, prometheus.CounterValue, float64(n), Leg(leg).String(), dirs[dir], cmd, status)
				}
			}
		}
	}
	for leg := range m.sessions {
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(m.sessions[leg].Load()), Leg(leg).String())
	}
	for b := Transmitter; b <= Transceiver; b++ {
		ch <- prometheus.MustNewConstMetric(descBinds, prometheus.GaugeValue, float64(m.binds[b].Load()), b.String())
	}
	var outstanding [2]int
	unbound := 0
	srv.mu.Lock()
	for s := range srv.sessions {
		if s.pair.Load() == nil {
			unbound++
		}
	}
	for _, ps := range srv.pairs {
		for _, pr := range ps {
			outstanding[Downstream] += pr.down.pend.len()
			outstanding[Upstream] += pr.up.pend.len()
		}
	}
	srv.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descUnbound, prometheus.GaugeValue, float64(unbound))
	for leg, n := range outstanding {
		ch <- prometheus.MustNewConstMetric(descWindow, prometheus.GaugeValue, float64(n), Leg(leg).String())
	}
	ch <- prometheus.MustNewConstMetric(descWindowMax, prometheus.GaugeValue, float64(srv.opts.Window))
	for _, e := range []struct {
		name string
		v    *atomic.Uint64
	}{
		{"throttled", &m.throttled}, {"timeout", &m.timeouts}, {"stray_response", &m.stray},
		{"malformed_message", &m.scanErrors}, {"unframeable_input", &m.badFrames},
		{"refused_connection", &m.refusedConns}, {"panic", &m.panics}, {"injected", &m.injected},
	} {
		ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(e.v.Load()), e.name)
	}
	for a := range m.verdicts {
		ch <- prometheus.MustNewConstMetric(descVerdicts, prometheus.CounterValue, float64(m.verdicts[a].Load()), Action(a).String())
	}
	m.mu.Lock()
	for r, n := range m.upConns {
		ch <- prometheus.MustNewConstMetric(descUpConnects, prometheus.CounterValue, float64(n), r)
	}
	for r, n := range m.upFailed {
		ch <- prometheus.MustNewConstMetric(descUpFailures, prometheus.CounterValue, float64(n), r)
	}
	m.mu.Unlock()
	for _, h := range m.latency {
		h.Collect(ch)
	}
}
