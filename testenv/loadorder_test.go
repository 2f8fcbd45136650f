package testenv

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// lateSMSC answers submit_sm out of order, as SMPP allows and as a consent
// proxy does (a held message's response waits for a durable write while the
// relayed ones behind it are answered): on each connection it keeps back
// the responses to the first hold submit_sm and sends them once it has
// answered after later ones, or delay after the first was held.
type lateSMSC struct {
	ln       net.Listener
	cfg      lateConfig
	wg       sync.WaitGroup
	released atomic.Int64 // responses sent late
	answered atomic.Int64 // submit_sm answered, late ones included
}

type lateConfig struct {
	hold  int           // responses kept back per connection
	after int           // … until this many later ones were answered (0: never)
	delay time.Duration // … or until this long after the first was held (0: never)
	twice bool          // each late response is sent twice (a peer's bug)
}

func startLateSMSC(t *testing.T, cfg lateConfig) *lateSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &lateSMSC{ln: ln, cfg: cfg}
	var mu sync.Mutex
	var conns []net.Conn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// lateConn is one connection of a lateSMSC. Its reader and the delay's
// timer both write: mu guards the connection's writes and the held state.
type lateConn struct {
	s        *lateSMSC
	c        net.Conn
	mu       sync.Mutex
	held     []uint32
	released bool
}

func (s *lateSMSC) serve(c net.Conn) {
	defer c.Close()
	lc := &lateConn{s: s, c: c}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	fr := newFrameReader(c, 0, nil)
	answered := 0
	for {
		p, err := fr.next()
		if err != nil {
			return
		}
		h, _ := pdu.ParseHeader(p)
		switch h.ID {
		case pdu.BindTransmitter, pdu.BindTransceiver, pdu.BindReceiver:
			err = lc.write(pdu.AppendBindResp(nil, h.ID, pdu.ESME_ROK, h.Seq, "late", 0x34))
		case pdu.EnquireLink:
			err = lc.write(pdu.AppendEnquireLinkResp(nil, h.Seq))
		case pdu.Unbind:
			if lc.release() == nil {
				lc.write(pdu.AppendUnbindResp(nil, pdu.ESME_ROK, h.Seq))
			}
			return
		case pdu.SubmitSM:
			if lc.keep(h.Seq) {
				if timer == nil && s.cfg.delay > 0 {
					timer = time.AfterFunc(s.cfg.delay, func() { lc.release() })
				}
				continue
			}
			if err = lc.answer(h.Seq); err == nil {
				if answered++; answered == s.cfg.after {
					err = lc.release()
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// keep holds back the response to seq when fewer than hold are.
func (lc *lateConn) keep(seq uint32) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.released || len(lc.held) >= lc.s.cfg.hold {
		return false
	}
	lc.held = append(lc.held, seq)
	return true
}

func (lc *lateConn) write(p []byte) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	_, err := lc.c.Write(p)
	return err
}

func (lc *lateConn) answer(seq uint32) error {
	lc.s.answered.Add(1)
	return lc.write(pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, seq, strconv.FormatUint(uint64(seq), 16)))
}

// release sends the responses held back (once).
func (lc *lateConn) release() error {
	lc.mu.Lock()
	held := lc.held
	lc.held, lc.released = nil, true
	lc.mu.Unlock()
	for _, seq := range held {
		if err := lc.answer(seq); err != nil {
			return err
		}
		lc.s.released.Add(1)
		if lc.s.cfg.twice {
			if err := lc.write(pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, seq, "again")); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestRunLoadResponsesOutOfOrder: a response that comes after many later
// requests were answered (more than the bind's ring of outstanding
// requests holds) is still matched to its request: every request is
// answered once and counted once, and none is reported unanswered or
// unmatched.
func TestRunLoadResponsesOutOfOrder(t *testing.T) {
	const window = 4 // a ring of 8 slots
	s := startLateSMSC(t, lateConfig{hold: 2, after: 6 * window})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.ln.Addr().String(), Binds: 1, Window: window, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.released.Load() != 2 {
		t.Fatalf("the simulator sent %d late responses, want 2 (sent %d, responses %d)", s.released.Load(), res.Sent, res.Responses)
	}
	if res.Responses != res.Sent || res.Unanswered != 0 || uint64(s.answered.Load()) != res.Sent || len(res.Errors) != 0 {
		t.Errorf("sent %d, the simulator answered %d; the load counted %d responses, %d unanswered; errors:\n%s",
			res.Sent, s.answered.Load(), res.Responses, res.Unanswered, strings.Join(res.Errors, "\n"))
	}
	if res.Latency.Max() <= res.Latency.Quantile(0.5) {
		t.Errorf("latency %s: the late responses are not among it", res.Latency.String())
	}
}

// TestRunLoadReportsASecondAnswer: a request answered twice (the late
// response, then the same sequence number again) is reported with the
// command, status and sequence number of the extra response, and the
// request is counted once.
func TestRunLoadReportsASecondAnswer(t *testing.T) {
	s := startLateSMSC(t, lateConfig{hold: 1, after: 32, twice: true})
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.ln.Addr().String(), Binds: 1, Window: 4, Duration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.released.Load() != 1 {
		t.Fatalf("the simulator sent %d late responses, want 1", s.released.Load())
	}
	want := "bind 0: 1 responses matched no outstanding request (the first: submit_sm_resp ESME_ROK seq 2)"
	if res.Responses != res.Sent || len(res.Errors) != 1 || res.Errors[0] != want {
		t.Errorf("sent %d, responses %d, errors %q; want every request counted once and %q", res.Sent, res.Responses, res.Errors, want)
	}
}

// TestRunLoadAnswersAfterTheDrain: responses that come after the drain's
// limit, while the run still waits for receipts, are answers: counted, and
// no bind reports them missing.
func TestRunLoadAnswersAfterTheDrain(t *testing.T) {
	const run = 200 * time.Millisecond
	s := startLateSMSC(t, lateConfig{hold: 2, delay: run + loadDrain + 500*time.Millisecond})
	msg := defaultLoadMessage()
	msg.RegisteredDelivery = 1 // receipts that never come keep the run waiting
	res, err := RunLoad(Context(t, 30*time.Second), LoadConfig{
		Addr: s.ln.Addr().String(), Binds: 1, Window: 4, Duration: run, Message: msg, ReceiptWait: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.released.Load() != 2 {
		t.Fatalf("the simulator sent %d late responses, want 2", s.released.Load())
	}
	if res.Responses != res.Sent || res.Unanswered != 0 || len(res.Errors) != 0 {
		t.Errorf("sent %d, responses %d, %d unanswered; errors %q", res.Sent, res.Responses, res.Unanswered, res.Errors)
	}
}
