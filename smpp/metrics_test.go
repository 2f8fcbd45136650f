package smpp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

func TestMetricsCountWhatCrossed(t *testing.T) {
	h := newHarness(t, smpp.Options{Window: 64}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	h.bind(pdu.BindReceiver, "beta", testenv.ESMEConfig{})
	for i := 0; i < 5; i++ {
		if _, err := e.Submit(h.ctx(), textSM("count me")); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(h.srv.Collector())
	want := `
# HELP optguard_binds Bound ESME sessions by bind type.
# TYPE optguard_binds gauge
optguard_binds{bind="receiver"} 1
optguard_binds{bind="transceiver"} 1
optguard_binds{bind="transmitter"} 0
# HELP optguard_connections Open SMPP connections by leg.
# TYPE optguard_connections gauge
optguard_connections{leg="downstream"} 2
optguard_connections{leg="upstream"} 2
# HELP optguard_window_size Configured window per leg of a bind.
# TYPE optguard_window_size gauge
optguard_window_size 64
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "optguard_binds", "optguard_connections", "optguard_window_size"); err != nil {
		t.Error(err)
	}
	// A reader publishes its counts at the end of its batch, after the
	// batch's PDUs went out: the last response can reach the ESME first.
	var mfs []*dto.MetricFamily
	gather := func() {
		var err error
		if mfs, err = reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	gather()
	find := func(name string, labels map[string]string) float64 {
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		next:
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
						continue next
					}
				}
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
		return -1
	}
	checks := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"leg": "downstream", "direction": "in", "command": "submit_sm", "status": ""}, 5},
		{map[string]string{"leg": "upstream", "direction": "out", "command": "submit_sm", "status": ""}, 5},
		{map[string]string{"leg": "upstream", "direction": "in", "command": "submit_sm_resp", "status": "ESME_ROK"}, 5},
		{map[string]string{"leg": "downstream", "direction": "out", "command": "submit_sm_resp", "status": "ESME_ROK"}, 5},
	}
	testenv.Eventually(t, 3*time.Second, func() bool {
		gather()
		for _, c := range checks {
			if find("optguard_pdus_total", c.labels) != c.want {
				return false
			}
		}
		return find("optguard_relay_latency_seconds", map[string]string{"leg": "upstream"}) == 5
	}, "the counts of the five exchanges were not published")
	for _, c := range checks {
		if got := find("optguard_pdus_total", c.labels); got != c.want {
			t.Errorf("optguard_pdus_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := find("optguard_relay_latency_seconds", map[string]string{"leg": "upstream"}); got != 5 {
		t.Errorf("upstream latency samples = %v, want 5", got)
	}
	if got := find("optguard_upstream_binds_total", map[string]string{"route": "sim"}); got != 2 {
		t.Errorf("upstream binds = %v, want 2", got)
	}
}
