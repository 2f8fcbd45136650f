package webhooks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/store"
)

// Store is what the dispatcher needs of the store: the ledger to read and
// the endpoints' bookkeeping.
type Store interface {
	Head(ctx context.Context) (uint64, [32]byte, error)
	Events(ctx context.Context, f store.EventFilter, fn func(store.Event) error) error
	store.Webhooks
}

// Endpoint is one receiver.
type Endpoint struct {
	// Name identifies the endpoint's cursor and delivery log in the store:
	// renaming an endpoint starts it afresh, changing its URL does not.
	Name   string
	URL    string // http or https
	Secret []byte // the HMAC key
	Events Selection
	// Organizations limits it to events of these accounts (the main
	// organizations events are kept under); empty for all.
	Organizations []string
	Timeout       time.Duration // per request; default 10s
	// FromStart sends a new endpoint (one the store has no cursor of) the
	// whole ledger; otherwise it gets what comes after its first start.
	FromStart bool
}

// Options configure a Dispatcher.
type Options struct {
	Store     Store
	Endpoints []Endpoint
	// BatchSize is the most events one request carries (default 100);
	// MaxBody the most bytes, a larger event going alone (default 1 MiB).
	BatchSize int
	MaxBody   int
	// RetryMin and RetryMax bound the wait before a retry (defaults 1s
	// and 5m): the n-th retry waits a random time between RetryMin and
	// RetryMin·2ⁿ⁻¹, at most RetryMax.
	RetryMin, RetryMax time.Duration
	// Keep is how many attempts each endpoint's delivery log keeps
	// (default 1000).
	Keep int
	// Poll is how often an endpoint with nothing to send looks at the
	// ledger's head (default 250ms).
	Poll time.Duration
	// Client makes the requests (default: one of this package's, which
	// honours HTTPS_PROXY); redirects are never followed either way.
	Client    *http.Client
	Logger    zerolog.Logger
	Clock     func() time.Time // default time.Now
	UserAgent string           // default "optguard"
}

// Defaults of Options and Endpoint.
const (
	DefaultBatchSize = 100
	DefaultMaxBody   = 1 << 20
	DefaultRetryMin  = time.Second
	DefaultRetryMax  = 5 * time.Minute
	DefaultKeep      = 1000
	DefaultPoll      = 250 * time.Millisecond
	DefaultTimeout   = 10 * time.Second
	// MaxBatchSize is the most events a request carries whatever
	// Options.BatchSize says: the delivery log records each one's id.
	MaxBatchSize = 1000
)

// ErrUnknownEndpoint: no endpoint of that name is configured.
var ErrUnknownEndpoint = errors.New("webhooks: no such endpoint")

// Dispatcher runs one sender per endpoint. Reload replaces the endpoints
// and settings while it runs.
type Dispatcher struct {
	o      Options // as New was given them; a crew's own are the ones it runs on
	client *http.Client
	rand   func() float64 // the jitter; tests fix it

	reload  sync.Mutex // held by Reload and Close: one change at a time
	mu      sync.RWMutex
	cur     *crew // guarded by mu
	started bool  // guarded by mu
	closed  bool  // guarded by mu
}

// crew is one configuration's senders: New makes the first, each Reload
// the next once the one before stopped.
type crew struct {
	o       Options
	senders []*sender
	byName  map[string]*sender

	stop     chan struct{}      // closed by halt: senders finish what they do and return
	stopOnce sync.Once          //
	hard     context.Context    // cancelled when halt's context ends: requests are cut
	cancel   context.CancelFunc //
	wg       sync.WaitGroup
}

// New checks the endpoints and makes each one's cursor in the store (at
// the ledger's head for a new one, unless FromStart), so that an event
// recorded after New returns is sent even if the process stops before
// Start.
func New(ctx context.Context, o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, errors.New("webhooks: Options.Store is required")
	}
	if err := settle(&o); err != nil {
		return nil, err
	}
	d := &Dispatcher{o: o, rand: rand.Float64}
	d.client = newClient(o.Client)
	c, err := d.newCrew(ctx, o, nil)
	if err != nil {
		return nil, err
	}
	d.cur = c
	return d, nil
}

// settle fills in o's defaults and checks its settings and endpoints.
func settle(o *Options) error {
	setDefault(&o.BatchSize, DefaultBatchSize)
	o.BatchSize = min(o.BatchSize, MaxBatchSize)
	setDefault(&o.MaxBody, DefaultMaxBody)
	setDefault(&o.RetryMin, DefaultRetryMin)
	setDefault(&o.RetryMax, DefaultRetryMax)
	setDefault(&o.Keep, DefaultKeep)
	setDefault(&o.Poll, DefaultPoll)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.UserAgent == "" {
		o.UserAgent = "optguard"
	}
	if o.RetryMax < o.RetryMin {
		return fmt.Errorf("webhooks: RetryMax %s is below RetryMin %s", o.RetryMax, o.RetryMin)
	}
	o.Endpoints = slices.Clone(o.Endpoints)
	seen := map[string]bool{}
	for i := range o.Endpoints {
		ep := &o.Endpoints[i]
		if err := checkEndpoint(ep); err != nil {
			return fmt.Errorf("webhooks: endpoint %d (%s): %w", i, ep.Name, err)
		}
		if seen[ep.Name] {
			return fmt.Errorf("webhooks: two endpoints are named %s", ep.Name)
		}
		seen[ep.Name] = true
		setDefault(&ep.Timeout, DefaultTimeout)
	}
	return nil
}

// newCrew makes the senders of o's endpoints, each from its cursor in the
// store; an endpoint of the same name in prev keeps its counters.
func (d *Dispatcher) newCrew(ctx context.Context, o Options, prev *crew) (*crew, error) {
	c := &crew{o: o, byName: map[string]*sender{}, stop: make(chan struct{})}
	c.hard, c.cancel = context.WithCancel(context.Background())
	for _, ep := range o.Endpoints {
		st, err := o.Store.StartWebhook(ctx, ep.Name, ep.FromStart)
		if err != nil {
			c.cancel()
			return nil, fmt.Errorf("webhooks: starting endpoint %s: %w", ep.Name, err)
		}
		m := &counters{}
		if prev != nil && prev.byName[ep.Name] != nil {
			m = prev.byName[ep.Name].m
		}
		s := &sender{d: d, c: c, ep: ep, pos: st.Cursor, saved: st.Cursor, savedAt: o.Clock(), m: m,
			log: o.Logger.With().Str("component", "webhooks").Str("webhook", ep.Name).Logger()}
		s.m.cursor.Store(st.Cursor)
		c.senders = append(c.senders, s)
		c.byName[ep.Name] = s
	}
	return c, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func checkEndpoint(ep *Endpoint) error {
	if ep.Name == "" {
		return errors.New("no name")
	}
	u, err := url.Parse(ep.URL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("the URL must be http:// or https:// with a host, got %q", redact(ep.URL))
	}
	if len(ep.Secret) == 0 {
		return errors.New("no secret")
	}
	return nil
}

// newClient is c without redirects (a signed body must go where it was
// configured to, or fail), or a client of its own.
func newClient(c *http.Client) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c != nil {
		cp := *c
		cp.CheckRedirect = noRedirect
		return &cp
	}
	return &http.Client{
		CheckRedirect: noRedirect,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// Start starts the senders. Idempotent.
func (d *Dispatcher) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	d.cur.start()
}

func (c *crew) start() {
	for _, s := range c.senders {
		s.log.Info().Str("url", redact(s.ep.URL)).Strs("events", s.ep.Events.Names()).Uint64("cursor", s.pos).Msg("webhook endpoint started")
		if u, _ := url.Parse(s.ep.URL); u.Scheme == "http" && !isLoopback(u.Hostname()) {
			s.log.Warn().Str("url", redact(s.ep.URL)).Msg("the webhook endpoint is plain http://: the numbers and texts it is sent cross the network unencrypted (the signature only proves where they came from); use https://")
		}
		c.wg.Add(1)
		go s.run()
	}
}

// Close stops the senders: each finishes the request it is making, until
// ctx ends, when the requests still running are cut (their events are
// sent again at the next start). Idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.reload.Lock()
	defer d.reload.Unlock()
	d.mu.Lock()
	d.closed = true
	c := d.cur
	d.mu.Unlock()
	err := c.halt(ctx)
	d.client.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("webhooks: requests cut at shutdown: %w", err)
	}
	return nil
}

// Reload replaces the endpoints and the settings (batch size, body size,
// retry bounds, delivery log length) with o's; the store, client, logger,
// clock and user agent stay New's. Nothing stops unless o checks out. The
// running senders then finish the request each is making (cut when ctx
// ends, those events to be sent again), and the new ones go on from the
// cursors in the store: an endpoint kept by name loses and repeats
// nothing, a new one starts at the ledger's head (or its start, with
// FromStart), and one left out stops, its cursor and delivery log kept
// for when it comes back.
func (d *Dispatcher) Reload(ctx context.Context, o Options) error {
	o.Store, o.Client, o.Logger, o.Clock, o.UserAgent = d.o.Store, d.o.Client, d.o.Logger, d.o.Clock, d.o.UserAgent
	if err := settle(&o); err != nil {
		return err
	}
	d.reload.Lock()
	defer d.reload.Unlock()
	d.mu.RLock()
	old, closed, started := d.cur, d.closed, d.started
	d.mu.RUnlock()
	if closed {
		return errors.New("webhooks: the dispatcher is closed")
	}
	cut := old.halt(ctx)
	c, err := d.newCrew(context.WithoutCancel(ctx), o, old)
	if err != nil {
		// The store refused a cursor: carry on as before rather than with none.
		back, berr := d.newCrew(context.WithoutCancel(ctx), old.o, old)
		if berr != nil {
			return fmt.Errorf("%w; and the endpoints before it could not start again (%v): none sends until the next reload or start", err, berr)
		}
		c = back
	}
	d.mu.Lock()
	d.cur = c
	if started {
		c.start()
	}
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w; the endpoints before it run again", err)
	}
	if cut != nil {
		d.o.Logger.Warn().Err(cut).Msg("webhook requests were cut by the reload; their events are sent again")
	}
	return nil
}

// halt stops c's senders and waits for them; when ctx ends first, the
// requests still running are cut, and halt says so.
func (c *crew) halt(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stop) })
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		c.cancel()
		<-done
	}
	c.cancel()
	return err
}

// sleep waits for wait, and reports false when the crew is stopping.
func (c *crew) sleep(wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
		return true
	}
}

func (c *crew) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// crew returns the running configuration's senders.
func (d *Dispatcher) crew() *crew {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cur
}

// Info is an endpoint as configured, without its secret.
type Info struct {
	Name          string
	URL           string // with any password in it hidden
	Events        []string
	Organizations []string
	Timeout       time.Duration
}

func (s *sender) info() Info {
	return Info{Name: s.ep.Name, URL: redact(s.ep.URL), Events: s.ep.Events.Names(),
		Organizations: slices.Clone(s.ep.Organizations), Timeout: s.ep.Timeout}
}

// Endpoints lists the endpoints in configuration order.
func (d *Dispatcher) Endpoints() []Info {
	c := d.crew()
	out := make([]Info, 0, len(c.senders))
	for _, s := range c.senders {
		out = append(out, s.info())
	}
	return out
}

// Status is where an endpoint is.
type Status struct {
	Info
	store.WebhookState
	Head uint64 // the ledger's head
	// Pending counts the events after the cursor that are for the
	// endpoint, read up to pendingScan events past it; PendingMore says
	// that more were not read.
	Pending     int
	PendingMore bool
	// RetryAt is when the next try is due, while the endpoint is failing.
	RetryAt time.Time
}

// pendingScan bounds the events Status reads per endpoint.
const pendingScan = 100_000

// Status reports on every endpoint, in configuration order.
func (d *Dispatcher) Status(ctx context.Context) ([]Status, error) {
	head, _, err := d.o.Store.Head(ctx)
	if err != nil {
		return nil, err
	}
	c := d.crew()
	out := make([]Status, 0, len(c.senders))
	for _, s := range c.senders {
		st, _, err := d.o.Store.WebhookState(ctx, s.ep.Name)
		if err != nil {
			return nil, err
		}
		v := Status{Info: s.info(), WebhookState: st, Head: head, RetryAt: s.retryAt()}
		if v.Pending, v.PendingMore, err = s.pending(ctx, st.Cursor, head); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Deliveries lists an endpoint's attempts, newest first: those numbered
// below before (0: from the latest), at most limit.
func (d *Dispatcher) Deliveries(ctx context.Context, name string, before uint64, limit int) ([]store.WebhookAttempt, error) {
	if d.crew().byName[name] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEndpoint, name)
	}
	return d.o.Store.WebhookAttempts(ctx, name, before, limit)
}

// Endpoint returns one endpoint's Info.
func (d *Dispatcher) Endpoint(name string) (Info, error) {
	s := d.crew().byName[name]
	if s == nil {
		return Info{}, fmt.Errorf("%w: %q", ErrUnknownEndpoint, name)
	}
	return s.info(), nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// redact is raw with any password in its user info hidden.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
