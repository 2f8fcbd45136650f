package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/optguard/optguard/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var secret = []byte("s3cret-of-the-crm-endpoint")

// receiver is an httptest endpoint that verifies every request's
// signature and keeps what it took. fail decides, per request (numbered
// from 1 as they arrive), the status to answer instead of 204; 0 takes it.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	fail  func(n int) int
	delay func(n int) time.Duration // before answering; nil for none
	hang  chan struct{}             // when set, requests wait for it to close
	enter chan int                  // when set, told of each request's arrival

	mu       sync.Mutex
	arrived  int       // guarded by mu
	requests []request // guarded by mu: every request answered, taken or not
}

type request struct {
	at      time.Time
	header  http.Header
	body    []byte
	payload Payload
	status  int
}

func newReceiver(t *testing.T, fail func(n int) int, opts ...func(*receiver)) *receiver {
	r := &receiver{t: t, fail: fail}
	for _, o := range opts {
		o(r)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.arrived++
	n := r.arrived
	r.mu.Unlock()
	if r.enter != nil {
		r.enter <- n
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("receiver: reading the body: %v", err)
		return
	}
	if err := Verify(secret, req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("receiver: %v (headers %v)", err, req.Header)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("receiver: the body is not a payload: %v\n%s", err, body)
	}
	if r.delay != nil {
		time.Sleep(r.delay(n))
	}
	if r.hang != nil {
		select {
		case <-r.hang:
		case <-req.Context().Done():
		}
	}
	status := http.StatusNoContent
	if r.fail != nil {
		if s := r.fail(n); s != 0 {
			status = s
		}
	}
	r.mu.Lock()
	r.requests = append(r.requests, request{at: time.Now(), header: req.Header.Clone(), body: body, payload: p, status: status})
	r.mu.Unlock()
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
	if status >= 300 {
		io.WriteString(w, "busy\nnow")
	}
}

func (r *receiver) got() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// taken lists the events of the requests answered 2xx, in order.
func (r *receiver) taken() []Event {
	var out []Event
	for _, q := range r.got() {
		if q.status < 300 {
			out = append(out, q.payload.Events...)
		}
	}
	return out
}

func openStore(t *testing.T, dir string) *store.Badger {
	t.Helper()
	st, err := store.OpenBadger(store.Options{Dir: dir, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var base = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func number(i int) string { return fmt.Sprintf("+1555123%04d", i) }

// apply appends an event of type typ for number i of org.
func apply(t *testing.T, st *store.Badger, org string, i int, typ store.EventType, text string) store.Event {
	t.Helper()
	ch := store.Change{Scope: store.OrgScope(org, number(i)), Type: typ, Mode: store.ModeConsent, OccurredAt: base.Add(time.Duration(i) * time.Second),
		Method: store.MethodSMSKeyword, Actor: "handset"}
	if text != "" {
		ch.MO = &store.MO{Raw: []byte(text), Text: text}
	}
	a, err := st.Apply(context.Background(), ch)
	if err != nil {
		t.Fatalf("Apply %s: %v", typ, err)
	}
	return a.Event
}

// start makes and starts a dispatcher of one endpoint to r, closed at the
// end of the test.
func start(t *testing.T, st *store.Badger, r *receiver, tweak ...func(*Options, *Endpoint)) *Dispatcher {
	t.Helper()
	ep := Endpoint{Name: "crm", URL: r.srv.URL + "/hooks/optguard", Secret: secret, Events: mustParse(t)}
	o := Options{Store: st, RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond, Poll: 5 * time.Millisecond,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	for _, f := range tweak {
		f(&o, &ep)
	}
	o.Endpoints = append(o.Endpoints, ep)
	d, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	d.rand = func() float64 { return 1 } // the longest wait of each try
	d.Start()
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func mustParse(t *testing.T, names ...string) Selection {
	t.Helper()
	s, err := ParseEvents(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually polls cond every 5 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(t *testing.T, st *store.Badger, name string) store.WebhookState {
	t.Helper()
	s, ok, err := st.WebhookState(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("WebhookState(%s): %v, %v", name, ok, err)
	}
	return s
}

func ids(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

// The consent changes and review items go out signed, as JSON, in ledger
// order, with their numbers and ids; the other events do not, and the
// cursor moves past both.
func TestDeliversConsentChangesSigned(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, nil)
	d := start(t, st, r)
	want := []store.Event{
		apply(t, st, "acme", 1, store.EventConsentRequested, ""),
		apply(t, st, "acme", 1, store.EventOptedIn, "YES"),
	}
	apply(t, st, "acme", 1, store.EventConfirmationSent, "")
	want = append(want, apply(t, st, "acme", 2, store.EventOptedOut, "STOP"))
	apply(t, st, "acme", 2, store.EventOptedOut, "STOP") // opted out already: no change
	want = append(want, apply(t, st, "acme", 3, store.EventPossibleOptOut, "please don't text"))
	last := apply(t, st, "acme", 3, store.EventPINSent, "")

	eventually(t, "the receiver has 4 events", func() bool { return len(r.taken()) >= 4 })
	eventually(t, "the cursor is past every event", func() bool { return state(t, st, "crm").Cursor == last.Seq })
	got := r.taken()
	if len(got) != len(want) {
		t.Fatalf("the receiver took %v; want the %d changes and review items", ids(got), len(want))
	}
	for i, ev := range want {
		g := got[i]
		if g.ID != EventID(&ev) || g.Seq != ev.Seq || g.Type != ev.Type.String() || g.Number != ev.Scope.Number ||
			g.Organization != "acme" || g.PrevState != ev.PrevState.String() || g.NewState != ev.NewState.String() || g.Actor != "handset" {
			t.Errorf("event %d arrived as %+v; want %s of %s", i, g, ev.Type, ev.Scope.Number)
		}
		if ev.MO != nil && (g.MO == nil || g.MO.Text != ev.MO.Text) {
			t.Errorf("event %d lost its MO text: %+v", i, g.MO)
		}
	}
	if got[0].ID != fmt.Sprintf("%d-%x", want[0].Seq, want[0].Hash[:8]) {
		t.Errorf("id %q is not seq-hash", got[0].ID)
	}
	q := r.got()[0]
	if q.header.Get("Content-Type") != "application/json" || q.header.Get(HeaderAttempt) != "1" || q.payload.Endpoint != "crm" {
		t.Errorf("request headers %v, endpoint %q", q.header, q.payload.Endpoint)
	}
	ts, _ := strconv.ParseInt(q.header.Get(HeaderTimestamp), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Second || d > time.Minute {
		t.Errorf("timestamp %d is %s from now", ts, d)
	}
	if q.header.Get(HeaderSignature) != Sign(secret, ts, q.body) {
		t.Errorf("signature %q is not v1=HMAC(timestamp.body)", q.header.Get(HeaderSignature))
	}
	sts, err := d.Status(context.Background())
	if err != nil || len(sts) != 1 {
		t.Fatal(sts, err)
	}
	if s := sts[0]; s.Pending != 0 || s.PendingMore || s.Delivered != 4 || s.Head != last.Seq || s.Cursor != last.Seq || s.Failures != 0 ||
		s.LastSuccess.IsZero() || s.URL != r.srv.URL+"/hooks/optguard" || !slices.Equal(s.Events, DefaultEvents) {
		t.Errorf("status %+v", s)
	}
}

// A receiver that fails its first tries gets the same body again, with
// waits that grow, until it takes it; the cursor stays until then, and
// every try is in the delivery log.
func TestRetriesWithBackoffUntilTaken(t *testing.T) {
	st := openStore(t, t.TempDir())
	release := make(chan struct{})
	var once sync.Once
	r := newReceiver(t, func(n int) int {
		if n == 2 {
			once.Do(func() { <-release }) // hold the second failure until the test looked
		}
		return map[int]int{1: 500, 2: 429, 3: 503}[n]
	})
	ev := apply(t, st, "acme", 1, store.EventOptedOut, "STOP")
	d := start(t, st, r, func(o *Options, ep *Endpoint) { ep.FromStart = true })
	eventually(t, "the first failure is logged", func() bool { return state(t, st, "crm").Failures == 1 })
	if s := state(t, st, "crm"); s.Cursor != 0 || s.LastError != "HTTP 500: busy now" {
		t.Errorf("after a failure: %+v; the cursor must not move", s)
	}
	close(release)
	eventually(t, "the fourth try is taken", func() bool { return len(r.taken()) == 1 })
	eventually(t, "the cursor moved", func() bool { return state(t, st, "crm").Cursor == ev.Seq })
	reqs := r.got()
	if len(reqs) != 4 {
		t.Fatalf("%d requests; want 3 failures and a success", len(reqs))
	}
	for i, q := range reqs {
		if string(q.body) != string(reqs[0].body) || q.header.Get(HeaderAttempt) != strconv.Itoa(i+1) {
			t.Errorf("try %d: attempt header %s, body changed %v", i+1, q.header.Get(HeaderAttempt), string(q.body) != string(reqs[0].body))
		}
	}
	// rand is 1: the n-th retry waits 10 ms · 2ⁿ⁻¹, at most 40 ms,
	// counted from the answer to the try before.
	for i, wait := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
		if gap := reqs[i+1].at.Sub(reqs[i].at); gap < wait || gap > time.Second {
			t.Errorf("try %d was answered %s after try %d; want %s and a little", i+2, gap, i+1, wait)
		}
	}
	log, err := st.WebhookAttempts(context.Background(), "crm", 0, 10)
	if err != nil || len(log) != 4 {
		t.Fatalf("delivery log: %d attempts, %v", len(log), err)
	}
	for i, want := range []int{204, 503, 429, 500} {
		a := log[i]
		if a.Status != want || a.OK != (want == 204) || a.Try != 4-i || !slices.Equal(a.Events, []string{EventID(&ev)}) || a.FirstSeq != ev.Seq || a.LastSeq != ev.Seq {
			t.Errorf("attempt %d: %+v; want status %d", a.N, a, want)
		}
	}
	if s := state(t, st, "crm"); s.Delivered != 1 || s.Failures != 0 || s.Attempts != 4 {
		t.Errorf("state %+v", s)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d.Collector())
	want := fmt.Sprintf(`# HELP optguard_webhook_attempts_total Webhook requests made, by endpoint and result (ok: answered 2xx).
# TYPE optguard_webhook_attempts_total counter
optguard_webhook_attempts_total{endpoint="crm",result="failed"} 3
optguard_webhook_attempts_total{endpoint="crm",result="ok"} 1
# HELP optguard_webhook_cursor The last ledger sequence number the endpoint is past; compare with the ledger's head.
# TYPE optguard_webhook_cursor gauge
optguard_webhook_cursor{endpoint="crm"} %d
# HELP optguard_webhook_delivered_events_total Events taken by the endpoint's receiver (repeats after a crash count again).
# TYPE optguard_webhook_delivered_events_total counter
optguard_webhook_delivered_events_total{endpoint="crm"} 1
# HELP optguard_webhook_failures_in_a_row Failed webhook requests since the endpoint's last success: alert when it stays above 0.
# TYPE optguard_webhook_failures_in_a_row gauge
optguard_webhook_failures_in_a_row{endpoint="crm"} 0
`, ev.Seq)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := time.Second, 5*time.Minute
	for _, c := range []struct {
		try       int
		r         float64
		want      time.Duration
		wantAtTop time.Duration
	}{
		{1, 0.5, time.Second, time.Second},
		{2, 0, time.Second, 2 * time.Second},
		{3, 0.5, 2500 * time.Millisecond, 4 * time.Second},
		{9, 0, time.Second, 256 * time.Second},
		{10, 1, 5 * time.Minute, 5 * time.Minute},
		{1000, 0.25, lo + (hi-lo)/4, 5 * time.Minute},
	} {
		if got := backoff(c.try, lo, hi, c.r); got != c.want {
			t.Errorf("backoff(%d, r=%g) = %s, want %s", c.try, c.r, got, c.want)
		}
		if got := backoff(c.try, lo, hi, 1); got != c.wantAtTop {
			t.Errorf("backoff(%d, r=1) = %s, want %s", c.try, got, c.wantAtTop)
		}
	}
	if got := retryAfter("7", base); got != 7*time.Second {
		t.Errorf("Retry-After 7 = %s", got)
	}
	if got := retryAfter(base.Add(time.Minute).Format(http.TimeFormat), base); got != time.Minute {
		t.Errorf("Retry-After date = %s", got)
	}
}

// The cursor is the store's: a dispatcher started again on the store
// sends only what came after, including what was recorded while none
// ran; a new endpoint starts at the head, or at the start when asked.
func TestCursorAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	r := newReceiver(t, nil)
	d := start(t, st, r)
	for i := range 3 {
		apply(t, st, "acme", i, store.EventOptedOut, "STOP")
	}
	eventually(t, "3 events arrive", func() bool { return len(r.taken()) == 3 })
	skipped := apply(t, st, "acme", 2, store.EventConfirmationSent, "") // not for the endpoint
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := state(t, st, "crm").Cursor; c != skipped.Seq {
		t.Errorf("after Close the cursor is %d; want it past the skipped event, %d", c, skipped.Seq)
	}
	for i := 3; i < 5; i++ {
		apply(t, st, "acme", i, store.EventOptedOut, "STOP")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	newcomer, replay := newReceiver(t, nil), newReceiver(t, nil)
	start(t, st, r)
	start(t, st, newcomer, func(o *Options, ep *Endpoint) { ep.Name = "newcomer" })
	start(t, st, replay, func(o *Options, ep *Endpoint) { ep.Name = "replay"; ep.FromStart = true })
	apply(t, st, "acme", 5, store.EventOptedOut, "STOP")
	eventually(t, "6 events at the first receiver", func() bool { return len(r.taken()) == 6 })
	eventually(t, "6 events replayed", func() bool { return len(replay.taken()) == 6 })
	eventually(t, "the newcomer has the event after its start", func() bool { return len(newcomer.taken()) == 1 })
	time.Sleep(50 * time.Millisecond) // nothing more comes
	var seqs []uint64
	for _, e := range r.taken() {
		seqs = append(seqs, e.Seq)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3, 5, 6, 7}) {
		t.Errorf("the first receiver took seqs %v; want 1..7 but the skipped 4, each once", seqs)
	}
	if g := newcomer.taken(); len(g) != 1 || g[0].Seq != 7 {
		t.Errorf("the newcomer took %v; want only seq 7", ids(g))
	}
	if g := replay.taken(); len(g) != 6 {
		t.Errorf("the replay took %v; want all 6", ids(g))
	}
}

// The delivery log keeps the latest Keep attempts; Status shows the
// failing endpoint's failures, last error and next try.
func TestDeliveryLogBounded(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, func(int) int { return http.StatusBadGateway })
	d := start(t, st, r, func(o *Options, ep *Endpoint) { o.Keep = 3; ep.FromStart = true })
	apply(t, st, "acme", 1, store.EventOptedOut, "STOP")
	eventually(t, "7 failed tries", func() bool { return state(t, st, "crm").Attempts >= 7 })
	log, err := d.Deliveries(context.Background(), "crm", 0, 100)
	if err != nil || len(log) != 3 {
		t.Fatalf("delivery log has %d attempts (%v); want the latest 3", len(log), err)
	}
	if log[0].N <= log[1].N || log[1].N <= log[2].N || log[0].N < 7 || log[0].Error != "HTTP 502: busy now" || log[0].OK {
		t.Errorf("delivery log %+v", log)
	}
	sts, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := sts[0]; s.Failures < 7 || s.Pending != 1 || s.Cursor != 0 || s.LastError != "HTTP 502: busy now" || s.RetryAt.IsZero() || s.Delivered != 0 {
		t.Errorf("status of the failing endpoint: %+v", s)
	}
	if _, err := d.Deliveries(context.Background(), "nope", 0, 1); !errors.Is(err, ErrUnknownEndpoint) {
		t.Errorf("Deliveries of an unknown endpoint: %v", err)
	}
}

// Batches hold at most BatchSize events and MaxBody bytes; every event
// arrives once, in order.
func TestBatches(t *testing.T) {
	st := openStore(t, t.TempDir())
	for i := range 250 {
		apply(t, st, "acme", i, store.EventOptedOut, strings.Repeat("x", 100))
	}
	big := newReceiver(t, nil)
	small := newReceiver(t, nil)
	start(t, st, big, func(o *Options, ep *Endpoint) { ep.FromStart = true })
	start(t, st, small, func(o *Options, ep *Endpoint) { ep.FromStart = true; ep.Name = "small"; o.MaxBody = 4096 })
	eventually(t, "250 events at each", func() bool { return len(big.taken()) == 250 && len(small.taken()) == 250 })
	var sizes []int
	for _, q := range big.got() {
		sizes = append(sizes, len(q.payload.Events))
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("batch sizes %v; want 100, 100, 50", sizes)
	}
	for _, q := range small.got() {
		if len(q.body) > 4096+64 || len(q.payload.Events) == 0 {
			t.Errorf("a batch of %d bytes, %d events, with MaxBody 4096", len(q.body), len(q.payload.Events))
		}
	}
	for _, r := range []*receiver{big, small} {
		for i, e := range r.taken() {
			if e.Seq != uint64(i+1) {
				t.Fatalf("event %d has seq %d; want every event once, in order", i, e.Seq)
			}
		}
	}
}

// Organizations and explicit event types narrow what an endpoint gets;
// an erased subject's event goes without its number.
func TestSelection(t *testing.T) {
	st := openStore(t, t.TempDir())
	apply(t, st, "acme", 1, store.EventOptedOut, "STOP")
	apply(t, st, "globex", 2, store.EventOptedOut, "STOP")
	pin := apply(t, st, "globex", 2, store.EventPINSent, "")
	apply(t, st, "globex", 3, store.EventOptedIn, "YES")
	if _, err := st.EraseNumber(context.Background(), number(3), store.MethodAPI, "admin"); err != nil {
		t.Fatal(err)
	}
	globex, pins, all := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	start(t, st, globex, func(o *Options, ep *Endpoint) { ep.FromStart, ep.Organizations = true, []string{"globex"} })
	start(t, st, pins, func(o *Options, ep *Endpoint) {
		ep.Name, ep.FromStart, ep.Events = "pins", true, mustParse(t, "pin_sent")
	})
	start(t, st, all, func(o *Options, ep *Endpoint) { ep.Name, ep.FromStart, ep.Events = "all", true, mustParse(t, "all") })
	eventually(t, "every event at all", func() bool { return len(all.taken()) == 5 }) // the erasure too
	eventually(t, "globex's changes", func() bool { return len(globex.taken()) == 2 })
	eventually(t, "the PIN", func() bool { return len(pins.taken()) == 1 })
	g := globex.taken()
	if g[0].Number != number(2) || g[0].Organization != "globex" || g[1].Number != "" || !g[1].Erased || g[1].Type != "opted_in" {
		t.Errorf("globex got %+v and %+v; want its opt-out with the number, and the erased opt-in without", g[0], g[1])
	}
	if p := pins.taken(); p[0].ID != EventID(&pin) {
		t.Errorf("pins got %+v", p[0])
	}
	if a := all.taken(); a[len(a)-1].Type != "erased" {
		t.Errorf("all's last event is %s; want the erasure", a[len(a)-1].Type)
	}
}

// A request without an answer in time is a failed try, retried; a
// receiver that took it in the meantime sees the event twice, with one id:
// the at-least-once repeat.
func TestTimeoutIsRetried(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, nil, func(r *receiver) {
		r.delay = func(n int) time.Duration {
			if n == 1 {
				return 150 * time.Millisecond
			}
			return 0
		}
	})
	start(t, st, r, func(o *Options, ep *Endpoint) { ep.Timeout = 50 * time.Millisecond; ep.FromStart = true })
	apply(t, st, "acme", 1, store.EventOptedOut, "STOP")
	eventually(t, "the retry is taken", func() bool { return state(t, st, "crm").Delivered == 1 })
	log, _ := st.WebhookAttempts(context.Background(), "crm", 0, 10)
	if len(log) != 2 || log[1].Error != "no answer within 50ms (the timeout)" || log[1].Status != 0 || !log[0].OK {
		t.Fatalf("delivery log %+v", log)
	}
	eventually(t, "the slow request finished", func() bool { return len(r.got()) == 2 })
	if g := r.got(); g[0].payload.Events[0].ID != g[1].payload.Events[0].ID {
		t.Errorf("the repeat has another id: %s, %s", g[0].payload.Events[0].ID, g[1].payload.Events[0].ID)
	}
}

// Close lets a request finish until its context ends, then cuts it; a
// redirect is a failure, not followed.
func TestCloseAndRedirect(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, nil, func(r *receiver) { r.hang, r.enter = make(chan struct{}), make(chan int, 10) })
	d := start(t, st, r, func(o *Options, ep *Endpoint) { ep.FromStart = true; ep.Timeout = time.Minute })
	apply(t, st, "acme", 1, store.EventOptedOut, "STOP")
	select {
	case <-r.enter:
	case <-time.After(10 * time.Second):
		t.Fatal("no request came")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); err == nil {
		t.Error("Close returned nil with a request cut")
	}
	close(r.hang)
	log, _ := st.WebhookAttempts(context.Background(), "crm", 0, 10)
	if len(log) != 1 || log[0].Error != "cut: optguard was stopping" || state(t, st, "crm").Cursor != 0 {
		t.Errorf("after a cut request: log %+v, cursor %d; want the cut logged and the cursor kept", log, state(t, st, "crm").Cursor)
	}

	target := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	start(t, st, r, func(o *Options, ep *Endpoint) { ep.URL = redirect.URL })
	eventually(t, "a failed try", func() bool { return state(t, st, "crm").Failures >= 2 })
	if s := state(t, st, "crm"); !strings.HasPrefix(s.LastError, "HTTP 307 (redirects are not followed") {
		t.Errorf("last error %q", s.LastError)
	}
	if len(target.got()) != 0 {
		t.Error("the redirect was followed")
	}
}

func TestConfigurationRefused(t *testing.T) {
	st := openStore(t, t.TempDir())
	ok := Endpoint{Name: "crm", URL: "https://crm.example/hook", Secret: secret, Events: mustParse(t)}
	for name, c := range map[string]func(*Options){
		"no name":      func(o *Options) { o.Endpoints[0].Name = "" },
		"ftp":          func(o *Options) { o.Endpoints[0].URL = "ftp://crm.example/" },
		"no host":      func(o *Options) { o.Endpoints[0].URL = "https:///x" },
		"no secret":    func(o *Options) { o.Endpoints[0].Secret = nil },
		"twice":        func(o *Options) { o.Endpoints = append(o.Endpoints, ok) },
		"retry bounds": func(o *Options) { o.RetryMin, o.RetryMax = time.Minute, time.Second },
	} {
		o := Options{Store: st, Endpoints: []Endpoint{ok}}
		c(&o)
		if _, err := New(context.Background(), o); err == nil {
			t.Errorf("%s: New took it", name)
		}
	}
	if _, err := ParseEvents([]string{"consent_changes", "stopped"}); err == nil || !strings.Contains(err.Error(), `"stopped"`) || !strings.Contains(err.Error(), "opted_out") {
		t.Errorf("ParseEvents of an unknown name: %v", err)
	} else if ee := (*EventsError)(nil); !errors.As(err, &ee) || ee.Index != 1 {
		t.Errorf("the error does not say which entry: %v", err)
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "10.0.0.1": false, "crm.example": false} {
		if isLoopback(host) != want {
			t.Errorf("isLoopback(%s) = %v", host, !want)
		}
	}
	if got := redact("https://user:pw@crm.example/hook?x=1"); got != "https://user:xxxxx@crm.example/hook?x=1" {
		t.Errorf("redact = %q", got)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"endpoint":"crm","events":[]}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign(secret, now.Unix(), body)
	if err := Verify(secret, ts, sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	if err := Verify(secret, ts, "v1=00, "+sig, body, now, time.Minute); err != nil {
		t.Errorf("one good signature among several: %v", err)
	}
	for name, c := range map[string]struct {
		secret   []byte
		ts, sig  string
		body     []byte
		at       time.Time
		want     error
		tolerate time.Duration
	}{
		"tampered body": {secret, ts, sig, []byte(`{"endpoint":"crm","events":[{}]}`), now, ErrBadSignature, time.Minute},
		"wrong secret":  {[]byte("other"), ts, sig, body, now, ErrBadSignature, time.Minute},
		"other time":    {secret, strconv.FormatInt(now.Unix()+1, 10), sig, body, now, ErrBadSignature, time.Minute},
		"stale":         {secret, ts, sig, body, now.Add(10 * time.Minute), ErrStale, 5 * time.Minute},
		"future":        {secret, ts, sig, body, now.Add(-10 * time.Minute), ErrStale, 5 * time.Minute},
		"no timestamp":  {secret, "", sig, body, now, ErrStale, time.Minute},
		"no v1":         {secret, ts, "v0=abc", body, now, ErrNoSignature, time.Minute},
	} {
		if err := Verify(c.secret, c.ts, c.sig, c.body, c.at, c.tolerate); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// Reload while events flow: the endpoint kept by name (its URL moved to
// another receiver) loses and repeats nothing across the reload, the new
// endpoint starts with the first event after it, the endpoint left out
// stops, and the counters of the one kept carry on. A configuration that
// does not check out changes nothing.
func TestReloadReplacesEndpoints(t *testing.T) {
	st := openStore(t, t.TempDir())
	first, moved, added, dropped := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	d := start(t, st, first, func(o *Options, _ *Endpoint) {
		o.Endpoints = append(o.Endpoints, Endpoint{Name: "audit", URL: dropped.srv.URL, Secret: secret, Events: mustParse(t)})
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collector())
	var before []store.Event
	for i := range 20 {
		before = append(before, apply(t, st, "acme", i, store.EventOptedOut, "STOP"))
	}
	eventually(t, "the first receiver has some events", func() bool { return len(first.taken()) > 0 })

	o := Options{RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond, Poll: 5 * time.Millisecond, Endpoints: []Endpoint{
		{Name: "crm", URL: moved.srv.URL, Secret: secret, Events: mustParse(t)},
		{Name: "crm", URL: added.srv.URL, Secret: secret, Events: mustParse(t)},
	}}
	if err := d.Reload(context.Background(), o); err == nil || !strings.Contains(err.Error(), "two endpoints are named crm") {
		t.Fatalf("a reload with two endpoints of one name: %v", err)
	}
	if got := d.Endpoints(); len(got) != 2 || got[0].Name != "audit" || got[1].Name != "crm" {
		t.Fatalf("a refused reload changed the endpoints: %+v", got)
	}
	o.Endpoints[1].Name = "warehouse"
	if err := d.Reload(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := d.Endpoints(); len(got) != 2 || got[0].Name != "crm" || got[1].Name != "warehouse" {
		t.Fatalf("endpoints after the reload: %+v", got)
	}
	droppedHad := len(dropped.taken())
	var after []store.Event
	for i := range 20 {
		after = append(after, apply(t, st, "acme", 100+i, store.EventOptedOut, "STOP"))
	}

	all := append(slices.Clone(before), after...)
	eventually(t, "crm has every event, across its two receivers", func() bool { return len(first.taken())+len(moved.taken()) >= len(all) })
	eventually(t, "warehouse has the events after the reload", func() bool { return len(added.taken()) >= len(after) })
	crm := append(first.taken(), moved.taken()...)
	if len(crm) != len(all) {
		t.Fatalf("crm took %d events across the reload; want each of the %d once", len(crm), len(all))
	}
	for i, ev := range crm {
		if ev.ID != EventID(&all[i]) {
			t.Fatalf("crm's event %d is %s; want %s, in ledger order", i, ev.ID, EventID(&all[i]))
		}
	}
	if got := added.taken(); got[0].ID != EventID(&after[0]) || len(got) != len(after) {
		t.Fatalf("warehouse took %d events from %s; want the %d after the reload", len(got), got[0].ID, len(after))
	}
	time.Sleep(50 * time.Millisecond) // a dropped endpoint's sender would have sent by now
	if n := len(dropped.taken()); n != droppedHad {
		t.Fatalf("the endpoint left out took %d events after the reload", n-droppedHad)
	}
	// crm's counter carries on across the reload; audit's is gone with it.
	want := fmt.Sprintf(`# HELP optguard_webhook_delivered_events_total Events taken by the endpoint's receiver (repeats after a crash count again).
# TYPE optguard_webhook_delivered_events_total counter
optguard_webhook_delivered_events_total{endpoint="crm"} %d
optguard_webhook_delivered_events_total{endpoint="warehouse"} %d
`, len(all), len(after))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "optguard_webhook_delivered_events_total"); err != nil {
		t.Error(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(context.Background(), o); err == nil {
		t.Fatal("a reload after Close succeeded")
	}
}
