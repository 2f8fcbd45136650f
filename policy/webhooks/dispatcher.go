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

// Dispatcher runs one sender per endpoint.
type Dispatcher struct {
	o       Options
	client  *http.Client
	senders []*sender
	byName  map[string]*sender
	rand    func() float64 // the jitter; tests fix it

	stop      chan struct{}      // closed by Close: senders finish what they do and return
	hard      context.Context    // cancelled when Close's context ends: requests are cut
	cancel    context.CancelFunc //
	wg        sync.WaitGroup
	startOnce sync.Once
	stopOnce  sync.Once
}

// New checks the endpoints and makes each one's cursor in the store (at
// the ledger's head for a new one, unless FromStart), so that an event
// recorded after New returns is sent even if the process stops before
// Start.
func New(ctx context.Context, o Options) (*Dispatcher, error) {
	if o.Store == nil {
		return nil, errors.New("webhooks: Options.Store is required")
	}
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
		return nil, fmt.Errorf("webhooks: RetryMax %s is below RetryMin %s", o.RetryMax, o.RetryMin)
	}
	d := &Dispatcher{o: o, byName: map[string]*sender{}, rand: rand.Float64, stop: make(chan struct{})}
	d.hard, d.cancel = context.WithCancel(context.Background())
	d.client = newClient(o.Client)
	for i, ep := range o.Endpoints {
		if err := checkEndpoint(&ep); err != nil {
			return nil, fmt.Errorf("webhooks: endpoint %d (%s): %w", i, ep.Name, err)
		}
		if d.byName[ep.Name] != nil {
			return nil, fmt.Errorf("webhooks: two endpoints are named %s", ep.Name)
		}
		setDefault(&ep.Timeout, DefaultTimeout)
		st, err := o.Store.StartWebhook(ctx, ep.Name, ep.FromStart)
		if err != nil {
			return nil, fmt.Errorf("webhooks: starting endpoint %s: %w", ep.Name, err)
		}
		s := &sender{d: d, ep: ep, pos: st.Cursor, saved: st.Cursor, savedAt: o.Clock(),
			log: o.Logger.With().Str("component", "webhooks").Str("webhook", ep.Name).Logger()}
		s.m.cursor.Store(st.Cursor)
		d.senders = append(d.senders, s)
		d.byName[ep.Name] = s
	}
	return d, nil
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
	d.startOnce.Do(func() {
		for _, s := range d.senders {
			s.log.Info().Str("url", redact(s.ep.URL)).Strs("events", s.ep.Events.Names()).Uint64("cursor", s.pos).Msg("webhook endpoint started")
			if u, _ := url.Parse(s.ep.URL); u.Scheme == "http" && !isLoopback(u.Hostname()) {
				s.log.Warn().Str("url", redact(s.ep.URL)).Msg("the webhook endpoint is plain http://: the numbers and texts it is sent cross the network unencrypted (the signature only proves where they came from); use https://")
			}
			d.wg.Add(1)
			go s.run()
		}
	})
}

// Close stops the senders: each finishes the request it is making, until
// ctx ends, when the requests still running are cut (their events are
// sent again at the next start). Idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stop) })
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("webhooks: requests cut at shutdown: %w", ctx.Err())
		d.cancel()
		<-done
	}
	d.cancel()
	d.client.CloseIdleConnections()
	return err
}

// sleep waits for d, and reports false when the dispatcher is stopping.
func (d *Dispatcher) sleep(wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.stop:
		return false
	case <-t.C:
		return true
	}
}

func (d *Dispatcher) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
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
	out := make([]Info, 0, len(d.senders))
	for _, s := range d.senders {
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
	out := make([]Status, 0, len(d.senders))
	for _, s := range d.senders {
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
	if d.byName[name] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEndpoint, name)
	}
	return d.o.Store.WebhookAttempts(ctx, name, before, limit)
}

// Endpoint returns one endpoint's Info.
func (d *Dispatcher) Endpoint(name string) (Info, error) {
	s := d.byName[name]
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
