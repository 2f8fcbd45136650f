package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/store"
)

// sender delivers one endpoint's events, in ledger order, one request at
// a time.
type sender struct {
	d   *Dispatcher
	c   *crew // the configuration it runs in, and what stops it
	ep  Endpoint
	log zerolog.Logger

	// Owned by the sender's goroutine: pos is the last sequence number
	// it is past (delivered, or not for the endpoint); saved the cursor
	// in the store, written at savedAt.
	pos, saved uint64
	savedAt    time.Time
	readErrAt  time.Time // when a failed read of the ledger was last logged

	mu    sync.Mutex
	retry time.Time // guarded by mu: when the next try is due while failing

	m *counters // an endpoint's across reloads
}

// How often skipped events (none for the endpoint) move the cursor in
// the store: a crash before rereads them, and sends none.
const (
	saveEvery  = 5 * time.Second
	saveAfter  = 10_000 // events
	scanLimit  = 10_000 // events one read of the ledger looks at
	storeWrite = 5 * time.Second
)

// batch is the events of one request.
type batch struct {
	events      []json.RawMessage
	ids         []string
	first, last uint64 // the first and last event's sequence numbers
	through     uint64 // where the cursor moves once they are delivered
}

func (s *sender) run() {
	defer s.c.wg.Done()
	defer s.saveSkipped(true) // so that the next start does not read them again
	for !s.c.stopping() {
		b, more, err := s.next()
		switch {
		case err != nil:
			// Once a minute at most: a read that keeps failing retries
			// every Poll.
			if now := time.Now(); !errors.Is(err, context.Canceled) && now.Sub(s.readErrAt) >= time.Minute {
				s.readErrAt = now
				s.log.Error().Err(err).Msg("reading the ledger for the webhook; retrying")
			}
			if !s.c.sleep(s.c.o.Poll) {
				return
			}
		case len(b.ids) > 0:
			if !s.deliver(b) {
				return
			}
		default:
			s.pos = b.through
			s.m.cursor.Store(s.pos)
			s.saveSkipped(false)
			if !more && !s.c.sleep(s.c.o.Poll) {
				return
			}
		}
	}
}

var errBatchFull = errors.New("batch full")

// next reads the endpoint's next batch from the ledger: the events after
// pos that are for it, at most BatchSize and MaxBody, looking at no more
// than scanLimit events. more says whether the ledger has more after it.
func (s *sender) next() (b batch, more bool, err error) {
	ctx := s.c.hard
	b.through = s.pos
	head, _, err := s.c.o.Store.Head(ctx)
	if err != nil || head <= s.pos {
		return b, false, err
	}
	size, scanned := 0, 0
	err = s.c.o.Store.Events(ctx, store.EventFilter{FromSeq: s.pos + 1, ToSeq: head}, func(ev store.Event) error {
		if s.match(&ev) {
			raw, err := json.Marshal(viewOf(&ev))
			if err != nil {
				return fmt.Errorf("encoding event %d: %w", ev.Seq, err)
			}
			if len(b.ids) > 0 && size+len(raw) > s.c.o.MaxBody {
				return errBatchFull // this one starts the next batch
			}
			if len(b.ids) == 0 {
				b.first = ev.Seq
			}
			b.events, b.ids, b.last = append(b.events, raw), append(b.ids, EventID(&ev)), ev.Seq
			size += len(raw)
		}
		b.through = ev.Seq
		if scanned++; len(b.ids) == s.c.o.BatchSize || scanned == scanLimit {
			return errBatchFull
		}
		return nil
	})
	if errors.Is(err, errBatchFull) {
		err = nil
	}
	return b, b.through < head, err
}

func (s *sender) match(ev *store.Event) bool {
	return s.ep.Events.Match(ev) && (len(s.ep.Organizations) == 0 || slices.Contains(s.ep.Organizations, ev.Scope.Org))
}

// saveSkipped writes the cursor past events that were not for the
// endpoint, now and then, or now when asked.
func (s *sender) saveSkipped(now bool) {
	if s.pos <= s.saved || !now && s.pos-s.saved < saveAfter && s.c.o.Clock().Sub(s.savedAt) < saveEvery {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWrite)
	defer cancel()
	st, err := s.c.o.Store.AdvanceWebhook(ctx, s.ep.Name, s.pos)
	if err != nil {
		s.log.Warn().Err(err).Msg("saving the webhook's cursor; it is saved with the next delivery")
		return
	}
	s.saved, s.savedAt = st.Cursor, s.c.o.Clock()
}

// deliver sends b until the receiver takes it, and reports false when
// the dispatcher stopped first.
func (s *sender) deliver(b batch) bool {
	body := body(s.ep.Name, b.events)
	for try := 1; ; try++ {
		at := s.c.o.Clock()
		start := time.Now()
		status, retryAfter, err := s.post(body, try, at)
		a := store.WebhookAttempt{At: at, Duration: time.Since(start), Try: try, Events: b.ids,
			FirstSeq: b.first, LastSeq: b.last, Status: status, OK: err == nil}
		if err != nil {
			a.Error = err.Error()
		}
		s.record(a, b.through)
		if a.OK {
			s.pos = b.through
			s.m.ok.Add(1)
			s.m.delivered.Add(uint64(len(b.ids)))
			s.m.failures.Store(0)
			s.m.cursor.Store(s.pos)
			s.setRetry(time.Time{})
			if try > 1 {
				s.log.Info().Int("tries", try).Msg("webhook delivered again after failures")
			}
			return true
		}
		s.m.failed.Add(1)
		s.m.failures.Add(1)
		wait := backoff(try, s.c.o.RetryMin, s.c.o.RetryMax, s.d.rand())
		if retryAfter > wait {
			wait = min(retryAfter, s.c.o.RetryMax)
		}
		s.setRetry(at.Add(wait))
		s.log.Warn().Str("error", a.Error).Int("status", status).Int("try", try).Int("events", len(b.ids)).
			Uint64("first_seq", b.first).Dur("retry_in", wait).Msg("webhook delivery failed; it will be retried")
		if !s.c.sleep(wait) {
			return false
		}
	}
}

// record logs an attempt in the store, moving the cursor with a success.
// It does not give up the delivery when the store refuses (a full disk):
// the position stays in memory, and a crash before the next write sends
// the events again.
func (s *sender) record(a store.WebhookAttempt, through uint64) {
	if !a.OK {
		through = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWrite)
	defer cancel()
	st, err := s.c.o.Store.LogWebhookAttempt(ctx, s.ep.Name, a, through, s.c.o.Keep)
	if err != nil {
		s.log.Error().Err(err).Bool("delivered", a.OK).Msg("recording the webhook attempt")
		return
	}
	s.saved, s.savedAt = st.Cursor, s.c.o.Clock()
}

// backoff is the wait after the try-th failed try: random between lo and
// lo·2^(try-1), at most hi ("full jitter" above a floor, so that a
// receiver that fails at once is not retried at once either, and the
// endpoints that failed together do not retry together).
func backoff(try int, lo, hi time.Duration, r float64) time.Duration {
	ceil := lo
	for i := 1; i < try && ceil < hi; i++ {
		ceil *= 2
	}
	ceil = min(ceil, hi)
	return lo + time.Duration(r*float64(ceil-lo))
}

func (s *sender) setRetry(t time.Time) {
	s.mu.Lock()
	s.retry = t
	s.mu.Unlock()
}

func (s *sender) retryAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retry
}

// post makes one request. It returns the status (0 when none came), a
// Retry-After the receiver asked for, and why the try failed (nil for a
// 2xx).
func (s *sender) post(body []byte, try int, at time.Time) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(s.c.hard, s.ep.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	ts := at.Unix()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", s.c.o.UserAgent)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, Sign(s.ep.Secret, ts, body))
	h.Set(HeaderAttempt, strconv.Itoa(try))
	resp, err := s.d.client.Do(req)
	if err != nil {
		return 0, 0, s.transportError(ctx, err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection is kept
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed; configure the final URL)"
	}
	if text := printable(excerpt); text != "" {
		msg += ": " + text
	}
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), at), errors.New(msg)
}

// transportError says why no answer came, without the URL (it may hold
// a token in its query).
func (s *sender) transportError(ctx context.Context, err error) error {
	switch {
	case s.c.hard.Err() != nil:
		return errors.New("cut: optguard was stopping")
	case ctx.Err() != nil:
		return fmt.Errorf("no answer within %s (the timeout)", s.ep.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// printable is the start of a response body for the delivery log: one
// line of printable text.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return ' '
		}
		return r
	}, string(b))
	return strings.Join(strings.Fields(s), " ")
}

// pending counts the events after cursor that are for the endpoint,
// reading at most pendingScan of them; more says it stopped before head.
func (s *sender) pending(ctx context.Context, cursor, head uint64) (n int, more bool, err error) {
	if head <= cursor {
		return 0, false, nil
	}
	scanned := 0
	last := cursor
	err = s.c.o.Store.Events(ctx, store.EventFilter{FromSeq: cursor + 1, ToSeq: head}, func(ev store.Event) error {
		if s.match(&ev) {
			n++
		}
		last = ev.Seq
		if scanned++; scanned == pendingScan {
			return errBatchFull
		}
		return nil
	})
	if errors.Is(err, errBatchFull) {
		err = nil
	}
	return n, last < head, err
}
