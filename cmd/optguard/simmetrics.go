package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/optguard/optguard/testenv"
)

// simCollector exposes the simulator's counts (testenv.SMSC.Stats) on
// optguard sim's /metrics, read at each scrape; a load tester takes the
// per-second rates from them (rate() over the scrape interval).
type simCollector struct{ sim *testenv.SMSC }

var (
	descSimReceived = prometheus.NewDesc("optguard_sim_pdus_received_total",
		"PDUs the simulator received, by command.", []string{"command"}, nil)
	descSimAnswered = prometheus.NewDesc("optguard_sim_submissions_answered_total",
		"Answers to message submissions (submit_sm, data_sm, submit_multi), by command_status.", []string{"status"}, nil)
	descSimDropped = prometheus.NewDesc("optguard_sim_submissions_dropped_total",
		"Message submissions the load profile left unanswered (-drop).", nil, nil)
	descSimReceipts = prometheus.NewDesc("optguard_sim_receipts_total",
		"Delivery receipts queued, by final state.", []string{"stat"}, nil)
)

func (c simCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSimReceived
	ch <- descSimAnswered
	ch <- descSimDropped
	ch <- descSimReceipts
}

func (c simCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.sim.Stats()
	for id, n := range st.Received {
		ch <- prometheus.MustNewConstMetric(descSimReceived, prometheus.CounterValue, float64(n), id.String())
	}
	for code, n := range st.Answered {
		ch <- prometheus.MustNewConstMetric(descSimAnswered, prometheus.CounterValue, float64(n), code.String())
	}
	ch <- prometheus.MustNewConstMetric(descSimDropped, prometheus.CounterValue, float64(st.Dropped))
	for stat, n := range st.Receipts {
		ch <- prometheus.MustNewConstMetric(descSimReceipts, prometheus.CounterValue, float64(n), stat)
	}
}
