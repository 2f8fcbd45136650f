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
// the responses to the first hold submit_sm until it has answered after
// later ones, then sends them (twice with twice: a peer's bug).
type lateSMSC struct {
	ln          net.Listener
	hold, after int
	twice       bool
	wg          sync.WaitGroup
	released    atomic.Int64 // responses sent late
	answered    atomic.Int64 // submit_sm answered, late ones included
}

func startLateSMSC(t *testing.T, hold, after int, twice bool) *lateSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &lateSMSC{ln: ln, hold: hold, after: after, twice: twice}
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

func (s *lateSMSC) serve(c net.Conn) {
	defer c.Close()
	fr := newFrameReader(c, 0, nil)
	var held []uint32
	answered, released := 0, false
	answer := func(seq uint32) error {
		s.answered.Add(1)
		_, err := c.Write(pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, seq, strconv.FormatUint(uint64(seq), 16)))
		return err
	}
	release := func() error {
		for _, seq := range held {
			if err := answer(seq); err != nil {
				return err
			}
			s.released.Add(1)
			if s.twice {
				if _, err := c.Write(pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, seq, "again")); err != nil {
					return err
				}
			}
		}
		held, released = nil, true
		return nil
	}
	for {
		p, err := fr.next()
		if err != nil {
			return
		}
		h, _ := pdu.ParseHeader(p)
		var out []byte
		switch h.ID {
		case pdu.BindTransmitter, pdu.BindTransceiver, pdu.BindReceiver:
			out = pdu.AppendBindResp(nil, h.ID, pdu.ESME_ROK, h.Seq, "late", 0x34)
		case pdu.EnquireLink:
			out = pdu.AppendEnquireLinkResp(nil, h.Seq)
		case pdu.Unbind:
			if release() != nil {
				return
			}
			c.Write(pdu.AppendUnbindResp(nil, pdu.ESME_ROK, h.Seq))
			return
		case pdu.SubmitSM:
			if !released && len(held) < s.hold {
				held = append(held, h.Seq)
				continue
			}
			if answer(h.Seq) != nil {
				return
			}
			if answered++; answered == s.after && !released && release() != nil {
				return
			}
			continue
		default:
			continue
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// TestRunLoadResponsesOutOfOrder: a response that comes after many later
// requests were answered (more than the bind's ring of outstanding
// requests holds) is still matched to its request: every request is
// answered once and counted once, and none is reported unanswered or
// unmatched.
func TestRunLoadResponsesOutOfOrder(t *testing.T) {
	const window = 4 // a ring of 8 slots
	s := startLateSMSC(t, 2, 6*window, false)
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
	s := startLateSMSC(t, 1, 32, true)
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
