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
	descSimMOSent = prometheus.NewDesc("optguard_sim_mo_sent_total",
		"MOs the simulator's stream sent (-mo-rate); a long MO counts once.", nil, nil)
	descSimMOParts = prometheus.NewDesc("optguard_sim_mo_parts_sent_total",
		"deliver_sm the simulator's MO stream sent: one per MO, two per long MO (-mo-long).", nil, nil)
	descSimMOAnswered = prometheus.NewDesc("optguard_sim_mo_answered_total",
		"Responses to the MO stream's deliver_sm, by command_status.", []string{"status"}, nil)
)

func (c simCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSimReceived
	ch <- descSimAnswered
	ch <- descSimDropped
	ch <- descSimReceipts
	ch <- descSimMOSent
	ch <- descSimMOParts
	ch <- descSimMOAnswered
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
	ch <- prometheus.MustNewConstMetric(descSimMOSent, prometheus.CounterValue, float64(st.MOSent))
	ch <- prometheus.MustNewConstMetric(descSimMOParts, prometheus.CounterValue, float64(st.MOParts))
	for code, n := range st.MOAnswered {
		ch <- prometheus.MustNewConstMetric(descSimMOAnswered, prometheus.CounterValue, float64(n), code.String())
	}
}
