package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// Erasure is crypto-erasure: one durable transaction deletes a subject's
// key and its number → subject link (sk/, s/), appends an erased event for
// each of its scopes, turns each opted-out scope's record into a
// suppression entry (the pseudonym, the organization, opted out: nothing
// else) and deletes every other record of the subject, and its held
// messages. Every event of the subject still verifies, but nothing in it
// can be opened again; an MT to the number is still refused wherever it
// had opted out; a new contact from the handset starts a new subject.
// Afterwards purge has badger write its memtables out and compact, so that
// the deleted key's bytes leave the files, and the message log's index of
// the handset is deleted (its records say nothing once the key is gone).

// ErasureReport says what an erasure did.
type ErasureReport struct {
	Subject    SubjectID
	Scopes     int      // scopes whose records went
	Suppressed int      // opted-out scopes kept as suppression entries
	Held       int      // held messages deleted
	Events     []uint64 // the erased events appended, one per scope
	Messages   int      // message-log records whose index was deleted
}

// EraseNumber erases the subject of number (E.164): see Erasure. actor and
// method are recorded in the erased events. It fails with ErrNotFound when
// the number has no subject (never seen, or erased already).
func (b *Badger) EraseNumber(ctx context.Context, number string, method Method, actor string) (ErasureReport, error) {
	if err := ValidateNumber(number); err != nil {
		return ErasureReport{}, fmt.Errorf("erasing: %w", err)
	}
	if !method.Valid() || actor == "" || len(actor) > maxActorLen {
		return ErasureReport{}, fmt.Errorf("erasing: %w", invalidf("a method and an actor are required"))
	}
	if b.keys == nil {
		return ErasureReport{}, fmt.Errorf("erasing: %w", errNoKeys)
	}
	var rep ErasureReport
	err := b.runExclusive(ctx, func() error {
		var err error
		rep, err = b.eraseSubjects([]seal.Pseudonym{b.pseudonym(number)}, method, actor, "")
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("erasing: %w", err)
	}
	b.afterErasure([]seal.Pseudonym{b.pseudonym(number)}, &rep)
	return rep, nil
}

// eraseSubjects erases the subjects of pseudonyms ps in one transaction
// (a retention sweep passes many; note, if set, is one more event of the
// store's own, in the same transaction). Runs on the committer goroutine.
func (b *Badger) eraseSubjects(ps []seal.Pseudonym, method Method, actor, note string) (ErasureReport, error) {
	var rep ErasureReport
	if err := b.writable(); err != nil {
		return rep, err
	}
	var updates []indexUpdate
	var gone []subject
	err := b.retry(func() error {
		rep, updates, gone = ErasureReport{}, nil, nil
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		head := b.head
		now := normTime(b.clock())
		for _, p := range ps {
			s, ok, err := b.subjectOf(txn, p)
			if err != nil {
				return err
			}
			if !ok {
				if len(ps) == 1 {
					return fmt.Errorf("the number has no subject (never seen, or erased already): %w", ErrNotFound)
				}
				continue
			}
			u, err := b.eraseInTxn(txn, &head, s, method, actor, now, &rep)
			if err != nil {
				return err
			}
			updates = append(updates, u...)
			gone = append(gone, s)
		}
		if note != "" {
			ev := Event{Seq: head.seq + 1, Type: EventRetentionSwept, Method: MethodSystem, Actor: "system",
				OccurredAt: now, RecordedAt: now, Note: note, PrevHash: head.hash}
			if err := appendEvent(txn, &head, &ev, nil); err != nil {
				return err
			}
			rep.Events = append(rep.Events, ev.Seq)
		}
		if head == b.head {
			return nil
		}
		if err := txn.Set(keyHead, head.encode()); err != nil {
			return err
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		b.head = head
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, s := range gone {
		b.subjects.remove(s)
	}
	ix := b.idx.Load()
	for _, u := range updates {
		if u.remove {
			ix.remove(u.org, u.sender, u.h)
		} else {
			ix.set(u.org, u.sender, u.h, u.val)
		}
	}
	if len(gone) == 1 {
		rep.Subject = gone[0].id
	}
	return rep, nil
}

// indexUpdate is what an erasure changes in the in-memory index once it
// has committed.
type indexUpdate struct {
	org, sender string
	h           Handset
	val         idxVal
	remove      bool
}

// eraseInTxn erases subject s inside txn.
func (b *Badger) eraseInTxn(txn *badger.Txn, head *chainHead, s subject, method Method, actor string, now time.Time, rep *ErasureReport) ([]indexUpdate, error) {
	var scopes [][]byte
	prefix := cat(prefixConsNum, s.p[:])
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	for it.Rewind(); it.Valid(); it.Next() {
		scopes = append(scopes, append([]byte(nil), it.Item().Key()[len(prefix):]...))
	}
	it.Close()
	h := handsetOfPseudonym(s.p)
	var updates []indexUpdate
	for _, sk := range scopes {
		sp, err := parseScopeKey(sk)
		if err != nil {
			return nil, err
		}
		c, ok, err := getConsent(txn, consentKey(sk), Scope{Org: sp.org, Sender: sp.sender})
		if err != nil {
			return nil, err
		}
		if !ok || c.Erased {
			continue // an older subject's suppression entry: it stays
		}
		ev := Event{
			Seq: head.seq + 1, Scope: Scope{Org: sp.org, Sender: sp.sender}, Subject: s.id,
			Type: EventErased, PrevState: c.State, NewState: StateUnknown, Mode: c.Mode,
			OccurredAt: now, RecordedAt: now, Method: method, Actor: actor, PrevHash: head.hash,
		}
		u := indexUpdate{org: sp.org, sender: sp.sender, h: h, remove: true}
		if c.State == StateOptedOut {
			ev.NewState = StateOptedOut
			if err := txn.Set(consentKey(sk), encodeSuppression(c.Mode)); err != nil {
				return nil, err
			}
			u = indexUpdate{org: sp.org, sender: sp.sender, h: h, val: idxVal{state: StateOptedOut, mode: c.Mode}}
			rep.Suppressed++
		} else {
			if err := txn.Delete(consentKey(sk)); err != nil {
				return nil, err
			}
			if err := txn.Delete(consentNumKey(s.p, sk)); err != nil {
				return nil, err
			}
		}
		if err := appendEvent(txn, head, &ev, nil); err != nil {
			return nil, err
		}
		if err := txn.Set(eventSubjectKey(s.id, ev.Seq), nil); err != nil {
			return nil, err
		}
		n, err := b.deleteQueued(txn, sk)
		if err != nil {
			return nil, err
		}
		rep.Held += n
		rep.Events = append(rep.Events, ev.Seq)
		rep.Scopes++
		updates = append(updates, u)
	}
	n, err := b.deleteOutboxOf(txn, s.id)
	if err != nil {
		return nil, err
	}
	rep.Held += n
	if err := txn.Delete(subjectKey(s.p)); err != nil {
		return nil, err
	}
	return updates, txn.Delete(subjectRecKey(s.id))
}

// appendEvent writes ev (its Seq and PrevHash set from head) and its time
// index into txn, and moves head on.
func appendEvent(txn *badger.Txn, head *chainHead, ev *Event, sealed []byte) error {
	ev.Seq, ev.PrevHash = head.seq+1, head.hash
	val := encodeEvent(ev, sealed)
	if err := setAll(txn, eventKey(ev.Seq), val, eventTimeKey(ev.OccurredAt, ev.Seq), nil); err != nil {
		return err
	}
	head.seq, head.hash = ev.Seq, ev.Hash
	return nil
}

// deleteQueued deletes the queued held messages of scope sk outright.
func (b *Badger) deleteQueued(txn *badger.Txn, sk []byte) (int, error) {
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
			return 0, err
		}
	}
	it.Close()
	for _, e := range q {
		for _, k := range [][]byte{e.key, holdExpKey(e.exp, e.id), holdMsgKey(e.id)} {
			if err := txn.Delete(k); err != nil {
				return 0, err
			}
		}
	}
	if len(q) > 0 {
		return len(q), txn.Delete(holdCountKey(sk))
	}
	return 0, nil
}

// deleteOutboxOf deletes the outbox entries of subject id (released or
// outgoing messages to the handset not acknowledged yet): their PDUs are
// sealed under the key that goes.
func (b *Badger) deleteOutboxOf(txn *badger.Txn, id SubjectID) (int, error) {
	var ids []string
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixOutbox, PrefetchValues: false})
	for it.Rewind(); it.Valid(); it.Next() {
		ids = append(ids, string(it.Item().Key()[len(prefixOutbox):]))
	}
	it.Close()
	n := 0
	for _, mid := range ids {
		item, err := txn.Get(holdMsgKey(mid))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		var subj SubjectID
		if err := item.Value(func(v []byte) error {
			_, subj, _, _, err = decodeHeld(v)
			return err
		}); err != nil {
			return n, err
		}
		if subj != id {
			continue
		}
		if err := txn.Delete(holdMsgKey(mid)); err != nil {
			return n, err
		}
		if err := txn.Delete(outboxKey(mid)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// afterErasure deletes the message log's index of the erased handsets and
// has the consent database write out and compact what the erasure deleted
// (purge). Both are best effort: the erasure itself is committed.
func (b *Badger) afterErasure(ps []seal.Pseudonym, rep *ErasureReport) {
	if err := b.enter(); err != nil {
		return
	}
	defer b.leave()
	for _, p := range ps {
		n, err := b.deleteLogIndex(p)
		rep.Messages += n
		if err != nil {
			b.log.Warn().Err(err).Msg("erasure: deleting the message log's index of the handset (its entries expire with the log)")
		}
	}
	if err := b.purge(); err != nil {
		b.log.Warn().Err(err).Msg("erasure: compacting the consent database (the erased key's bytes leave the files at its next compaction)")
	}
}

// deleteLogIndex deletes the mn/ entries of pseudonym p.
func (b *Badger) deleteLogIndex(p seal.Pseudonym) (int, error) {
	prefix := cat(prefixMsgNum, p[:])
	var keys [][]byte
	err := b.ldb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	wb := b.ldb.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), wb.Flush()
}

// keyPurge is a key written only for purge to drop.
var keyPurge = []byte("meta/purge")

// purge makes badger write its memtables out (and delete their logs) and
// compact every level, so that the versions an erasure deleted leave the
// files: DropPrefix of a key written for the purpose is badger's one way to
// flush the memtables of an open database, and Flatten then merges the
// levels, dropping deleted versions. Writes wait while the memtables are
// written out (retry takes ErrBlockedWrites as a short wait).
func (b *Badger) purge() error {
	if b.opts.InMemory {
		return nil
	}
	b.purgeMu.Lock()
	defer b.purgeMu.Unlock()
	if err := b.cdb.Update(func(txn *badger.Txn) error { return txn.Set(keyPurge, nil) }); err != nil {
		return err
	}
	if err := b.cdb.DropPrefix(keyPurge); err != nil {
		return err
	}
	return b.cdb.Flatten(2)
}
