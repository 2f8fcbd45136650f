package webhooks

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counters are a sender's, since the process started; the collector reads
// them without touching the store.
type counters struct {
	ok, failed atomic.Uint64 // attempts
	delivered  atomic.Uint64 // events taken by the receiver
	failures   atomic.Uint64 // failed attempts in a row
	cursor     atomic.Uint64 // the last sequence number the sender is past
}

var (
	descAttempts  = prometheus.NewDesc("optguard_webhook_attempts_total", "Webhook requests made, by endpoint and result (ok: answered 2xx).", []string{"endpoint", "result"}, nil)
	descDelivered = prometheus.NewDesc("optguard_webhook_delivered_events_total", "Events taken by the endpoint's receiver (repeats after a crash count again).", []string{"endpoint"}, nil)
	descFailing   = prometheus.NewDesc("optguard_webhook_failures_in_a_row", "Failed webhook requests since the endpoint's last success: alert when it stays above 0.", []string{"endpoint"}, nil)
	descCursor    = prometheus.NewDesc("optguard_webhook_cursor", "The last ledger sequence number the endpoint is past; compare with the ledger's head.", []string{"endpoint"}, nil)
)

type collector struct{ d *Dispatcher }

// Collector exports the endpoints' counters to Prometheus.
func (d *Dispatcher) Collector() prometheus.Collector { return collector{d} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAttempts, descDelivered, descFailing, descCursor} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.d.crew().senders {
		n := s.ep.Name
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(s.m.ok.Load()), n, "ok")
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(s.m.failed.Load()), n, "failed")
		ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(s.m.delivered.Load()), n)
		ch <- prometheus.MustNewConstMetric(descFailing, prometheus.GaugeValue, float64(s.m.failures.Load()), n)
		ch <- prometheus.MustNewConstMetric(descCursor, prometheus.GaugeValue, float64(s.m.cursor.Load()), n)
	}
}
