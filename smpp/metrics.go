package smpp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optguard/optguard/smpp/pdu"
)

// direction of a PDU relative to optguard.
const (
	dirIn  = 0
	dirOut = 1
)

// numCells is the number of PDU counters: leg × direction × command × status.
const numCells = 2 * 2 * pdu.NumCommandIndexes * pdu.NumStatusIndexes

// cellIndex returns the counter of a PDU. Requests, and command ids SMPP v3.4
// does not define, are counted under status index 0: command_status means
// nothing in a request, and an unknown command is not known to be a response.
func cellIndex(leg Leg, dir int, id pdu.CommandID, st pdu.Status) int32 {
	si := 0
	if id.IsResponse() && id.Known() {
		si = st.Index()
	}
	return int32(((int(leg)*2+dir)*pdu.NumCommandIndexes+id.Index())*pdu.NumStatusIndexes + si)
}

// latencyBounds are the upper bounds of the relay latency buckets, in
// nanoseconds (100 µs … 30 s).
var latencyBounds = [...]int64{1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2.5e9, 5e9, 1e10, 3e10}

// numLatencyBuckets counts the buckets, the last one (+Inf) included.
const numLatencyBuckets = len(latencyBounds) + 1

func latencyBucket(ns int64) int {
	for i, b := range latencyBounds {
		if ns <= b {
			return i
		}
	}
	return len(latencyBounds)
}

// latencyHist is a Prometheus histogram kept as atomics, filled by tallies.
type latencyHist struct {
	buckets [numLatencyBuckets]atomic.Uint64 // not cumulative
	sumNs   atomic.Int64
}

// metrics are the server's counters: atomics that sessions publish their
// tallies to and that Collect turns into Prometheus samples when scraped.
type metrics struct {
	pdus    [numCells]atomic.Uint64
	latency [2]latencyHist // by leg: request relayed on that leg → its response

	sessions [2]atomic.Int64 // open connections by leg
	binds    [4]atomic.Int64 // bound pairs by BindType

	throttled, timeouts, stray, scanErrors, badFrames atomic.Uint64
	refusedConns, panics, injected                    atomic.Uint64
	floodPauses, silentPeers                          atomic.Uint64
	verdicts                                          [numActions]atomic.Uint64 // by Action

	mu  sync.Mutex
	ups map[string]*upstreamCounts // guarded by mu: by route
}

// upstreamCounts are what the server saw of one route's SMSC.
type upstreamCounts struct {
	binds    uint64 // upstream binds answered by the SMSC
	failures uint64 // failed upstream connects or bind exchanges
	lastBind time.Time
	lastFail time.Time
	lastErr  string
}

func newMetrics() *metrics {
	return &metrics{ups: map[string]*upstreamCounts{}}
}

// count records one PDU directly; for the few PDUs that do not go through a
// session's reader or writer (the bind exchange with the SMSC).
func (m *metrics) count(leg Leg, dir int, id pdu.CommandID, st pdu.Status) {
	m.pdus[cellIndex(leg, dir, id, st)].Add(1)
}

func (m *metrics) sessionOpened(leg Leg) { m.sessions[leg].Add(1) }
func (m *metrics) sessionClosed(leg Leg) { m.sessions[leg].Add(-1) }
func (m *metrics) bound(b BindType, d int64) {
	m.binds[b].Add(d)
}

func (m *metrics) upstreamConnect(route string) {
	m.mu.Lock()
	u := m.upstreamLocked(route)
	u.binds++
	u.lastBind = time.Now()
	m.mu.Unlock()
}

func (m *metrics) upstreamFailure(route string, err error) {
	m.mu.Lock()
	u := m.upstreamLocked(route)
	u.failures++
	u.lastFail, u.lastErr = time.Now(), err.Error()
	m.mu.Unlock()
}

func (m *metrics) upstreamLocked(route string) *upstreamCounts {
	u := m.ups[route]
	if u == nil {
		u = &upstreamCounts{}
		m.ups[route] = u
	}
	return u
}

var (
	descPDUs = prometheus.NewDesc("optguard_pdus_total",
		"PDUs by leg (downstream: ESME side, upstream: SMSC side), direction (in: received by optguard, out: sent), command and status (responses only).",
		[]string{"leg", "direction", "command", "status"}, nil)
	descLatency = prometheus.NewDesc("optguard_relay_latency_seconds",
		"Time from relaying a request on a leg to receiving its response on that leg.", []string{"leg"}, nil)
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
		"Relay events: throttled (window full), timeout (response overdue), stray_response, malformed_message, unframeable_input, refused_connection, panic, injected, flood_pause (reads of a peer flooding a full window paused), silent_peer (dropped: no response for the write timeout).",
		[]string{"event"}, nil)
	descVerdicts = prometheus.NewDesc("optguard_verdicts_total",
		"Interceptor verdicts by action; a deferred message counts as defer and again with the verdict it is finished with.", []string{"action"}, nil)
	descUpConnects = prometheus.NewDesc("optguard_upstream_binds_total",
		"Upstream connections that got the SMSC's bind_resp, by route.", []string{"route"}, nil)
	descUpFailures = prometheus.NewDesc("optguard_upstream_failures_total",
		"Upstream connects or bind exchanges that failed, by route.", []string{"route"}, nil)
	descServiceBinds = prometheus.NewDesc("optguard_service_binds",
		"Service binds optguard keeps to the SMSC, by system_id: 1 bound, 0 down (reconnecting).", []string{"system_id"}, nil)
)

// Collector returns the server's Prometheus collector.
func (srv *Server) Collector() prometheus.Collector { return (*collector)(srv) }

type collector Server

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPDUs, descLatency, descSessions, descBinds, descUnbound, descWindow, descWindowMax, descEvents, descVerdicts, descUpConnects, descUpFailures, descServiceBinds} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	srv := (*Server)(c)
	m := srv.metrics
	c.collectPDUs(ch)
	for leg := range m.latency {
		h := &m.latency[leg]
		cum := map[float64]uint64{}
		var total uint64
		for i, b := range latencyBounds {
			total += h.buckets[i].Load()
			cum[float64(b)/1e9] = total
		}
		total += h.buckets[len(latencyBounds)].Load()
		ch <- prometheus.MustNewConstHistogram(descLatency, total, float64(h.sumNs.Load())/1e9, cum, Leg(leg).String())
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
	svcs := make([]*serviceBind, 0, len(srv.svc))
	for _, sb := range srv.svc {
		svcs = append(svcs, sb)
	}
	srv.mu.Unlock()
	for _, sb := range svcs {
		up := 0.0
		if sb.session() != nil {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descServiceBinds, prometheus.GaugeValue, up, sb.cfg.SystemID)
	}
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
		{"flood_pause", &m.floodPauses}, {"silent_peer", &m.silentPeers},
	} {
		ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(e.v.Load()), e.name)
	}
	for a := range m.verdicts {
		ch <- prometheus.MustNewConstMetric(descVerdicts, prometheus.CounterValue, float64(m.verdicts[a].Load()), Action(a).String())
	}
	m.mu.Lock()
	for r, u := range m.ups {
		if u.binds > 0 {
			ch <- prometheus.MustNewConstMetric(descUpConnects, prometheus.CounterValue, float64(u.binds), r)
		}
		if u.failures > 0 {
			ch <- prometheus.MustNewConstMetric(descUpFailures, prometheus.CounterValue, float64(u.failures), r)
		}
	}
	m.mu.Unlock()
}

// collectPDUs emits one sample per PDU counter that is not zero.
func (c *collector) collectPDUs(ch chan<- prometheus.Metric) {
	m := (*Server)(c).metrics
	dirs := [2]string{"in", "out"}
	for leg := 0; leg < 2; leg++ {
		for dir := 0; dir < 2; dir++ {
			for ci := 0; ci < pdu.NumCommandIndexes; ci++ {
				cmd, isResp := "unknown", false
				if ci < len(pdu.KnownCommands) {
					cmd, isResp = pdu.KnownCommands[ci].String(), pdu.KnownCommands[ci].IsResponse()
				}
				for si := 0; si < pdu.NumStatusIndexes; si++ {
					n := m.pdus[((leg*2+dir)*pdu.NumCommandIndexes+ci)*pdu.NumStatusIndexes+si].Load()
					if n == 0 {
						continue
					}
					status := ""
					if isResp {
						status = "other"
						if st, ok := pdu.StatusAt(si); ok {
							status = st.String()
						}
					}
					ch <- prometheus.MustNewConstMetric(descPDUs, prometheus.CounterValue, float64(n), Leg(leg).String(), dirs[dir], cmd, status)
				}
			}
		}
	}
}
