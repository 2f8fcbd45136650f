package smpp

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/ratelog"
)

// Server accepts ESME connections and proxies each bind to its SMSC.
type Server struct {
	opts    Options
	sessMT  SessionInterceptor // opts.Interceptor, when it is one
	log     zerolog.Logger
	metrics *metrics
	hk      *housekeeper     // response timeouts and enquire_link of every session
	warns   *ratelog.Limiter // warnings a remote peer can cause, rate-limited

	ctx    context.Context // canceled by Shutdown: aborts upstream dials
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the server
	nextID atomic.Uint64
	rr     atomic.Uint64 // round robin for injections by system_id

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	sessions  map[*Session]struct{}     // guarded by mu: downstream sessions, bound or not
	pairs     map[string][]*pair        // guarded by mu: bound pairs by system_id
	binds     map[string]int            // guarded by mu: binds per system_id, in progress or bound
	svc       map[string]*serviceBind   // guarded by mu: service binds by system_id
	closing   bool                      // guarded by mu
	shutdown  sync.Once

	evMu      sync.Mutex
	events    []BindEvent // guarded by evMu: waiting for OnBind
	evRunning bool        // guarded by evMu: a goroutine delivers them
}

// NewServer returns a server with the options; Serve starts it on a listener.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	si, _ := opts.Interceptor.(SessionInterceptor)
	return &Server{
		opts:      opts,
		sessMT:    si,
		log:       opts.Logger,
		metrics:   newMetrics(),
		hk:        newHousekeeper(opts.tickEvery()),
		warns:     ratelog.New(opts.Logger, ratelog.Options{Interval: opts.WarnInterval, Burst: opts.WarnBurst}),
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*Session]struct{}),
		pairs:     make(map[string][]*pair),
		binds:     make(map[string]int),
		svc:       make(map[string]*serviceBind),
	}
}

func (srv *Server) track(n int) { srv.wg.Add(n) }
func (srv *Server) untrack()    { srv.wg.Done() }

// Serve accepts connections on l until Shutdown. Wrap l with tls.NewListener for
// TLS: the handshake then happens on the session's first read, within the bind
// timeout. Serve returns ErrServerClosed after Shutdown.
func (srv *Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	srv.listeners[l] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	defer srv.wg.Done()
	srv.log.Info().Str("address", l.Addr().String()).Msg("accepting ESME connections")
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if srv.isClosing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				srv.mu.Lock()
				delete(srv.listeners, l)
				srv.mu.Unlock()
				return err
			}
			// Out of file descriptors and the like: back off, keep serving.
			if delay = 2*delay + 5*time.Millisecond; delay > time.Second {
				delay = time.Second
			}
			srv.log.Warn().Err(err).Dur("retry_in", delay).Msg("accept failed")
			time.Sleep(delay)
			continue
		}
		delay = 0
		srv.accept(nc)
	}
}

// accept starts a downstream session, or closes the connection when the server
// is at MaxConnections or shutting down.
func (srv *Server) accept(nc net.Conn) {
	srv.mu.Lock()
	if srv.closing || len(srv.sessions) >= srv.opts.MaxConnections {
		full := !srv.closing
		srv.mu.Unlock()
		if full {
			srv.metrics.refusedConns.Add(1)
			if remote := nc.RemoteAddr().String(); srv.warns.Allow(warnConnLimit, remote) {
				srv.log.Warn().Str("kind", warnConnLimit).Str("remote", remote).Int("max_connections", srv.opts.MaxConnections).Msg("connection limit reached; closing new connection")
			}
		}
		nc.Close()
		return
	}
	s := srv.newSession(Downstream, nc)
	srv.sessions[s] = struct{}{}
	srv.mu.Unlock()
	srv.metrics.sessionOpened(Downstream)
	nc.SetReadDeadline(time.Now().Add(srv.opts.BindTimeout))
	s.log().Debug().Msg("connection accepted")
	s.start(nil)
}

// sessionClosed updates the registry when a session's connection closes.
func (srv *Server) sessionClosed(s *Session) {
	srv.metrics.sessionClosed(s.leg)
	if s.leg != Downstream {
		return
	}
	srv.mu.Lock()
	delete(srv.sessions, s)
	srv.mu.Unlock()
}

func (srv *Server) isClosing() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closing
}

// reserveBind counts a bind of systemID against MaxBindsPerSystemID.
func (srv *Server) reserveBind(systemID string) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	if max := srv.opts.MaxBindsPerSystemID; max > 0 && srv.binds[systemID] >= max {
		return false
	}
	srv.binds[systemID]++
	return true
}

func (srv *Server) releaseBind(systemID string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.binds[systemID]--; srv.binds[systemID] <= 0 {
		delete(srv.binds, systemID)
	}
}

// addPair registers a bound pair; false when the server began shutting down.
func (srv *Server) addPair(pr *pair) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	srv.pairs[pr.systemID] = append(srv.pairs[pr.systemID], pr)
	return true
}

// removePair forgets a pair once it is torn down and frees its bind.
func (srv *Server) removePair(pr *pair) {
	srv.mu.Lock()
	ps := srv.pairs[pr.systemID]
	for i, p := range ps {
		if p == pr {
			ps = append(ps[:i], ps[i+1:]...)
			break
		}
	}
	if len(ps) == 0 {
		delete(srv.pairs, pr.systemID)
	} else {
		srv.pairs[pr.systemID] = ps
	}
	srv.mu.Unlock()
	srv.releaseBind(pr.systemID)
}

// Shutdown stops accepting, unbinds every bind (the SMSC leg first, so that its
// last responses still reach the ESME, then the ESME), and waits for every
// goroutine of the server. When ctx ends first, the remaining connections are
// closed at once. Shutdown is idempotent; later calls wait like the first.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.shutdown.Do(func() {
		srv.mu.Lock()
		srv.closing = true
		for l := range srv.listeners {
			l.Close()
		}
		var pairs []*pair
		inPair := make(map[*Session]bool)
		for _, ps := range srv.pairs {
			pairs = append(pairs, ps...)
			for _, pr := range ps {
				inPair[pr.down] = true
			}
		}
		// A bind being completed has its pair registered before the
		// session points to it: it is unbound with the pairs, not closed.
		var unbound []*Session
		for s := range srv.sessions {
			if s.pair.Load() == nil && !inPair[s] {
				unbound = append(unbound, s)
			}
		}
		srv.mu.Unlock()
		srv.cancel()
		srv.log.Info().Int("binds", len(pairs)).Msg("shutting down: unbinding every session")
		for _, s := range unbound {
			s.close()
		}
		for _, pr := range pairs {
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				pr.teardown(pr.down, true, 0)
			}()
		}
	})
	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		srv.closeAll()
		<-done
		err = ctx.Err()
	}
	srv.warns.Close() // the last summaries of suppressed warnings
	return err
}

// closeAll closes every connection at once.
func (srv *Server) closeAll() {
	srv.mu.Lock()
	var all []*Session
	for s := range srv.sessions {
		all = append(all, s)
	}
	for _, ps := range srv.pairs {
		for _, pr := range ps {
			all = append(all, pr.up)
		}
	}
	srv.mu.Unlock()
	for _, s := range all {
		s.close()
	}
	srv.closeServiceBinds()
}
