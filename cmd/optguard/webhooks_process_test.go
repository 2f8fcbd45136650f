package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/webhooks"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

const hookSecret = "4f7d1c0a9b2e8f6d3c5a7b9e1d2f4a6c"

// hookReceiver is a CRM's webhook endpoint on loopback, written from the
// documentation only: it checks each signature with crypto/hmac as the
// README says, fails its first requests, and can stall a request (take
// it, and not answer) to catch optguard in the middle of a delivery.
type hookReceiver struct {
	t        *testing.T
	srv      *httptest.Server
	endpoint string // the endpoint name its requests must carry: crm unless set before the first

	mu       sync.Mutex
	n        int           // guarded by mu: requests so far
	failures int           // guarded by mu: the first requests answered 503
	stall    bool          // guarded by mu: take the next request and answer nothing
	stalled  chan []string // told of the stalled request's event ids
	taken    []hookEvent   // guarded by mu: events of requests taken (2xx, or stalled), in order of arrival
	badSigs  int           // guarded by mu
	answered []int         // guarded by mu: the status of each request
}

type hookEvent struct {
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
}

func newHookReceiver(t *testing.T, failures int) *hookReceiver {
	r := &hookReceiver{t: t, endpoint: "crm", failures: failures, stalled: make(chan []string, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// verifyDocumented checks a request the way the README's Webhooks section tells a
// receiver to: hex HMAC-SHA256 under the secret of timestamp "." body, in
// Optguard-Signature as v1=…, with the timestamp within 5 minutes.
func verifyDocumented(h http.Header, body []byte) bool {
	ts := h.Get("Optguard-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(h.Get("Optguard-Signature")), []byte(want))
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	var p struct {
		Endpoint string      `json:"endpoint"`
		Events   []hookEvent `json:"events"`
	}
	good := verifyDocumented(req.Header, body) && json.Unmarshal(body, &p) == nil && p.Endpoint == r.endpoint
	r.mu.Lock()
	r.n++
	if !good {
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.n <= r.failures {
		r.answered = append(r.answered, http.StatusServiceUnavailable)
		r.mu.Unlock()
		http.Error(w, "warming up", http.StatusServiceUnavailable)
		return
	}
	r.taken = append(r.taken, p.Events...)
	stall := r.stall
	r.stall = false
	r.mu.Unlock()
	if stall {
		var ids []string
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
		r.stalled <- ids
		select { // until optguard is gone
		case <-req.Context().Done():
		case <-time.After(20 * time.Second):
		}
		return
	}
	r.mu.Lock()
	r.answered = append(r.answered, http.StatusNoContent)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) events() []hookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.taken)
}

// distinct counts the distinct event ids taken.
func (r *hookReceiver) distinct() int {
	seen := map[string]bool{}
	for _, e := range r.events() {
		seen[e.ID] = true
	}
	return len(seen)
}

// TestWebhooksSurviveKill9 runs optguard serve as a process with a webhook
// to a receiver that fails its first requests, drives opt-outs and opt-ins
// over SMPP, and kills optguard with SIGKILL while a delivery is in flight
// (the receiver took the request and has not answered) with more changes
// waiting behind it; then starts it again on the same data directory.
// Every consent change of the ledger arrives, every request's signature
// verifies as documented, and the only events that arrive twice are those
// of the request in flight at the kill, as the at-least-once contract
// says.
func TestWebhooksSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const handsets = 12 // each texts STOP, then START: two consent changes
	bin, sim, dataDir, cfgPath, c := procSetup(t, "off")
	ctx := c.ctx
	r := newHookReceiver(t, 3)
	secretPath := filepath.Join(t.TempDir(), "crm.secret")
	writeFile(t, secretPath, hookSecret+"\n")
	writeFile(t, cfgPath, orgFile(sim.Addr(), dataDir, "off", "")+fmt.Sprintf(`webhooks:
  retry_min: 50ms
  retry_max: 200ms
  batch_size: 4
  endpoints:
    - name: crm
      url: %s/hooks/optguard
      secret_file: %s
      timeout: 5s
`, r.srv.URL, secretPath))
	handset := func(i int) string { return fmt.Sprintf("1555123%04d", 100+i) }
	text := func(i int, word string) {
		t.Helper()
		if st := moFrom(t, ctx, sim, handset(i), word); st != pdu.ESME_ROK {
			t.Fatalf("%s from handset %d answered %v", word, i, st)
		}
	}

	p := startServeProc(t, bin, "-config", cfgPath)
	bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	for i := range handsets / 2 {
		text(i, "STOP")
		text(i, "START")
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return r.distinct() == handsets }, "the first half's changes at the receiver")

	// The next request is taken and not answered; the changes after it
	// wait behind it.
	r.mu.Lock()
	r.stall = true
	r.mu.Unlock()
	text(handsets/2, "STOP")
	var inFlight []string
	select {
	case inFlight = <-r.stalled:
	case <-time.After(20 * time.Second):
		t.Fatal("no request after the stall was set")
	}
	text(handsets/2, "START")
	text(handsets/2+1, "STOP")
	if err := p.signal(syscall.SIGKILL, true); err == nil {
		t.Fatal("optguard serve exited 0 after SIGKILL")
	}
	waitUnbound(t, sim)

	p = startServeProc(t, bin, "-config", cfgPath)
	bindESME(t, ctx, sim, p.addr, "acme", pdu.BindTransceiver)
	text(handsets/2+1, "START")
	for i := handsets/2 + 2; i < handsets; i++ {
		text(i, "STOP")
		text(i, "START")
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return r.distinct() == 2*handsets }, "every change at the receiver")
	time.Sleep(300 * time.Millisecond) // nothing more comes
	if err := p.signal(syscall.SIGTERM, true); err != nil {
		t.Fatalf("optguard serve exited with %v after SIGTERM; want 0", err)
	}

	// What the ledger says the endpoint was to get, and what the store
	// logged of its deliveries.
	st, err := store.OpenBadger(store.Options{Dir: dataDir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sel, err := webhooks.ParseEvents(nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := st.Events(ctx, store.EventFilter{}, func(ev store.Event) error {
		if sel.Match(&ev) {
			want = append(want, webhooks.EventID(&ev))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != 2*handsets {
		t.Fatalf("the ledger has %d consent changes; the test sent %d", len(want), 2*handsets)
	}
	got := r.events()
	count := map[string]int{}
	var order []string
	for _, e := range got {
		if count[e.ID]++; count[e.ID] == 1 {
			order = append(order, e.ID)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("the receiver's events, first arrivals in order:\n%v\nthe ledger's consent changes:\n%v", order, want)
	}
	var twice []string
	for _, id := range order {
		switch n := count[id]; {
		case n == 2:
			twice = append(twice, id)
		case n > 2:
			t.Errorf("event %s arrived %d times", id, n)
		}
	}
	if !slices.Equal(twice, inFlight) {
		t.Errorf("events that arrived twice: %v; want exactly those of the request in flight at the kill, %v", twice, inFlight)
	}
	r.mu.Lock()
	bad, answered := r.badSigs, slices.Clone(r.answered)
	r.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d requests had a signature that does not verify", bad)
	}
	if len(answered) < 4 || !slices.Equal(answered[:3], []int{503, 503, 503}) {
		t.Errorf("the receiver answered %v; want its first three requests failed", answered)
	}
	state, ok, err := st.WebhookState(ctx, "crm")
	if head, _, _ := st.Head(ctx); err != nil || !ok || state.Cursor != head || state.Failures != 0 {
		t.Errorf("crm's state %+v (%v, %v); want the cursor at the head %d", state, ok, err, head)
	}
	log, err := st.WebhookAttempts(ctx, "crm", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	failed, cut := 0, 0
	for _, a := range log {
		switch {
		case a.Status == 503:
			failed++
		case !a.OK:
			cut++
		}
	}
	if failed != 3 {
		t.Errorf("the delivery log has %d attempts answered 503; want the 3 the receiver failed", failed)
	}
	if cut != 0 {
		t.Errorf("the delivery log has %d other failures; the killed process logged nothing of its last request", cut)
	}
	t.Logf("%d consent changes delivered in %d requests; %d events delivered twice (the request in flight at the kill)", len(want), len(log), len(twice))
}
