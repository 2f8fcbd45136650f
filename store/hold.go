package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// A held message lives under hm/<id> from Hold until Ack. While queued it
// also has a place in its scope's FIFO (hq/) and in the expiry index (hx/),
// and counts towards the scope's bound (hc/). When it leaves the queue —
// released or dropped by a consent change, expired, all in one transaction
// with that cause — it gets an outbox entry (ho/<id>) with its disposition,
// and stays there until the caller has acted on it (forwarded it, or sent
// the REJECTD/EXPIRED receipt) and calls Ack. A crash between the two
// leaves it in the outbox, to be found again with Outbox: an acknowledged
// message is never lost, at worst acted on twice.

const maxPDULen = 70 << 10 // a 64 KiB command_length limit plus slack

// Hold stores m durably (synced) before returning it with HeldAt and
// ExpiresAt filled in. The scope must still be waiting for consent (unknown
// or pending, checked in the same transaction; opted in too for a Review
// hold, opted out too for a Part): otherwise Hold returns a
// *StateChangedError and the caller decides again. It fails with
// ErrHoldQueueFull when the scope already holds Options.HoldMaxPerScope
// messages and ErrDuplicateID when the id is in use.
func (b *Badger) Hold(ctx context.Context, m HeldMessage) (HeldMessage, error) {
	if err := validateHeld(&m); err != nil {
		return HeldMessage{}, fmt.Errorf("holding message: %w", err)
	}
	if err := b.enter(); err != nil {
		return HeldMessage{}, err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return HeldMessage{}, err
	}
	m.PDU = append([]byte(nil), m.PDU...)
	m.HeldAt = normTime(b.clock())
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = m.HeldAt.Add(b.opts.HoldTTL)
	}
	m.ExpiresAt = normTime(m.ExpiresAt)
	m.Disposition, m.SettledAt = DispositionHeld, time.Time{}
	sk := b.scopeKey(m.Scope)
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		c, _, err := getConsent(txn, consentKey(sk), m.Scope)
		if err != nil {
			return err
		}
		if c.State == StateOptedOut && !m.Part || c.State == StateOptedIn && !m.Review {
			return &StateChangedError{Scope: m.Scope, State: c.State}
		}
		if _, err := txn.Get(holdMsgKey(m.ID)); err == nil {
			return fmt.Errorf("%w: %q", ErrDuplicateID, m.ID)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		count, seq, err := holdCount(txn, sk)
		if err != nil {
			return err
		}
		if count >= uint32(b.opts.HoldMaxPerScope) {
			return fmt.Errorf("%w: %s holds %d messages", ErrHoldQueueFull, m.Scope, count)
		}
		seq++
		subj, err := b.subjectFor(txn, m.Scope.Number, m.HeldAt, nil)
		if err != nil {
			return err
		}
		if err := setAll(txn,
			holdMsgKey(m.ID), encodeHeld(&m, subj.id, sealHeld(subj.key, subj.id, &m), seq),
			holdQueueKey(sk, seq), queueValue(m.ExpiresAt, m.ID),
			holdExpKey(m.ExpiresAt, m.ID), nil,
			holdCountKey(sk), countValue(count+1, seq),
		); err != nil {
			return err
		}
		return txn.Commit()
	})
	if err != nil {
		return HeldMessage{}, fmt.Errorf("holding message: %w", err)
	}
	return m, nil
}

func validateHeld(m *HeldMessage) error {
	if err := checkName("message id", m.ID, maxIDLen, true); err != nil {
		return err
	}
	if err := m.Scope.Validate(); err != nil {
		return err
	}
	if err := checkName("system_id", m.SystemID, 64, false); err != nil {
		return err
	}
	if len(m.PDU) < 16 || len(m.PDU) > maxPDULen {
		return invalidf("PDU of %d bytes", len(m.PDU))
	}
	if !m.ExpiresAt.IsZero() && (m.ExpiresAt.Before(minTime) || m.ExpiresAt.After(maxTime)) {
		return invalidf("expires-at %v out of range", m.ExpiresAt)
	}
	return nil
}

func queueValue(exp time.Time, id string) []byte { return append(appendTime(nil, exp), id...) }

func countValue(count uint32, seq uint64) []byte {
	return appendU64(binary.BigEndian.AppendUint32(make([]byte, 0, 12), count), seq)
}

// holdCount reads the scope's queue length and last hold sequence number.
// Reading it makes concurrent Hold, settle and remove transactions on the
// same scope conflict, which keeps the bound exact.
func holdCount(txn *badger.Txn, sk []byte) (count uint32, seq uint64, err error) {
	item, err := txn.Get(holdCountKey(sk))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 12 {
			return fmt.Errorf("malformed hold count")
		}
		count, seq = binary.BigEndian.Uint32(v), binary.BigEndian.Uint64(v[4:])
		return nil
	})
	return count, seq, err
}

// getHeld reads held message id with its number and PDU opened.
func (b *Badger) getHeld(txn *badger.Txn, id string) (HeldMessage, uint64, error) {
	item, err := txn.Get(holdMsgKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return HeldMessage{}, 0, fmt.Errorf("held message %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return HeldMessage{}, 0, err
	}
	var m HeldMessage
	var seq uint64
	var subj SubjectID
	var sealed []byte
	err = item.Value(func(v []byte) error {
		m, subj, sealed, seq, err = decodeHeld(v)
		return err
	})
	if err != nil {
		return m, 0, err
	}
	s, ok, err := b.subjectByID(txn, subj)
	if err == nil && !ok {
		err = fmt.Errorf("held message %q: its subject %s was erased", id, subj)
	}
	if err != nil {
		return m, 0, err
	}
	if err := openHeld(s.key, subj, &m, sealed); err != nil {
		return m, 0, err
	}
	item, err = txn.Get(outboxKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return m, seq, nil
	}
	if err != nil {
		return m, 0, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 9 {
			return fmt.Errorf("malformed outbox entry")
		}
		m.Disposition = Disposition(v[0])
		m.SettledAt = timeFromKey(binary.BigEndian.Uint64(v[1:]))
		return nil
	})
	return m, seq, err
}

func outboxValue(d Disposition, at time.Time) []byte { return appendTime([]byte{byte(d)}, at) }

// settleScope moves every queued message of the scope (FIFO order) to the
// outbox with disposition d, inside txn.
func (b *Badger) settleScope(txn *badger.Txn, sk []byte, d Disposition, now time.Time) ([]HeldMessage, error) {
	count, _, err := holdCount(txn, sk)
	if err != nil || count == 0 {
		return nil, err
	}
	prefix := holdQueuePrefix(sk)
	type queued struct {
		key []byte
		exp time.Time
		id  string
	}
	var q []queued
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			if len(v) < 8 {
				return fmt.Errorf("malformed hold queue entry")
			}
			q = append(q, queued{key: item.KeyCopy(nil), exp: timeFromKey(binary.BigEndian.Uint64(v)), id: string(v[8:])})
			return nil
		})
		if err != nil {
			it.Close()
			return nil, err
		}
	}
	it.Close()
	out := make([]HeldMessage, 0, len(q))
	for _, e := range q {
		if err := txn.Delete(e.key); err != nil {
			return nil, err
		}
		if err := txn.Delete(holdExpKey(e.exp, e.id)); err != nil {
			return nil, err
		}
		m, _, err := b.getHeld(txn, e.id)
		if errors.Is(err, ErrNotFound) {
			// A queue entry without its message (damage): drop the entry
			// rather than block the consent change behind it.
			continue
		}
		if err != nil {
			return nil, err
		}
		m.Disposition, m.SettledAt = d, now
		if err := txn.Set(outboxKey(e.id), outboxValue(d, now)); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, txn.Delete(holdCountKey(sk))
}

// unqueue takes message m (with hold sequence seq) out of its scope's queue
// and expiry index, inside txn.
func (b *Badger) unqueue(txn *badger.Txn, m *HeldMessage, seq uint64) error {
	sk := b.scopeKey(m.Scope)
	count, last, err := holdCount(txn, sk)
	if err != nil {
		return err
	}
	if err := txn.Delete(holdQueueKey(sk, seq)); err != nil {
		return err
	}
	if err := txn.Delete(holdExpKey(m.ExpiresAt, m.ID)); err != nil {
		return err
	}
	if count <= 1 {
		return txn.Delete(holdCountKey(sk))
	}
	return txn.Set(holdCountKey(sk), countValue(count-1, last))
}

// Held returns the scope's queued messages, oldest first.
func (b *Badger) Held(ctx context.Context, s Scope) ([]HeldMessage, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var out []HeldMessage
	err := b.cdb.View(func(txn *badger.Txn) error {
		prefix := holdQueuePrefix(b.scopeKey(s))
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) < 8 {
				return fmt.Errorf("malformed hold queue entry")
			}
			m, _, err := b.getHeld(txn, string(v[8:]))
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing held messages: %w", err)
	}
	return out, nil
}

// HeldCount returns how many messages the scope's queue holds, from its
// count alone: one read, and nothing unsealed.
func (b *Badger) HeldCount(ctx context.Context, s Scope) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	defer b.leave()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n uint32
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		n, _, err = holdCount(txn, b.scopeKey(s))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("counting held messages: %w", err)
	}
	return int(n), nil
}

// GetHeld returns one held message, queued or in the outbox.
func (b *Badger) GetHeld(ctx context.Context, id string) (HeldMessage, error) {
	if err := b.enter(); err != nil {
		return HeldMessage{}, err
	}
	defer b.leave()
	var m HeldMessage
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		m, _, err = b.getHeld(txn, id)
		return err
	})
	return m, err
}

const defaultScanLimit = 1000

// Expired returns up to limit (default 1000) queued messages whose
// ExpiresAt is not after now, soonest first, without changing anything.
func (b *Badger) Expired(ctx context.Context, now time.Time, limit int) ([]HeldMessage, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var out []HeldMessage
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		out, err = b.expiredInTxn(ctx, txn, now, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scanning expired holds: %w", err)
	}
	return out, nil
}

func (b *Badger) expiredInTxn(ctx context.Context, txn *badger.Txn, now time.Time, limit int) ([]HeldMessage, error) {
	if limit <= 0 {
		limit = defaultScanLimit
	}
	end := appendTime(cat(prefixHoldExp), now)
	var ids []string
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixHoldExp})
	for it.Rewind(); it.Valid() && len(ids) < limit; it.Next() {
		k := it.Item().Key()
		if bytes.Compare(k[:len(end)], end) > 0 {
			break
		}
		ids = append(ids, string(k[len(end):]))
	}
	it.Close()
	out := make([]HeldMessage, 0, len(ids))
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, _, err := b.getHeld(txn, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ExpireHeld moves up to limit expired queued messages to the outbox with
// DispositionExpired, in one synced transaction, and returns them. Send the
// EXPIRED receipts that were asked for, then Ack.
func (b *Badger) ExpireHeld(ctx context.Context, now time.Time, limit int) ([]HeldMessage, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return nil, err
	}
	var out []HeldMessage
	settled := normTime(b.clock())
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		var err error
		out, err = b.expiredInTxn(ctx, txn, now, limit)
		if err != nil {
			return err
		}
		for i := range out {
			m := &out[i]
			_, seq, err := b.getHeld(txn, m.ID)
			if err != nil {
				return err
			}
			if err := b.unqueue(txn, m, seq); err != nil {
				return err
			}
			if err := txn.Set(outboxKey(m.ID), outboxValue(DispositionExpired, settled)); err != nil {
				return err
			}
			m.Disposition, m.SettledAt = DispositionExpired, settled
		}
		return txn.Commit()
	})
	if err != nil {
		return nil, fmt.Errorf("expiring holds: %w", err)
	}
	return out, nil
}

// RemoveHeld deletes queued messages outright (e.g. the ESME cancelled one
// with cancel_sm) and returns those it removed; ids that are not queued are
// skipped.
func (b *Badger) RemoveHeld(ctx context.Context, ids ...string) ([]HeldMessage, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return nil, err
	}
	var out []HeldMessage
	err := b.retry(func() error {
		out = out[:0]
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		for _, id := range ids {
			m, seq, err := b.getHeld(txn, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if m.Disposition != DispositionHeld {
				continue
			}
			if err := b.unqueue(txn, &m, seq); err != nil {
				return err
			}
			if err := txn.Delete(holdMsgKey(id)); err != nil {
				return err
			}
			out = append(out, m)
		}
		return txn.Commit()
	})
	if err != nil {
		return nil, fmt.Errorf("removing held messages: %w", err)
	}
	return out, nil
}

// Outbox returns up to limit (default 1000) messages that left the hold
// queue and were not acknowledged yet, by id. Call it at startup to finish
// what a crash interrupted.
func (b *Badger) Outbox(ctx context.Context, limit int) ([]HeldMessage, error) {
	return b.OutboxAfter(ctx, "", limit)
}

// OutboxAfter is Outbox from the first id after the given one: pass the
// last id of a page to read the next.
func (b *Badger) OutboxAfter(ctx context.Context, after string, limit int) ([]HeldMessage, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if limit <= 0 {
		limit = defaultScanLimit
	}
	var out []HeldMessage
	err := b.cdb.View(func(txn *badger.Txn) error {
		var ids []string
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixOutbox})
		start := prefixOutbox
		if after != "" {
			start = append(outboxKey(after), 0) // the first key after it
		}
		for it.Seek(start); it.Valid() && len(ids) < limit; it.Next() {
			ids = append(ids, string(it.Item().Key()[len(prefixOutbox):]))
		}
		it.Close()
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, _, err := b.getHeld(txn, id)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing outbox: %w", err)
	}
	return out, nil
}

// Ack deletes outbox messages once the caller has acted on them, and
// returns how many it deleted. Ids not in the outbox (unknown, already
// acknowledged, or still queued) are skipped.
func (b *Badger) Ack(ctx context.Context, ids ...string) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return 0, err
	}
	var n int
	err := b.retry(func() error {
		n = 0
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		for _, id := range ids {
			_, err := txn.Get(outboxKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := txn.Delete(outboxKey(id)); err != nil {
				return err
			}
			if err := txn.Delete(holdMsgKey(id)); err != nil {
				return err
			}
			n++
		}
		return txn.Commit()
	})
	if err != nil {
		return 0, fmt.Errorf("acknowledging held messages: %w", err)
	}
	return n, nil
}

// Enqueue stores a message optguard originates itself (an auto-message to
// a handset or a notice to a sender) straight into the outbox with
// DispositionOutgoing, synced, for when no bind can carry it now: the
// caller sends it when one binds (Outbox lists it with the rest) and Acks
// it then. It takes no place in a hold queue and no consent state is
// checked. ExpiresAt, when set, is when the message is no longer worth
// sending (an opt-out confirmation must leave within 5 minutes); the
// caller judges it when it finds the message.
func (b *Badger) Enqueue(ctx context.Context, m HeldMessage) (HeldMessage, error) {
	if err := validateHeld(&m); err != nil {
		return HeldMessage{}, fmt.Errorf("queuing outgoing message: %w", err)
	}
	if err := b.enter(); err != nil {
		return HeldMessage{}, err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return HeldMessage{}, err
	}
	m.PDU = append([]byte(nil), m.PDU...)
	m.HeldAt = normTime(b.clock())
	m.ExpiresAt = normTime(m.ExpiresAt)
	m.Disposition, m.SettledAt = DispositionOutgoing, m.HeldAt
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		if _, err := txn.Get(holdMsgKey(m.ID)); err == nil {
			return fmt.Errorf("%w: %q", ErrDuplicateID, m.ID)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		subj, err := b.subjectFor(txn, m.Scope.Number, m.HeldAt, nil)
		if err != nil {
			return err
		}
		if err := setAll(txn,
			holdMsgKey(m.ID), encodeHeld(&m, subj.id, sealHeld(subj.key, subj.id, &m), 0),
			outboxKey(m.ID), outboxValue(DispositionOutgoing, m.SettledAt),
		); err != nil {
			return err
		}
		return txn.Commit()
	})
	if err != nil {
		return HeldMessage{}, fmt.Errorf("queuing outgoing message: %w", err)
	}
	return m, nil
}

// HeldSummary counts the messages in hold queues and returns when the one
// that expires first was held (zero when none): the held-messages gauges.
// It reads only the expiry index's keys and one message.
func (b *Badger) HeldSummary(ctx context.Context) (count int, oldest time.Time, err error) {
	if err := b.enter(); err != nil {
		return 0, time.Time{}, err
	}
	defer b.leave()
	err = b.cdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixHoldExp})
		defer it.Close()
		var first string
		for it.Rewind(); it.Valid(); it.Next() {
			if count == 0 {
				k := it.Item().Key()
				if len(k) >= len(prefixHoldExp)+8 {
					first = string(k[len(prefixHoldExp)+8:])
				}
			}
			count++
			if count%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		if first != "" {
			m, _, err := b.getHeld(txn, first)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			oldest = m.HeldAt
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("summarizing held messages: %w", err)
	}
	return count, oldest, nil
}
