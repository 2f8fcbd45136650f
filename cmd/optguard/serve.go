package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/policy/webhooks"
	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/store/seal"
	"github.com/optguard/optguard/testenv"
)

// runServe is `optguard serve`: load the configuration, apply the command-line
// overrides, start everything, and shut down in order on SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration `file` (default: built-in defaults, see optguard.example.yaml)")
	listen := fs.String("listen", "", "SMPP listen `address` for ESMEs; overrides listen.address")
	upstream := fs.String("upstream", "", "SMSC `address` (host:port) for every bind; overrides upstream.default.address and routes")
	adminAddr := fs.String("admin", "", "admin HTTP `address` for /metrics and /healthz (\"off\" disables); overrides admin.address")
	dataDir := fs.String("data", "", "data `directory`; overrides data.dir")
	keyFile := fs.String("key-file", "", "installation key `file`; overrides data.key_file (default optguard.key in the data directory)")
	mode := fs.String("mode", "", "consent `mode` of the default organization: consent, disclaimer or off (default off, or the file's)")
	migrate := fs.Bool("migrate", false, "convert a data directory more than one format behind this build, step by step (the previous format is converted without it); back it up first")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: optguard serve [-config FILE] [flags]

Runs the proxy: ESMEs bind to -listen, optguard binds on to the SMSC of
their route (the built-in simulator when no upstream is configured, which
the log says), and the operator API, the console and /metrics are on -admin.

Signals: SIGHUP reloads the -config file's organizations, keywords,
templates, admin.tokens, retention and webhooks without dropping a bind (a
file with an error is refused and nothing changes; the sections a reload
does not apply are named in a warning), and reads the TLS certificates
again from their files. SIGINT or SIGTERM shut down in order: binds
unbind, in-flight requests finish, the store closes.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			fmt.Fprintf(stderr, "serve: %v\n", err)
			return 2
		}
	}
	fileCfg := *cfg // as the file says, for SIGHUP to tell what changed
	if *listen != "" {
		cfg.Listen.Address = *listen
	}
	if *upstream != "" {
		cfg.Upstream.Default.Address = *upstream
		cfg.Upstream.Routes = nil
	}
	if *adminAddr == "off" {
		cfg.Admin.Address = ""
	} else if *adminAddr != "" {
		cfg.Admin.Address = *adminAddr
	}
	if *dataDir != "" {
		cfg.Data.Dir = *dataDir
	}
	if *keyFile != "" {
		cfg.Data.KeyFile = *keyFile
	}
	cfg.Data.Migrate = *migrate
	if *mode != "" {
		m := config.Mode(*mode)
		if m != config.ModeConsent && m != config.ModeDisclaimer && m != config.ModeOff {
			fmt.Fprintf(stderr, "serve: -mode %q: write consent, disclaimer or off\n", *mode)
			return 2
		}
		cfg.SetDefaultMode(m)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	if err := policy.Check(policyOrganizations(cfg), policySettings(cfg)); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", policyError(cfg, err))
		return 2
	}
	if _, err := webhookEndpoints(cfg); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	log := newLogger(stdout, cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reload := func(p *proxy) {}
	if *cfgPath != "" {
		reload = func(p *proxy) { p.reloadOnSIGHUP(ctx, *cfgPath, *mode, &fileCfg) }
	}
	if err := serve(ctx, cfg, log, reload); err != nil {
		log.Error().Err(err).Msg("optguard stopped with an error")
		return 1
	}
	return 0
}

// proxy is a running optguard: everything serve starts, in the order it stops.
type proxy struct {
	cfg   *config.Config
	log   zerolog.Logger
	sim   *testenv.SMSC // built-in simulator when no upstream is configured
	store *store.Badger
	pol   *policy.Engine
	srv   *smpp.Server
	lns   []net.Listener
	admin *admin
	api   *httpapi.API         // the operator API, on the admin listener
	hooks *webhooks.Dispatcher // posts consent changes to webhooks.endpoints
	certs []namedKeyPair       // the certificates a reload reads again
	// hookSettings is the webhooks section hooks runs on, as
	// webhookSettings made it: a reload compares the file's with it.
	hookSettings webhooks.Options
	errc         chan error // Serve errors

	ret        retention          // organizations' retention, replaced by a reload
	stopSweep  context.CancelFunc // ends the retention sweep
	sweepEnded chan struct{}
	daily      *dailyFile   // writes the daily opt-out file (dailyfile.go); nil when off
	live       *liveSampler // the live view's samples (live.go); nil without the admin listener
}

// serve starts optguard, calls started (if not nil) with it, waits for ctx and
// shuts down in order.
func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger, started func(*proxy)) error {
	checkFileLimit(log, cfg.Listen.MaxConnections, store.OpenFiles(cfg.Data.Dir))
	p, err := start(cfg, log)
	if err != nil {
		return err
	}
	if started != nil {
		started(p)
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("signal received: shutting down")
	case serveErr = <-p.errc:
		log.Error().Err(serveErr).Msg("listener failed: shutting down")
	}
	if err := p.stop(); serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// start brings optguard up; on error everything already started is stopped.
func start(cfg *config.Config, log zerolog.Logger) (*proxy, error) {
	return startWithOptions(cfg, log, startOptions{})
}

// startOptions change what start builds; the zero value is what serve runs.
// Only tests set them.
type startOptions struct {
	// clock is the store's and the policy's time (nil: time.Now), so that
	// expiry can be tested without waiting for it.
	clock func() time.Time
	// dailyNap bounds how long the daily opt-out file's schedule sleeps
	// without reading clock (0: a minute), for tests that move clock.
	dailyNap time.Duration
	// liveStep is the live view's sampling step (0: liveStep), for tests
	// that watch its series move.
	liveStep time.Duration
}

func startWithOptions(cfg *config.Config, log zerolog.Logger, o startOptions) (p *proxy, err error) {
	p = &proxy{cfg: cfg, log: log, errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	log.Info().Str("version", versionString()).Msg("optguard starting")
	if cfg.UsesSimulator() {
		p.sim, err = testenv.StartSMSC(testenv.SMSCConfig{Addr: "127.0.0.1:0", AutoReceipts: true, ReceiptDelay: time.Second})
		if err != nil {
			return p, fmt.Errorf("starting the built-in SMSC simulator: %w", err)
		}
		cfg.Upstream.Default.Address = p.sim.Addr()
		log.Warn().Str("simulator", p.sim.Addr()).
			Msg("no upstream SMSC configured (upstream.default.address or -upstream): binds go to the built-in SMSC simulator, and no message leaves this machine")
	}
	p.ret.t.Store(retentionOf(cfg))
	sopts := storeOptions(cfg, log)
	sopts.Clock = o.clock
	sopts.MessageLog.Retention = p.ret.t.Load().longestMessages
	sopts.MessageLog.RetentionFor = p.ret.messageLogFor
	if p.store, err = store.OpenBadger(sopts); err != nil {
		if errors.Is(err, store.ErrDiskFull) {
			return p, fmt.Errorf("opening the store in data.dir %s: %w; free space there, or lower store.min_free_bytes (%s) or store.min_free_percent (%g)",
				cfg.Data.Dir, err, cfg.Store.MinFreeBytes, cfg.Store.MinFreePercent)
		}
		if errors.Is(err, store.ErrKey) || errors.Is(err, seal.ErrKeyFilePermissions) || errors.Is(err, seal.ErrKeyFileFormat) {
			return p, fmt.Errorf("opening the store in data.dir %s: %w (the key file is data.key_file, or -key-file)", cfg.Data.Dir, err)
		}
		return p, fmt.Errorf("opening the store in data.dir %s: %w", cfg.Data.Dir, err)
	}
	d := p.store.DiskSpace()
	log.Info().Str("data_dir", cfg.Data.Dir).Uint64("disk_free_bytes", d.Free).Uint64("disk_reserve_bytes", d.Reserve).Msg("store opened")
	clock := o.clock
	if clock == nil {
		clock = time.Now
	}
	if err := p.startWebhooks(); err != nil {
		return p, err
	}
	if err := p.startDailyFile(clock, o.dailyNap); err != nil {
		return p, err
	}
	router, upstreamCerts, err := newRouter(cfg)
	if err != nil {
		return p, err
	}
	p.certs = append(p.certs, upstreamCerts...)
	tr := &transport{}
	if p.pol, err = policy.New(policy.Options{
		Store:         p.store,
		Transport:     tr,
		Logger:        log,
		Clock:         o.clock,
		Organizations: policyOrganizations(cfg),
		Settings:      policySettings(cfg),
	}); err != nil {
		return p, policyError(cfg, err)
	}
	logModes(log, p.pol)
	var sweepCtx context.Context
	sweepCtx, p.stopSweep = context.WithCancel(context.Background())
	p.sweepEnded = make(chan struct{})
	go func() {
		defer close(p.sweepEnded)
		sweepRetention(sweepCtx, p.store, &p.ret, clock, log, serveSweeps(func() bool { return p.pol.ImportsRunning() > 0 }))
	}()
	p.srv = smpp.NewServer(smpp.Options{
		Interceptor:           interceptor{p.pol},
		OnBind:                func(ev smpp.BindEvent) { p.pol.BindChanged(ev.SystemID, ev.Bound) },
		Logger:                log,
		Router:                router,
		Window:                cfg.Session.Window,
		ResponseTimeout:       time.Duration(cfg.Session.ResponseTimeout),
		TimeoutStatus:         pdu.Status(cfg.Session.TimeoutStatus),
		EnquireLinkInterval:   enquireInterval(cfg.Session.EnquireLinkInterval),
		UnbindTimeout:         time.Duration(cfg.Session.UnbindTimeout),
		WriteTimeout:          time.Duration(cfg.Session.WriteTimeout),
		BindTimeout:           time.Duration(cfg.Listen.BindTimeout),
		MaxPDUSize:            uint32(cfg.Session.MaxPDUSize),
		RefuseUnknownCommands: cfg.Session.UnknownCommands == config.UnknownCommandsRefuse,
		MaxConnections:        cfg.Listen.MaxConnections,
		MaxBindsPerSystemID:   cfg.Listen.MaxBindsPerSystemID,
		WarnInterval:          time.Duration(cfg.Log.WarnInterval),
		WarnBurst:             cfg.Log.WarnBurst,
	})
	tr.srv = p.srv
	p.pol.Start()
	p.srv.SetServiceBinds(serviceBinds(cfg))
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.srv.Collector(), storeCollector{p.store}, p.pol.Collector(), p.hooks.Collector())
	if cfg.Admin.Address != "" {
		if p.admin, err = startAdmin(cfg.Admin, reg, log, p.store.Accepting); err != nil {
			return p, err
		}
		if p.admin.certs != nil {
			p.certs = append(p.certs, namedKeyPair{"admin.tls", p.admin.certs})
		}
		p.startLive(o.liveStep)
		if err := p.mountAPI(); err != nil {
			return p, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen.Address)
	if err != nil {
		return p, fmt.Errorf("listen.address %s: %w", cfg.Listen.Address, err)
	}
	p.serveOn(ln)
	if cfg.Listen.TLS.Address != "" {
		tcfg, certs, err := serverTLS(cfg.Listen.TLS)
		if err != nil {
			return p, err
		}
		p.certs = append(p.certs, namedKeyPair{"listen.tls", certs})
		tln, err := net.Listen("tcp", cfg.Listen.TLS.Address)
		if err != nil {
			return p, fmt.Errorf("listen.tls.address %s: %w", cfg.Listen.TLS.Address, err)
		}
		p.serveOn(tls.NewListener(tln, tcfg))
	}
	return p, nil
}

func (p *proxy) serveOn(ln net.Listener) {
	p.lns = append(p.lns, ln)
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, smpp.ErrServerClosed) {
			p.errc <- err
		}
	}()
}

// addr returns the address of the plain SMPP listener.
func (p *proxy) addr() string { return p.lns[0].Addr().String() }

// stop unbinds every session within the drain timeout, then stops the rest.
// Its error is the store's, when closing it failed (on a full disk the
// store is left to be recovered at the next start).
func (p *proxy) stop() error {
	drain := time.Duration(p.cfg.Shutdown.DrainTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if p.admin != nil {
		p.admin.draining()
	}
	if p.api != nil {
		p.api.Close() // running imports stop between batches
	}
	p.stopLive()
	if p.pol != nil {
		// Answer what the policy's lanes hold while the binds are still up.
		if err := p.pol.Close(ctx); err != nil {
			p.log.Warn().Err(err).Msg("policy work did not finish in time; its PDUs were not answered and will be sent again")
		}
	}
	if p.srv != nil {
		if err := p.srv.Shutdown(ctx); err != nil {
			p.log.Warn().Err(err).Dur("drain_timeout", drain).Msg("binds did not all unbind in time; closed them")
		}
	}
	for _, ln := range p.lns {
		ln.Close()
	}
	if p.stopSweep != nil {
		p.stopSweep()
		<-p.sweepEnded
	}
	p.stopWebhooks()
	p.stopDailyFile()
	var storeErr error
	if p.store != nil {
		if storeErr = p.store.Close(); storeErr != nil {
			p.log.Error().Err(storeErr).Msg("closing the store")
			storeErr = fmt.Errorf("closing the store: %w", storeErr)
		}
	}
	if p.sim != nil {
		p.sim.Close()
	}
	if p.admin != nil {
		p.admin.shutdown(ctx)
	}
	p.log.Info().Msg("optguard stopped")
	return storeErr
}

// storeOptions maps the configuration's store keys to the store's options.
func storeOptions(cfg *config.Config, log zerolog.Logger) store.Options {
	mode := store.LogFull
	switch cfg.Store.MessageLog.Mode {
	case config.MessageLogSampled:
		mode = store.LogSampled
	case config.MessageLogOff:
		mode = store.LogOff
	}
	return store.Options{
		Dir:             cfg.Data.Dir,
		KeyFile:         cfg.Data.KeyFile,
		Migrate:         cfg.Data.Migrate,
		Logger:          log.With().Str("component", "store").Logger(),
		HoldMaxPerScope: cfg.Store.HoldMaxPerScope,
		IDMapTTL:        time.Duration(cfg.Store.IDMapTTL),
		GCInterval:      time.Duration(cfg.Store.GCInterval),
		MinFreeBytes:    int64(cfg.Store.MinFreeBytes),
		MinFreePercent:  cfg.Store.MinFreePercent,
		MessageLog: store.MessageLogOptions{
			Mode:       mode,
			SampleRate: cfg.Store.MessageLog.SampleRate,
			Retention:  time.Duration(cfg.Store.MessageLog.Retention),
			QueueSize:  cfg.Store.MessageLog.QueueSize,
		},
	}
}

// enquireInterval maps the configuration's "0 = never" to smpp's "negative =
// never" (smpp's zero means its default).
func enquireInterval(d config.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return time.Duration(d)
}

// newRouter resolves each system_id to its SMSC, with TLS configurations built
// once at start so that a bad certificate is reported before serving.
func newRouter(cfg *config.Config) (func(string) smpp.Route, []namedKeyPair, error) {
	tlsByRoute := map[string]*tls.Config{}
	var certs []namedKeyPair
	add := func(name string, u config.Upstream) error {
		c, k, err := clientTLS(u.TLS)
		if err != nil {
			return fmt.Errorf("upstream route %s: tls %w", name, err)
		}
		tlsByRoute[name] = c
		if k != nil {
			certs = append(certs, namedKeyPair{"upstream route " + name + " tls", k})
		}
		return nil
	}
	if err := add("default", cfg.Upstream.Default); err != nil {
		return nil, nil, err
	}
	for _, r := range cfg.Upstream.Routes {
		_, u := cfg.RouteFor(r.SystemIDs[0])
		if err := add(r.Name, u); err != nil {
			return nil, nil, err
		}
	}
	return func(systemID string) smpp.Route {
		name, u := cfg.RouteFor(systemID)
		return smpp.Route{Name: name, Address: u.Address, ConnectTimeout: time.Duration(u.ConnectTimeout), TLS: tlsByRoute[name]}
	}, certs, nil
}
