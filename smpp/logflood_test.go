package smpp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// A flood of connections over max_connections and of connections sending
// garbage writes a bounded number of lines: the first few of each kind
// from the flooding host, then one summary with the count of the rest. The
// metrics count every event.
func TestFloodsWriteBoundedLogs(t *testing.T) {
	const (
		refusals = 2000
		garbage  = 300
		burst    = 5
	)
	var sink testenv.LogBuffer
	srv := smpp.NewServer(smpp.Options{
		Logger:         zerolog.New(&sink).Level(zerolog.InfoLevel),
		MaxConnections: 1,
		BindTimeout:    time.Minute,
		WarnInterval:   time.Hour, // the summaries come at Shutdown
		WarnBurst:      burst,
		Router:         func(string) smpp.Route { return smpp.Route{Name: "none", Address: "127.0.0.1:1"} },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()

	// One connection takes the only place; every other one is refused.
	holder, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	waitEvents := func(event string, n float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for relayEvents(t, srv, event) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v of %v counted", event, relayEvents(t, srv, event), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i := 0; i < refusals; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		io.Copy(io.Discard, c) // until the server closes it
		c.Close()
	}
	waitEvents("refused_connection", refusals)
	holder.Close()

	// Garbage: a command_length no PDU can have, on fresh connections.
	bad := make([]byte, pdu.HeaderLen)
	binary.BigEndian.PutUint32(bad, 3)
	for i := 0; i < garbage; i++ {
		var c net.Conn
		deadline := time.Now().Add(10 * time.Second)
		for {
			// The holder's place frees up a moment after it closed.
			if c, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
			c.Write(bad)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, _ := io.ReadAll(c)
			c.Close()
			if len(resp) > 0 || time.Now().After(deadline) {
				break // answered with generic_nack: it was accepted
			}
		}
	}
	waitEvents("unframeable_input", garbage)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, smpp.ErrServerClosed) {
		t.Fatal(err)
	}

	logged := map[string]int{}
	suppressed := map[string]float64{}
	lines := sink.Lines(t)
	for _, m := range lines {
		kind, _ := m["kind"].(string)
		if m["message"] == "repeated warnings suppressed" {
			if m["remote_host"] != "127.0.0.1" {
				t.Errorf("summary for host %v, want 127.0.0.1", m["remote_host"])
			}
			suppressed[kind] += m["suppressed"].(float64)
			continue
		}
		if kind != "" {
			logged[kind]++
		}
	}
	if len(lines) > 2*burst+10 {
		t.Errorf("%d log lines for %d events, want a bounded few:\n%s", len(lines), refusals+garbage, sink.String())
	}
	for kind, n := range map[string]int{"connection_limit": refusals, "unframeable_input": garbage} {
		if logged[kind] != burst || float64(logged[kind])+suppressed[kind] < float64(n) {
			t.Errorf("%s: %d lines and %v suppressed, want %d lines and the rest of %d summed up", kind, logged[kind], suppressed[kind], burst, n)
		}
	}
}

// relayEvents reads optguard_relay_events_total for one event.
func relayEvents(t *testing.T, srv *smpp.Server, event string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "optguard_relay_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" && l.GetValue() == event {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
