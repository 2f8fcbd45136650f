package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// admin is the operator's HTTP listener: /metrics for Prometheus, /healthz for
// load balancers and orchestrators, and /debug/pprof for profiles.
type admin struct {
	srv   *http.Server
	ln    net.Listener
	ready atomic.Bool // false until serving, and again once draining
}

// startAdmin listens on addr and serves the registry's metrics, with the Go
// runtime and process collectors (resident memory among them) added.
// degraded says why optguard relays but takes no durable work (nil when it
// does).
func startAdmin(addr string, reg *prometheus.Registry, log zerolog.Logger, degraded func() error) (*admin, error) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &admin{ln: ln}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: promLogger{log}}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !a.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining\n"))
			return
		}
		// Degraded stays 200: optguard still relays everything that needs
		// no write, and a 503 would have an orchestrator restart it into a
		// start the full disk refuses. optguard_store_degraded alerts.
		if err := degraded(); err != nil {
			fmt.Fprintf(w, "degraded: %v\n", err)
			return
		}
		w.Write([]byte("ok\n"))
	})
	// Profiles for the operator chasing a slow or busy proxy; the admin
	// listener is loopback by default.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.ready.Store(true)
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin listener failed")
		}
	}()
	log.Info().Str("address", ln.Addr().String()).Msg("admin HTTP listening (/metrics, /healthz)")
	return a, nil
}

// draining makes /healthz answer 503 so that load balancers stop sending binds.
func (a *admin) draining() { a.ready.Store(false) }

func (a *admin) shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// promLogger sends promhttp's errors to zerolog.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error().Msgf("metrics: %v", v) }
