package smpp_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// An ESME that floods a full window still gets ESME_RTHROTTLED for each
// request optguard reads, but after a run of them optguard pauses reading
// it (TCP back-pressure holds it): two seconds of flooding cost a few
// thousand throttles, not the hundreds of thousands the loop could send.
// Once the window has room, requests are relayed again.
func TestFloodIntoFullWindowIsBraked(t *testing.T) {
	h := newHarness(t, smpp.Options{Window: 8, ResponseTimeout: 10 * time.Second}, testenv.SMSCConfig{})
	e := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	h.sim.HoldResponses(true)

	var burst []byte
	for i := 0; i < 200; i++ {
		burst = append(burst, mustSM(t, uint32(1000+i), textSM("flood"))...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sent := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil && sent < 50_000_000 {
			if err := e.WriteRaw(burst); err != nil {
				return
			}
			sent += 200
		}
	}()
	<-ctx.Done()
	throttled := relayEvents(t, h.srv, "throttled")
	pauses := relayEvents(t, h.srv, "flood_pause")
	e.Close() // unblocks a write held by back-pressure
	wg.Wait()
	t.Logf("%d submit_sm written, %v throttled, %v pauses", sent, throttled, pauses)
	if pauses == 0 || throttled > 30_000 {
		t.Fatalf("%v throttles and %v pauses in 2 s of flooding: the reader was not braked", throttled, pauses)
	}

	// The brake ends with the flood: a bind with room relays at once.
	h.sim.HoldResponses(false)
	e2 := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{})
	testenv.Eventually(t, 5*time.Second, func() bool {
		r, err := e2.Submit(h.ctx(), textSM("after the flood"))
		return err == nil && r.Header.Status == pdu.ESME_ROK
	}, "no submit_sm relayed after the flood")
}

// A peer that answers nothing is dropped after the write timeout, though
// every write of optguard's succeeds (the kernel's buffers take them): an
// ESME that leaves deliver_sm unanswered, and an SMSC that leaves submit_sm
// unanswered. A bind whose peer answers stays up.
func TestSilentPeerDroppedAfterWriteTimeout(t *testing.T) {
	const writeTimeout = 700 * time.Millisecond
	h := newHarness(t, smpp.Options{WriteTimeout: writeTimeout, ResponseTimeout: 200 * time.Millisecond}, testenv.SMSCConfig{})
	healthy := h.bind(pdu.BindTransceiver, "beta", testenv.ESMEConfig{})

	t.Run("ESME", func(t *testing.T) {
		silent := h.bind(pdu.BindTransceiver, "acme", testenv.ESMEConfig{ManualDeliverResp: true})
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for range 4 { // keep a deliver_sm waiting at every tick
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if _, err := h.sim.SendMO(ctx, "acme", testenv.MO{From: "15552223333", To: "15550001111", Text: "anyone?"}); err != nil {
						return
					}
				}
			}()
		}
		waitClosed(t, silent, 5*time.Second, "ESME that answers nothing")
		took := time.Since(start)
		cancel()
		wg.Wait()
		if took < writeTimeout {
			t.Errorf("dropped after %s, before the write timeout %s", took, writeTimeout)
		}
		if got := relayEvents(t, h.srv, "silent_peer"); got < 1 {
			t.Errorf("silent_peer = %v", got)
		}
	})

	t.Run("SMSC", func(t *testing.T) {
		e := h.bind(pdu.BindTransceiver, "gamma", testenv.ESMEConfig{})
		h.sim.HoldResponses(true)
		defer h.sim.HoldResponses(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if _, err := e.Submit(ctx, textSM("anyone?")); err != nil {
						return
					}
				}
			}()
		}
		// The SMSC leg goes; the ESME is unbound and closed.
		waitClosed(t, e, 5*time.Second, "ESME whose SMSC answers nothing")
		cancel()
		wg.Wait()
		if esmeGot(e, pdu.Unbind) == 0 {
			t.Error("the ESME was closed without an unbind")
		}
	})

	if r, err := healthy.Submit(h.ctx(), textSM("still here")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("the bind whose peer answers: %v %v", r.Header.Status, err)
	}
}
