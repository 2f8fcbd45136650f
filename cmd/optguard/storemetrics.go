package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/optguard/optguard/store"
)

// storeCollector exposes the store's cheap figures (no disk access) on /metrics.
type storeCollector struct{ st store.Store }

var (
	descConsents = prometheus.NewDesc("optguard_store_consent_records",
		"Consent records in the store's index, by state.", []string{"state"}, nil)
	descLogItems = prometheus.NewDesc("optguard_message_log_items_total",
		"Message log items since start, by result: written, dropped (the log fell behind or the item was malformed; the relay never waits for it), failed (a batch could not be written).",
		[]string{"result"}, nil)
	descLogQueue = prometheus.NewDesc("optguard_message_log_queue",
		"Message log items waiting to be written.", nil, nil)
	descDiskFree = prometheus.NewDesc("optguard_store_disk_free_bytes",
		"Free space of the data directory's filesystem, as the store last read it (every second).", nil, nil)
	descDiskReserve = prometheus.NewDesc("optguard_store_disk_reserve_bytes",
		"Free space the store keeps (store.min_free_bytes, min_free_percent, or what its database needs when more): below it durable work is refused with temporary errors.", nil, nil)
	descDegraded = prometheus.NewDesc("optguard_store_degraded",
		"1 while the store takes no new durable work (consent changes, holds; they are answered with temporary errors) for the reason given, else 0.", []string{"reason"}, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConsents
	ch <- descLogItems
	ch <- descLogQueue
	ch <- descDiskFree
	ch <- descDiskReserve
	ch <- descDegraded
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.st.Gauges()
	for st, n := range g.ByState {
		ch <- prometheus.MustNewConstMetric(descConsents, prometheus.GaugeValue, float64(n), store.State(st).String())
	}
	ch <- prometheus.MustNewConstMetric(descLogItems, prometheus.CounterValue, float64(g.LogWritten), "written")
	ch <- prometheus.MustNewConstMetric(descLogItems, prometheus.CounterValue, float64(g.LogDropped), "dropped")
	ch <- prometheus.MustNewConstMetric(descLogItems, prometheus.CounterValue, float64(g.LogFailed), "failed")
	ch <- prometheus.MustNewConstMetric(descLogQueue, prometheus.GaugeValue, float64(g.LogQueued))
	if d := g.Disk; d.Known {
		ch <- prometheus.MustNewConstMetric(descDiskFree, prometheus.GaugeValue, float64(d.Free))
		ch <- prometheus.MustNewConstMetric(descDiskReserve, prometheus.GaugeValue, float64(d.Reserve))
		low := 0.0
		if d.Low() {
			low = 1
		}
		ch <- prometheus.MustNewConstMetric(descDegraded, prometheus.GaugeValue, low, "disk_full")
	}
}
