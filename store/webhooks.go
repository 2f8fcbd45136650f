package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
)

// Webhook bookkeeping: how far each webhook endpoint is through the ledger,
// and its latest delivery attempts. The webhooks' outbox is the ledger
// itself, which is durable and ordered already; what an endpoint adds is a
// cursor, the last sequence number it is past, moved only once its
// receiver has answered 2xx for the events up to it (or they were not for
// it). A crash before the move sends those events again, never loses one:
// the at-least-once contract of policy/webhooks. The keys live in the
// consent database beside the ledger, so that a backup carries the
// cursors with the events they point into, and each move is synced like
// the events were.

var (
	prefixWebhook        = []byte("ws/") // ws/ name              → webhook state (encodeWebhookState)
	prefixWebhookAttempt = []byte("wa/") // wa/ lp(name) n(8)     → attempt (encodeWebhookAttempt)
)

const (
	webhookStateEncV1   = 1
	webhookAttemptEncV1 = 1

	maxWebhookName  = 64
	maxWebhookError = 512
	// maxWebhookEvents bounds the event ids one attempt records.
	maxWebhookEvents = 1000
	maxWebhookKeep   = 100_000
)

// Webhooks is the bookkeeping of webhook endpoints, each named by the
// caller (the configuration's name).
type Webhooks interface {
	// StartWebhook returns the endpoint's state, first making one when it
	// has none: its cursor at 0 when fromStart (the whole ledger is for
	// it), else at the ledger's head (only what comes next). A cursor
	// past the head (the ledger was replaced by a shorter one) is moved
	// back to the head.
	StartWebhook(ctx context.Context, name string, fromStart bool) (WebhookState, error)
	// WebhookState reads the endpoint's state; ok is false before StartWebhook.
	WebhookState(ctx context.Context, name string) (st WebhookState, ok bool, err error)
	// AdvanceWebhook moves the cursor forward to seq without an attempt:
	// the events it passes were not for the endpoint.
	AdvanceWebhook(ctx context.Context, name string, seq uint64) (WebhookState, error)
	// LogWebhookAttempt records one attempt, numbering it; a successful
	// one moves the cursor forward to through and counts its events as
	// delivered. It keeps the endpoint's latest keep attempts.
	LogWebhookAttempt(ctx context.Context, name string, a WebhookAttempt, through uint64, keep int) (WebhookState, error)
	// WebhookAttempts lists the endpoint's attempts, newest first: those
	// numbered below before (0: from the latest), at most limit.
	WebhookAttempts(ctx context.Context, name string, before uint64, limit int) ([]WebhookAttempt, error)
}

// WebhookState is where one endpoint is.
type WebhookState struct {
	// Cursor is the last sequence number the endpoint is past: every event
	// up to it was delivered, or was not for the endpoint.
	Cursor    uint64
	Delivered uint64 // events delivered (acknowledged with a 2xx) in all
	Attempts  uint64 // attempts made in all: the number of the latest
	Failures  uint64 // failed attempts since the last success
	// First is the number of the oldest attempt still kept.
	First       uint64
	LastSuccess time.Time
	LastFailure time.Time
	LastError   string // the latest failure's error
}

// WebhookAttempt is one delivery attempt: one request with some events.
type WebhookAttempt struct {
	N        uint64 // its number in the endpoint's log, from 1; set by the store
	At       time.Time
	Duration time.Duration
	// Try counts the attempts of these events, from 1.
	Try int
	// Events are the ids of the events sent, in order, as the caller
	// names them; FirstSeq and LastSeq their sequence numbers' range.
	Events            []string
	FirstSeq, LastSeq uint64
	Status            int    // the receiver's HTTP status; 0 when none came
	Error             string // why it failed; "" on success
	OK                bool
}

func webhookKey(name string) []byte { return append(cat(prefixWebhook), name...) }

func webhookAttemptPrefix(name string) []byte {
	return appendLP(cat(prefixWebhookAttempt), []byte(name))
}

func webhookAttemptKey(name string, n uint64) []byte { return appendU64(webhookAttemptPrefix(name), n) }

func checkWebhookName(name string) error {
	return checkName("webhook name", name, maxWebhookName, true)
}

// StartWebhook implements Webhooks.
func (b *Badger) StartWebhook(ctx context.Context, name string, fromStart bool) (WebhookState, error) {
	return b.updateWebhook(ctx, name, "starting", func(txn *badger.Txn, st *WebhookState, found bool) error {
		h, err := headInTxn(txn)
		if err != nil {
			return err
		}
		switch {
		case !found && !fromStart:
			st.Cursor = h.seq
		case found && st.Cursor > h.seq:
			b.log.Warn().Str("webhook", name).Uint64("cursor", st.Cursor).Uint64("head", h.seq).
				Msg("the webhook's cursor is past the ledger's head (the ledger was replaced); it starts again at the head")
			st.Cursor = h.seq
		}
		return nil
	})
}

// WebhookState implements Webhooks.
func (b *Badger) WebhookState(ctx context.Context, name string) (WebhookState, bool, error) {
	if err := checkWebhookName(name); err != nil {
		return WebhookState{}, false, fmt.Errorf("reading webhook %q: %w", name, err)
	}
	if err := b.enter(); err != nil {
		return WebhookState{}, false, err
	}
	defer b.leave()
	var st WebhookState
	var found bool
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		st, found, err = getWebhookState(txn, name)
		return err
	})
	if err != nil {
		return WebhookState{}, false, fmt.Errorf("reading webhook %q: %w", name, err)
	}
	return st, found, nil
}

// AdvanceWebhook implements Webhooks.
func (b *Badger) AdvanceWebhook(ctx context.Context, name string, seq uint64) (WebhookState, error) {
	return b.updateWebhook(ctx, name, "advancing", func(txn *badger.Txn, st *WebhookState, found bool) error {
		if !found {
			return fmt.Errorf("%w: webhook not started", ErrNotFound)
		}
		st.Cursor = max(st.Cursor, seq)
		return nil
	})
}

// LogWebhookAttempt implements Webhooks.
func (b *Badger) LogWebhookAttempt(ctx context.Context, name string, a WebhookAttempt, through uint64, keep int) (WebhookState, error) {
	if keep < 1 || keep > maxWebhookKeep {
		return WebhookState{}, fmt.Errorf("logging a webhook attempt: %w", invalidf("keep %d is not 1..%d", keep, maxWebhookKeep))
	}
	if len(a.Events) > maxWebhookEvents {
		return WebhookState{}, fmt.Errorf("logging a webhook attempt: %w", invalidf("%d event ids, at most %d", len(a.Events), maxWebhookEvents))
	}
	for _, id := range a.Events {
		if err := checkName("event id", id, maxIDLen, true); err != nil {
			return WebhookState{}, fmt.Errorf("logging a webhook attempt: %w", err)
		}
	}
	a.Error = truncateUTF8(a.Error, maxWebhookError)
	return b.updateWebhook(ctx, name, "logging an attempt of", func(txn *badger.Txn, st *WebhookState, found bool) error {
		if !found {
			return fmt.Errorf("%w: webhook not started", ErrNotFound)
		}
		st.Attempts++
		a.N = st.Attempts
		if st.First == 0 {
			st.First = a.N
		}
		if a.OK {
			st.Cursor = max(st.Cursor, through)
			st.Delivered += uint64(len(a.Events))
			st.Failures = 0
			st.LastSuccess = a.At
		} else {
			st.Failures++
			st.LastFailure = a.At
			st.LastError = a.Error
		}
		if err := txn.Set(webhookAttemptKey(name, a.N), encodeWebhookAttempt(&a)); err != nil {
			return err
		}
		for ; st.First+uint64(keep) <= a.N; st.First++ {
			if err := txn.Delete(webhookAttemptKey(name, st.First)); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookAttempts implements Webhooks.
func (b *Badger) WebhookAttempts(ctx context.Context, name string, before uint64, limit int) ([]WebhookAttempt, error) {
	if err := checkWebhookName(name); err != nil {
		return nil, fmt.Errorf("reading webhook %q attempts: %w", name, err)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("reading webhook %q attempts: %w", name, invalidf("limit %d", limit))
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var out []WebhookAttempt
	prefix := webhookAttemptPrefix(name)
	err := b.cdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		seek := webhookAttemptKey(name, before)
		if before == 0 {
			seek = prefixEnd(prefix)
		}
		for it.Seek(seek); it.Valid() && len(out) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := it.Item().Key()
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("malformed webhook attempt key")
			}
			n := binary.BigEndian.Uint64(k[len(prefix):])
			if n >= before && before != 0 {
				continue // the seek lands on before itself
			}
			var a WebhookAttempt
			if err := it.Item().Value(func(v []byte) (err error) {
				a, err = decodeWebhookAttempt(v)
				return err
			}); err != nil {
				return err
			}
			a.N = n
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading webhook %q attempts: %w", name, err)
	}
	return out, nil
}

// updateWebhook runs fn on the endpoint's state in a transaction and
// writes what fn left, synced. Bookkeeping is best effort: with the disk
// below its reserve it is refused, and the caller keeps its position in
// memory (a later write catches up; a crash meanwhile resends).
func (b *Badger) updateWebhook(ctx context.Context, name, doing string, fn func(txn *badger.Txn, st *WebhookState, found bool) error) (WebhookState, error) {
	if err := ctx.Err(); err != nil {
		return WebhookState{}, fmt.Errorf("%s webhook %q: %w", doing, name, err)
	}
	if err := checkWebhookName(name); err != nil {
		return WebhookState{}, fmt.Errorf("%s webhook %q: %w", doing, name, err)
	}
	if err := b.enter(); err != nil {
		return WebhookState{}, err
	}
	defer b.leave()
	if err := b.bestEffort(); err != nil {
		return WebhookState{}, fmt.Errorf("%s webhook %q: %w", doing, name, err)
	}
	var st WebhookState
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		cur, found, err := getWebhookState(txn, name)
		if err != nil {
			return err
		}
		if err := fn(txn, &cur, found); err != nil {
			return err
		}
		if err := txn.Set(webhookKey(name), encodeWebhookState(&cur)); err != nil {
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		st = cur
		return nil
	})
	if err != nil {
		return WebhookState{}, fmt.Errorf("%s webhook %q: %w", doing, name, err)
	}
	return st, nil
}

func getWebhookState(txn *badger.Txn, name string) (WebhookState, bool, error) {
	item, err := txn.Get(webhookKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return WebhookState{}, false, nil
	}
	if err != nil {
		return WebhookState{}, false, err
	}
	var st WebhookState
	err = item.Value(func(v []byte) (err error) {
		st, err = decodeWebhookState(v)
		return err
	})
	return st, err == nil, err
}

// State v1: version(1) cursor delivered attempts failures first
// lastsuccess lastfailure lasterror.
func encodeWebhookState(st *WebhookState) []byte {
	e := enc{b: make([]byte, 0, 64+len(st.LastError))}
	e.byte(webhookStateEncV1)
	e.uvarint(st.Cursor)
	e.uvarint(st.Delivered)
	e.uvarint(st.Attempts)
	e.uvarint(st.Failures)
	e.uvarint(st.First)
	e.time(st.LastSuccess)
	e.time(st.LastFailure)
	e.str(st.LastError)
	return e.b
}

func decodeWebhookState(v []byte) (WebhookState, error) {
	d := dec{b: v}
	if ver := d.byte(); d.err == nil && ver != webhookStateEncV1 {
		return WebhookState{}, fmt.Errorf("decoding webhook state: version %d", ver)
	}
	st := WebhookState{Cursor: d.uvarint(), Delivered: d.uvarint(), Attempts: d.uvarint(), Failures: d.uvarint(), First: d.uvarint()}
	st.LastSuccess = d.time()
	st.LastFailure = d.time()
	st.LastError = d.str()
	return st, d.done("webhook state")
}

// Attempt v1: version(1) at duration try firstseq lastseq status error ok
// count events…; N is the key's.
func encodeWebhookAttempt(a *WebhookAttempt) []byte {
	e := enc{b: make([]byte, 0, 48+len(a.Error)+24*len(a.Events))}
	e.byte(webhookAttemptEncV1)
	e.time(a.At)
	e.uvarint(uint64(max(a.Duration, 0)))
	e.uvarint(uint64(max(a.Try, 0)))
	e.uvarint(a.FirstSeq)
	e.uvarint(a.LastSeq)
	e.uvarint(uint64(max(a.Status, 0)))
	e.str(a.Error)
	e.bool(a.OK)
	e.uvarint(uint64(len(a.Events)))
	for _, id := range a.Events {
		e.str(id)
	}
	return e.b
}

func decodeWebhookAttempt(v []byte) (WebhookAttempt, error) {
	d := dec{b: v}
	if ver := d.byte(); d.err == nil && ver != webhookAttemptEncV1 {
		return WebhookAttempt{}, fmt.Errorf("decoding webhook attempt: version %d", ver)
	}
	var a WebhookAttempt
	a.At = d.time()
	a.Duration = time.Duration(d.uvarint())
	a.Try = int(d.uvarint())
	a.FirstSeq = d.uvarint()
	a.LastSeq = d.uvarint()
	a.Status = int(d.uvarint())
	a.Error = d.str()
	a.OK = d.bool()
	n := d.uvarint()
	if n > maxWebhookEvents {
		d.fail()
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		a.Events = append(a.Events, d.str())
	}
	return a, d.done("webhook attempt")
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
