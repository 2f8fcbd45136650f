package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// IdleConfig configures BindIdle.
type IdleConfig struct {
	Addr  string
	Binds int // bound transceivers to open (≥ 1)

	SystemID, Password string // "" = "idle" and "idle"

	// Parallel is how many connect-and-bind exchanges are in flight at once;
	// 0 = 32.
	Parallel int
	// BindTimeout bounds each connect and bind_transceiver → bind_resp; 0 = 10s.
	BindTimeout time.Duration
	// WriteTimeout bounds each answer the client writes; 0 = 5s.
	WriteTimeout time.Duration

	// Progress, if not nil, is called with the number bound so far, from
	// BindIdle's goroutine, about once a second while binding and once when
	// every bind is up.
	Progress func(bound int)
}

// Defaults of IdleConfig.
const (
	idleParallel     = 32
	idleBindTimeout  = 10 * time.Second
	idleWriteTimeout = 5 * time.Second
	idleProgress     = time.Second
)

// IdleBinds is a set of bound transceivers that send nothing on their own:
// each answers enquire_link, unbind, deliver_sm and data_sm from the server,
// nacks other requests and discards bodies and responses. Each connection
// costs one goroutine blocked in Read and a 16-octet header buffer, so that
// thousands of them measure what the server spends on idle binds, not what
// the client does (the ESME client keeps 64 KiB buffers and queues per
// connection).
type IdleBinds struct {
	cfg   IdleConfig
	conns []net.Conn // set by BindIdle, then read-only

	alive        atomic.Int64  // connections still open
	enquireLinks atomic.Uint64 // enquire_link answered
	closing      atomic.Bool

	mu  sync.Mutex
	err error // guarded by mu: why the first connection closed before Close

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// BindIdle opens cfg.Binds connections to cfg.Addr and binds each as a
// transceiver. It returns when every bind is up, or with an error (and every
// connection closed) when one fails or ctx ends.
func BindIdle(ctx context.Context, cfg IdleConfig) (*IdleBinds, error) {
	if cfg.Binds < 1 {
		return nil, fmt.Errorf("testenv: idle binds: %d binds asked for; want at least 1", cfg.Binds)
	}
	if cfg.SystemID == "" {
		cfg.SystemID = "idle"
	}
	if cfg.Password == "" {
		cfg.Password = "idle"
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = idleParallel
	}
	if cfg.BindTimeout <= 0 {
		cfg.BindTimeout = idleBindTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = idleWriteTimeout
	}
	bind, err := pdu.AppendBind(nil, 1, pdu.BindRequest{
		ID: pdu.BindTransceiver, SystemID: cfg.SystemID, Password: cfg.Password, InterfaceVersion: 0x34,
	})
	if err != nil {
		return nil, fmt.Errorf("testenv: idle binds: %w", err)
	}
	ib := &IdleBinds{cfg: cfg, conns: make([]net.Conn, cfg.Binds)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	jobs := make(chan int)
	results := make(chan result, cfg.Parallel)
	var workers sync.WaitGroup
	for range min(cfg.Parallel, cfg.Binds) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := range jobs {
				conn, err := idleDialBind(ctx, cfg, bind)
				ib.conns[i] = conn
				results <- result{i, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range cfg.Binds {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	go func() {
		workers.Wait()
		close(results)
	}()

	// Every dispatched bind reports once; after a failure the rest fail fast
	// (ctx is canceled) and the dispatcher sends no more.
	var firstErr error
	bound := 0
	lastProgress := time.Now()
	for r := range results {
		if r.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("testenv: idle bind %d of %d: %w", r.i+1, cfg.Binds, r.err)
				cancel()
			}
			continue
		}
		bound++
		if cfg.Progress != nil && firstErr == nil && time.Since(lastProgress) >= idleProgress {
			cfg.Progress(bound)
			lastProgress = time.Now()
		}
	}
	if firstErr == nil && bound < cfg.Binds {
		firstErr = fmt.Errorf("testenv: idle binds: %d of %d bound: %w", bound, cfg.Binds, ctx.Err())
	}
	if firstErr != nil {
		for _, c := range ib.conns {
			if c != nil {
				closeReset(c)
			}
		}
		return nil, firstErr
	}
	if cfg.Progress != nil {
		cfg.Progress(bound)
	}
	ib.alive.Store(int64(len(ib.conns)))
	ib.wg.Add(len(ib.conns))
	for _, c := range ib.conns {
		go ib.serve(c)
	}
	return ib, nil
}

// idleDialBind connects and binds one transceiver within cfg.BindTimeout.
func idleDialBind(ctx context.Context, cfg IdleConfig, bind []byte) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: cfg.BindTimeout, KeepAlive: -1} // no TCP keepalive: the client adds no timer of its own
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetDeadline(time.Now().Add(cfg.BindTimeout))
	fail := func(err error) (net.Conn, error) {
		closeReset(conn)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if _, err := conn.Write(bind); err != nil {
		return fail(fmt.Errorf("writing bind_transceiver: %w", err))
	}
	var hdr [pdu.HeaderLen]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return fail(fmt.Errorf("reading bind_transceiver_resp: %w", err))
	}
	h, _ := pdu.ParseHeader(hdr[:])
	if h.Length < pdu.HeaderLen || h.Length > pdu.DefaultMaxLen {
		return fail(fmt.Errorf("reading bind_transceiver_resp: command_length %d", h.Length))
	}
	if _, err := io.CopyN(io.Discard, conn, int64(h.Length-pdu.HeaderLen)); err != nil {
		return fail(fmt.Errorf("reading bind_transceiver_resp: %w", err))
	}
	if h.ID != pdu.BindTransceiverResp && h.ID != pdu.GenericNack {
		return fail(fmt.Errorf("answered the bind with %s", h.ID))
	}
	if h.Status != pdu.ESME_ROK || h.ID != pdu.BindTransceiverResp {
		return fail(&StatusError{Op: "bind", Status: h.Status})
	}
	if stop() {
		conn.SetDeadline(time.Time{}) // idle from here on: reads wait until Close
	} else {
		return fail(ctx.Err())
	}
	return conn, nil
}

// serve answers what the server sends on one connection until it closes.
func (ib *IdleBinds) serve(conn net.Conn) {
	defer ib.wg.Done()
	err := ib.answer(conn)
	conn.Close()
	ib.alive.Add(-1)
	if !ib.closing.Load() {
		ib.mu.Lock()
		if ib.err == nil {
			ib.err = closeErr(err)
		}
		ib.mu.Unlock()
	}
}

func (ib *IdleBinds) answer(conn net.Conn) error {
	var hdr [pdu.HeaderLen]byte
	var out [32]byte // the largest answer: data_sm_resp with an empty message_id, 17 octets
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return err
		}
		h, _ := pdu.ParseHeader(hdr[:])
		if h.Length < pdu.HeaderLen || h.Length > pdu.DefaultMaxLen {
			return fmt.Errorf("command_length %d", h.Length)
		}
		if h.Length > pdu.HeaderLen {
			if _, err := io.CopyN(io.Discard, conn, int64(h.Length-pdu.HeaderLen)); err != nil {
				return err
			}
		}
		if h.ID.IsResponse() {
			continue // nothing of ours is outstanding after the bind
		}
		var resp []byte
		switch h.ID {
		case pdu.EnquireLink:
			resp = pdu.AppendEnquireLinkResp(out[:0], h.Seq)
			ib.enquireLinks.Add(1)
		case pdu.Unbind:
			resp = pdu.AppendUnbindResp(out[:0], pdu.ESME_ROK, h.Seq)
		case pdu.DeliverSM:
			resp = pdu.AppendDeliverSMResp(out[:0], pdu.ESME_ROK, h.Seq)
		case pdu.DataSM:
			resp = pdu.AppendDataSMResp(out[:0], pdu.ESME_ROK, h.Seq, "")
		default:
			resp = pdu.AppendGenericNack(out[:0], pdu.ESME_RINVCMDID, h.Seq)
		}
		conn.SetWriteDeadline(time.Now().Add(ib.cfg.WriteTimeout))
		if _, err := conn.Write(resp); err != nil {
			return err
		}
		if h.ID == pdu.Unbind {
			return errors.New("unbound by the server")
		}
	}
}

// Len is how many binds BindIdle opened.
func (ib *IdleBinds) Len() int { return len(ib.conns) }

// Alive is how many of the connections are still open.
func (ib *IdleBinds) Alive() int { return int(ib.alive.Load()) }

// EnquireLinks is how many enquire_link the binds have answered.
func (ib *IdleBinds) EnquireLinks() uint64 { return ib.enquireLinks.Load() }

// Err says why the first connection that closed before Close did (nil while
// all are open).
func (ib *IdleBinds) Err() error {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return ib.err
}

// Close closes every connection with a reset, so that thousands of closes
// leave no sockets in TIME_WAIT behind on loopback, and waits for their
// goroutines. It is idempotent.
func (ib *IdleBinds) Close() error {
	ib.closeOnce.Do(func() {
		ib.closing.Store(true)
		for _, c := range ib.conns {
			closeReset(c)
		}
	})
	ib.wg.Wait()
	return nil
}

// closeReset closes c with SO_LINGER 0 (a RST, no TIME_WAIT).
func closeReset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
