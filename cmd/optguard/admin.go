package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
)

// admin is the operator's HTTP listener: /metrics for Prometheus, /healthz for
// load balancers and orchestrators, and /debug/pprof for profiles (see
// profiles); over HTTPS when admin.tls is set. Other handlers (the
// operator API) are mounted on it with Handle.
type admin struct {
	srv   *http.Server
	ln    net.Listener
	mux   *http.ServeMux
	certs *keyPair    // admin.tls's, nil without TLS
	ready atomic.Bool // false until serving, and again once draining
}

// startAdmin listens on c.Address and serves the registry's metrics, with the
// Go runtime and process collectors (resident memory among them) added;
// HTTPS (TLS 1.2 or later) with c.TLS's certificate when c.TLS is enabled,
// plain HTTP otherwise. degraded says why optguard relays but takes no
// durable work (nil when it does). Errors name the configuration key at
// fault.
func startAdmin(c config.Admin, reg *prometheus.Registry, log zerolog.Logger, degraded func() error) (*admin, error) {
	var tcfg *tls.Config
	var certs *keyPair
	if c.TLS.Enabled() {
		// serverTLS is the ESME listener's: the same certificate loading and
		// minimum version, and no client certificates without a client CA.
		var err error
		tcfg, certs, err = serverTLS(config.ListenTLS{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile})
		if err != nil {
			// Its error names listen.tls; the one cause it can have here is
			// the key pair.
			if cause := errors.Unwrap(err); cause != nil {
				err = cause
			}
			return nil, fmt.Errorf("admin.tls.cert_file %s and admin.tls.key_file %s: %w", c.TLS.CertFile, c.TLS.KeyFile, err)
		}
	}
	ln, err := net.Listen("tcp", c.Address)
	if err != nil {
		return nil, fmt.Errorf("admin.address %s: %w", c.Address, err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &admin{ln: ln, mux: http.NewServeMux(), certs: certs}
	mux := a.mux
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
	a.srv = &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, TLSConfig: tcfg,
		ErrorLog: stdlog.New(httpErrorLog{log}, "", 0),
	}
	a.ready.Store(true)
	go func() {
		var err error
		if tcfg != nil {
			// The certificate is in TLSConfig; ServeTLS adds HTTP/2.
			err = a.srv.ServeTLS(ln, "", "")
		} else {
			err = a.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin listener failed")
		}
	}()
	scheme := "HTTP"
	if tcfg != nil {
		scheme = "HTTPS"
	}
	log.Info().Str("address", ln.Addr().String()).Msg("admin " + scheme + " listening (/metrics, /healthz)")
	return a, nil
}

// Handle mounts h on the admin listener for pattern (http.ServeMux syntax,
// e.g. "/api/" or "GET /openapi.json"), as the operator API is mounted.
// Call it right after startAdmin, before optguard takes binds and
// announces itself ready: the listener already serves, and a request that
// arrives for pattern before Handle gets 404. Like ServeMux.Handle, it
// panics when pattern conflicts with one already mounted (/metrics,
// /healthz, /debug/pprof/ and earlier Handle calls).
func (a *admin) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// profiles serves /debug/pprof, for the operator chasing a slow or busy
// proxy, through guard: serve lets only admin tokens read them (goroutine
// dumps and heaps show the proxy's insides), the simulator lets anyone.
func (a *admin) profiles(guard func(http.Handler) http.Handler) {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /debug/pprof/":        pprof.Index,
		"GET /debug/pprof/profile": pprof.Profile,
		"GET /debug/pprof/trace":   pprof.Trace,
		"GET /debug/pprof/symbol":  pprof.Symbol,
	} {
		a.mux.Handle(pattern, guard(h))
	}
}

// draining makes /healthz answer 503 so that load balancers stop sending binds.
func (a *admin) draining() { a.ready.Store(false) }

func (a *admin) shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// httpErrorLog sends the admin http.Server's errors to zerolog: failed TLS
// handshakes (scanners, clients speaking plain HTTP or not trusting the
// certificate) at debug, the rest (a handler's panic among them) as errors.
type httpErrorLog struct{ log zerolog.Logger }

func (l httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	ev := l.log.Error()
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		ev = l.log.Debug()
	}
	ev.Msg("admin listener: " + msg)
	return len(p), nil
}

// promLogger sends promhttp's errors to zerolog.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error().Msgf("metrics: %v", v) }
