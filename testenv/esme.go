package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"sync"

	"github.com/optguard/optguard/smpp/pdu"
)

// ESMEConfig configures the ESME client.
type ESMEConfig struct {
	MaxPDU uint32 // largest command_length accepted; 0 = pdu.DefaultMaxLen

	// DeliverStatus is the command_status the client answers deliver_sm and
	// data_sm with (default ESME_ROK).
	DeliverStatus pdu.Status

	// ManualDeliverResp leaves incoming deliver_sm and data_sm unanswered; the
	// test answers them with Respond.
	ManualDeliverResp bool

	// TLS, if not nil, makes the client speak TLS (the handshake completes
	// within DialESME's context).
	TLS *tls.Config
}

// Bounds of the client's queues (variables for tests).
var (
	responsesCap = 1 << 16 // Responses channel
	deliversCap  = 1 << 16 // requests from the server kept for NextDeliver
)

// ESME is an SMPP client for tests: synchronous requests matched by sequence
// number, windowed fire-and-forget requests, raw writes for bad input, and a
// queue of the requests the server sends (deliver_sm, data_sm,
// alert_notification, unknown commands). It answers enquire_link and unbind from
// the server itself, and deliver_sm/data_sm unless ManualDeliverResp is set.
// Everything it receives is recorded (Received).
type ESME struct {
	cfg  ESMEConfig
	conn net.Conn
	out  *outbuf
	fr   *frameReader

	mu       sync.Mutex
	seq      uint32                 // guarded by mu: next sequence number
	pending  map[uint32]chan []byte // guarded by mu: nil value = a Send, answered on responses
	bindResp []byte                 // guarded by mu
	closed   bool                   // guarded by mu
	err      error                  // guarded by mu: why the connection closed

	dmu      sync.Mutex
	delivers [][]byte      // guarded by dmu
	dwake    chan struct{} // cap 1: signalled when delivers grows

	rec       recorder
	responses chan []byte
	scratch   []byte // reader-owned

	quit      chan struct{} // closed by Close: the reader stops waiting on a full Responses
	done      chan struct{} // closed by the reader when it ends
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// DialESME connects to addr. The client is not bound: call Bind.
func DialESME(ctx context.Context, addr string, cfg ESMEConfig) (*ESME, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testenv: esme dial: %w", err)
	}
	if cfg.TLS != nil {
		tc := tls.Client(conn, cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("testenv: esme TLS handshake: %w", err)
		}
		conn = tc
	}
	e := &ESME{
		cfg:       cfg,
		conn:      conn,
		out:       newOutbuf(conn),
		seq:       1,
		pending:   make(map[uint32]chan []byte),
		dwake:     make(chan struct{}, 1),
		responses: make(chan []byte, responsesCap),
		scratch:   make([]byte, 0, 256),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	e.fr = newFrameReader(conn, cfg.MaxPDU, func() { e.out.flush() })
	e.wg.Add(1)
	go e.run()
	return e, nil
}

func (e *ESME) run() {
	var err error
	defer e.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testenv: esme reader panicked: %v\n%s", r, debug.Stack())
		}
		e.shutdown(closeErr(err))
	}()
	for {
		var p []byte
		if p, err = e.fr.next(); err != nil {
			return
		}
		if stop := e.handle(p); stop {
			e.out.flush()
			err = errors.New("unbound by the server")
			return
		}
	}
}

func (e *ESME) shutdown(err error) {
	e.conn.Close()
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.closed = true
	e.pending = nil
	e.mu.Unlock()
	close(e.responses)
	close(e.done)
}

// handle processes one PDU from the server; it returns true after the server
// unbound.
func (e *ESME) handle(p []byte) bool {
	e.rec.add(newRecord(0, "", In, p))
	h, _ := pdu.ParseHeader(p)
	if h.ID.IsResponse() {
		e.mu.Lock()
		ch, ok := e.pending[h.Seq]
		if ok {
			delete(e.pending, h.Seq)
		}
		e.mu.Unlock()
		if !ok {
			return false // a response nobody waits for (any more)
		}
		resp := append([]byte(nil), p...)
		if ch != nil {
			ch <- resp
			return false
		}
		select {
		case e.responses <- resp:
		case <-e.quit:
		}
		return false
	}
	b := e.scratch[:0]
	switch h.ID {
	case pdu.EnquireLink:
		e.out.write(pdu.AppendEnquireLinkResp(b, h.Seq))
	case pdu.Unbind:
		e.out.write(pdu.AppendUnbindResp(b, pdu.ESME_ROK, h.Seq))
		return true
	case pdu.DeliverSM, pdu.DataSM:
		e.queueDeliver(p)
		if !e.cfg.ManualDeliverResp {
			if h.ID == pdu.DeliverSM {
				e.out.write(pdu.AppendDeliverSMResp(b, e.cfg.DeliverStatus, h.Seq))
			} else {
				e.out.write(pdu.AppendDataSMResp(b, e.cfg.DeliverStatus, h.Seq, ""))
			}
		}
	case pdu.BindTransmitter, pdu.BindReceiver, pdu.BindTransceiver, pdu.SubmitSM, pdu.SubmitMulti,
		pdu.QuerySM, pdu.CancelSM, pdu.ReplaceSM, pdu.Outbind:
		// Requests only an ESME sends.
		e.out.write(pdu.AppendGenericNack(b, pdu.ESME_RINVCMDID, h.Seq))
	default:
		// alert_notification and commands SMPP v3.4 does not define: the test
		// reads them with NextDeliver and answers (if at all) with Respond.
		e.queueDeliver(p)
	}
	return false
}

func (e *ESME) queueDeliver(p []byte) {
	e.dmu.Lock()
	if len(e.delivers) < deliversCap {
		e.delivers = append(e.delivers, append([]byte(nil), p...))
	}
	e.dmu.Unlock()
	select {
	case e.dwake <- struct{}{}:
	default:
	}
}

// Bind sends a bind of kind id (interface_version 0x34) and waits for its
// response. It returns the response's command_status; the error is only for
// I/O and timeouts.
func (e *ESME) Bind(ctx context.Context, id pdu.CommandID, systemID, password string) (pdu.Status, error) {
	raw, err := pdu.AppendBind(nil, 0, pdu.BindRequest{ID: id, SystemID: systemID, Password: password, InterfaceVersion: 0x34})
	if err != nil {
		return 0, fmt.Errorf("testenv: bind: %w", err)
	}
	resp, err := e.Request(ctx, raw)
	if err != nil {
		return 0, fmt.Errorf("testenv: bind: %w", err)
	}
	e.mu.Lock()
	e.bindResp = resp
	e.mu.Unlock()
	return pdu.StatusOf(resp), nil
}

// BindResp returns a copy of the last bind response received by Bind.
func (e *ESME) BindResp() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]byte(nil), e.bindResp...)
}

// Resp is the response to a Submit.
type Resp struct {
	Header    pdu.Header
	MessageID string // empty when the status is not ESME_ROK, or for generic_nack
	Raw       []byte
}

// Submit sends a submit_sm and waits for its response (submit_sm_resp or
// generic_nack). A non-zero status is in Resp.Header.Status, not in the error.
func (e *ESME) Submit(ctx context.Context, m *pdu.SM) (Resp, error) {
	raw, err := pdu.AppendSubmitSM(nil, 0, m)
	if err != nil {
		return Resp{}, fmt.Errorf("testenv: submit_sm: %w", err)
	}
	resp, err := e.Request(ctx, raw)
	if err != nil {
		return Resp{}, fmt.Errorf("testenv: submit_sm: %w", err)
	}
	h, _ := pdu.ParseHeader(resp)
	r := Resp{Header: h, Raw: resp}
	if h.ID == pdu.SubmitSMResp {
		id, _, err := pdu.ParseMessageIDResp(resp)
		if err != nil {
			return r, fmt.Errorf("testenv: submit_sm_resp: %w", err)
		}
		r.MessageID = string(id)
	}
	return r, nil
}

// Request sends a copy of raw, a request PDU, with the client's next sequence
// number and waits for the response with that sequence number (whatever its
// command id: generic_nack included). It returns a copy of the response.
func (e *ESME) Request(ctx context.Context, raw []byte) ([]byte, error) {
	if err := checkPDU(raw); err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	seq, err := e.send(raw, ch)
	if err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		e.forget(seq)
		return nil, fmt.Errorf("testenv: waiting for the response to %s seq %d: %w", pdu.ID(raw), seq, ctx.Err())
	case <-e.done:
		select {
		case resp := <-ch:
			return resp, nil
		default:
		}
		return nil, fmt.Errorf("testenv: waiting for the response to %s seq %d: %w", pdu.ID(raw), seq, e.Err())
	}
}

// Send writes a copy of raw, a request PDU, with a fresh sequence number and
// returns that number without waiting; the response is delivered on
// Responses.
func (e *ESME) Send(raw []byte) (seq uint32, err error) {
	if err := checkPDU(raw); err != nil {
		return 0, err
	}
	return e.send(raw, nil)
}

func (e *ESME) send(raw []byte, ch chan []byte) (uint32, error) {
	e.mu.Lock()
	if e.closed {
		err := e.err
		e.mu.Unlock()
		return 0, err
	}
	seq := e.seq
	e.seq = pdu.NextSeq(seq)
	e.pending[seq] = ch
	e.mu.Unlock()

	p := append([]byte(nil), raw...)
	pdu.SetSeq(p, seq)
	if err := e.out.writeFlush(p); err != nil {
		e.forget(seq)
		return 0, err
	}
	return seq, nil
}

func checkPDU(raw []byte) error {
	h, err := pdu.ParseHeader(raw)
	if err != nil || int(h.Length) != len(raw) {
		return fmt.Errorf("testenv: not one whole PDU (%d octets)", len(raw))
	}
	return nil
}

func (e *ESME) forget(seq uint32) {
	e.mu.Lock()
	if e.pending != nil {
		delete(e.pending, seq)
	}
	e.mu.Unlock()
}

// Responses delivers the responses to Send, in the order they arrive. It holds
// up to 65,536; when it is full the client stops reading from the connection
// until the test receives (back-pressure, never loss). It is closed when the
// connection closes.
func (e *ESME) Responses() <-chan []byte { return e.responses }

// WriteRaw writes b exactly as given (no framing, no sequence number) and
// flushes: for tests of bad input.
func (e *ESME) WriteRaw(b []byte) error { return e.out.writeFlush(b) }

// NextDeliver returns a copy of the next request the server sent: deliver_sm,
// data_sm, alert_notification or a command id SMPP v3.4 does not define. Up to
// 65,536 are kept; later ones are answered but not kept.
func (e *ESME) NextDeliver(ctx context.Context) ([]byte, error) {
	for {
		e.dmu.Lock()
		if len(e.delivers) > 0 {
			p := e.delivers[0]
			e.delivers[0] = nil
			e.delivers = e.delivers[1:]
			e.dmu.Unlock()
			return p, nil
		}
		e.dmu.Unlock()
		select {
		case <-e.dwake:
		case <-ctx.Done():
			return nil, fmt.Errorf("testenv: waiting for a deliver_sm: %w", ctx.Err())
		case <-e.done:
			e.dmu.Lock()
			n := len(e.delivers)
			e.dmu.Unlock()
			if n > 0 {
				continue
			}
			return nil, fmt.Errorf("testenv: waiting for a deliver_sm: %w", e.Err())
		}
	}
}

// Respond writes a response PDU as is (sequence number included) and flushes.
func (e *ESME) Respond(raw []byte) error {
	if err := checkPDU(raw); err != nil {
		return err
	}
	return e.out.writeFlush(raw)
}

// EnquireLink sends enquire_link and waits for enquire_link_resp.
func (e *ESME) EnquireLink(ctx context.Context) error {
	resp, err := e.Request(ctx, pdu.AppendEnquireLink(nil, 0))
	if err != nil {
		return err
	}
	if st := pdu.StatusOf(resp); st != pdu.ESME_ROK || pdu.ID(resp) != pdu.EnquireLinkResp {
		return &StatusError{Op: "enquire_link", Status: st}
	}
	return nil
}

// Unbind sends unbind and waits for unbind_resp. It leaves the connection open:
// the server is expected to close it (see Done).
func (e *ESME) Unbind(ctx context.Context) error {
	resp, err := e.Request(ctx, pdu.AppendUnbind(nil, 0))
	if err != nil {
		return err
	}
	if st := pdu.StatusOf(resp); st != pdu.ESME_ROK || pdu.ID(resp) != pdu.UnbindResp {
		return &StatusError{Op: "unbind", Status: st}
	}
	return nil
}

// Received returns a copy of every PDU the client has received (up to 200,000).
func (e *ESME) Received() []Record { return e.rec.all() }

// Done is closed when the connection has closed, by either side.
func (e *ESME) Done() <-chan struct{} { return e.done }

// Err says why the connection closed (nil while it is open).
func (e *ESME) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Close closes the connection and waits for the reader goroutine. It is
// idempotent.
func (e *ESME) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		if e.err == nil {
			e.err = ErrClosed
		}
		e.mu.Unlock()
		close(e.quit)
		e.conn.Close()
	})
	e.wg.Wait()
	return nil
}
