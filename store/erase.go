package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// Erasure is crypto-erasure: one durable transaction deletes a subject's
// key and its number → subject link (sk/, s/), appends an erased event for
// each of its scopes, turns each opted-out scope's record into a
// suppression entry (the pseudonym, the organization, opted out, and how:
// nothing else) and deletes every other record of the subject, and its held
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
	var erased []seal.Pseudonym
	err := b.runExclusive(ctx, func() error {
		var err error
		rep, erased, err = b.eraseSubjects([]seal.Pseudonym{b.pseudonym(number)}, method, actor, "", nil)
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("erasing: %w", err)
	}
	b.afterErasure(erased, &rep)
	return rep, nil
}

// eraseSubjects erases the subjects of pseudonyms ps in one transaction
// (a retention sweep passes many, and due, which says again inside the
// transaction whether each is still to go; note, if set, is one more event
// of the store's own, in the same transaction), and returns the
// pseudonyms of those it erased. Runs on the committer goroutine.
func (b *Badger) eraseSubjects(ps []seal.Pseudonym, method Method, actor, note string, due func(txn *badger.Txn, s subject) (bool, error)) (ErasureReport, []seal.Pseudonym, error) {
	var rep ErasureReport
	if err := b.writable(); err != nil {
		return rep, nil, err
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
			if due != nil {
				if ok, err := due(txn, s); err != nil || !ok {
					if err != nil {
						return err
					}
					continue // an event since the sweep looked
				}
			}
			u, err := b.eraseInTxn(txn, &head, s, method, actor, now, &rep)
			if err != nil {
				return err
			}
			updates = append(updates, u...)
			gone = append(gone, s)
		}
		if len(gone) > 0 {
			ids := make(map[SubjectID]seal.Pseudonym, len(gone))
			for _, s := range gone {
				ids[s.id] = s.p
			}
			n, err := b.deleteHeldOf(txn, ids)
			if err != nil {
				return err
			}
			rep.Held += n
		}
		if note != "" {
			ev := Event{Seq: head.seq + 1, Type: EventRetentionSwept, Method: MethodSystem, Actor: "system",
				OccurredAt: now, RecordedAt: now, Note: note, PrevHash: head.hash}
			if err := appendEvent(txn, &head, &ev, nil); err != nil {
				return err
			}
			rep.Events = append(rep.Events, ev.Seq)
		}
		if head == b.head && len(gone) == 0 {
			return nil
		}
		if head != b.head {
			if err := txn.Set(keyHead, head.encode()); err != nil {
				return err
			}
		}
		if err := txn.Commit(); err != nil {
			return err
		}
		b.head = head
		return nil
	})
	if err != nil {
		return rep, nil, err
	}
	erased := make([]seal.Pseudonym, len(gone))
	for i, s := range gone {
		b.subjects.remove(s)
		erased[i] = s.p
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
	return rep, erased, nil
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
			if err := txn.Set(consentKey(sk), encodeSuppression(c.Mode, c.OptedOutMethod)); err != nil {
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
		rep.Events = append(rep.Events, ev.Seq)
		rep.Scopes++
		updates = append(updates, u)
	}
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

// appendSubjectEvent is appendEvent for an event of a live subject: its
// number, MO and note sealed under the subject's key, and the event in the
// subject's index.
func appendSubjectEvent(txn *badger.Txn, head *chainHead, ev *Event, key seal.SubjectKey) error {
	ev.Seq = head.seq + 1 // sealEvent binds the sealed part to it
	if err := appendEvent(txn, head, ev, sealEvent(key, ev)); err != nil {
		return err
	}
	return txn.Set(eventSubjectKey(ev.Subject, ev.Seq), nil)
}

// deleteHeldOf deletes every held message of the subjects gone, queued
// or in the outbox, whatever its scope (a hold's scope may have no record):
// their numbers and PDUs are sealed under keys that go. It reads the held
// messages once for all of them.
func (b *Badger) deleteHeldOf(txn *badger.Txn, gone map[SubjectID]seal.Pseudonym) (int, error) {
	type victim struct {
		m   HeldMessage
		p   seal.Pseudonym
		seq uint64
	}
	var vs []victim
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixHoldMsg})
	for it.Rewind(); it.Valid(); it.Next() {
		err := it.Item().Value(func(v []byte) error {
			m, subj, _, seq, err := decodeHeld(v)
			if err != nil {
				return err
			}
			if p, ok := gone[subj]; ok {
				vs = append(vs, victim{m: m, p: p, seq: seq})
			}
			return nil
		})
		if err != nil {
			it.Close()
			return 0, err
		}
	}
	it.Close()
	for _, v := range vs {
		id := v.m.ID
		if err := txn.Delete(holdMsgKey(id)); err != nil {
			return 0, err
		}
		if _, err := txn.Get(outboxKey(id)); err == nil {
			if err := txn.Delete(outboxKey(id)); err != nil {
				return 0, err
			}
			continue // out of the queue already
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return 0, err
		}
		sk := scopeKey(v.m.Scope.Org, v.p, v.m.Scope.Sender)
		count, last, err := holdCount(txn, sk)
		if err != nil {
			return 0, err
		}
		if err := txn.Delete(holdQueueKey(sk, v.seq)); err != nil {
			return 0, err
		}
		if err := txn.Delete(holdExpKey(v.m.ExpiresAt, id)); err != nil {
			return 0, err
		}
		if count <= 1 {
			err = txn.Delete(holdCountKey(sk))
		} else {
			err = txn.Set(holdCountKey(sk), countValue(count-1, last))
		}
		if err != nil {
			return 0, err
		}
	}
	return len(vs), nil
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

// SweepReport says what a retention sweep erased: counts, no numbers.
type SweepReport struct {
	Subjects int            // subjects erased
	ByOrg    map[string]int // scopes erased, per organization
	Event    uint64         // the retention_swept event (0 when nothing was erased)
	Took     time.Duration
}

// sweepBatch is how many subjects one sweep transaction erases.
const sweepBatch = 256

// SweepRetention erases, the way EraseNumber does, every subject whose
// proof is past its retention at now: each of its scopes had its last
// event more than retention(org) before now (a subject without scopes:
// made more than retention("") ago). Suppression entries are kept (they
// are the opt-out, not the proof). What it erased is recorded in a
// retention_swept event whose note gives the counts per organization, and
// no number. retention must not call the store; a zero or negative
// retention keeps the organization's subjects.
func (b *Badger) SweepRetention(ctx context.Context, now time.Time, retention func(org string) time.Duration) (SweepReport, error) {
	began := time.Now()
	rep := SweepReport{ByOrg: map[string]int{}}
	if b.keys == nil {
		return rep, fmt.Errorf("sweeping retention: %w", errNoKeys)
	}
	due, err := b.pastRetention(ctx, now, retention, rep.ByOrg)
	if err != nil {
		return rep, fmt.Errorf("sweeping retention: %w", err)
	}
	note := sweepNote(len(due), rep.ByOrg)
	var erased []seal.Pseudonym
	for start := 0; start < len(due); start += sweepBatch {
		batch := due[start:min(start+sweepBatch, len(due))]
		last := start+sweepBatch >= len(due)
		var er ErasureReport
		var gone []seal.Pseudonym
		err := b.runExclusive(ctx, func() error {
			n := ""
			if last {
				n = note // the count event ends the last batch's transaction
			}
			var err error
			er, gone, err = b.eraseSubjects(batch, MethodSystem, "retention", n, func(txn *badger.Txn, s subject) (bool, error) {
				return subjectPast(txn, s.p, s.id, now, retention, map[string]int{})
			})
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("sweeping retention (%d of %d subjects erased): %w", rep.Subjects, len(due), err)
		}
		rep.Subjects += len(gone)
		erased = append(erased, gone...)
		if last && len(er.Events) > 0 {
			rep.Event = er.Events[len(er.Events)-1]
		}
	}
	if len(erased) > 0 {
		var er ErasureReport
		b.afterErasure(erased, &er)
	}
	rep.Took = time.Since(began)
	return rep, nil
}

// sweepNote is the note of a retention_swept event.
func sweepNote(subjects int, byOrg map[string]int) string {
	orgs := make([]string, 0, len(byOrg))
	for org := range byOrg {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	var sb strings.Builder
	fmt.Fprintf(&sb, "erased %d subjects past retention; scopes per organization:", subjects)
	for _, org := range orgs {
		fmt.Fprintf(&sb, " %s %d", org, byOrg[org])
	}
	return sb.String()
}

// pastRetention lists the subjects past retention at now, counting their
// scopes per organization into byOrg.
func (b *Badger) pastRetention(ctx context.Context, now time.Time, retention func(string) time.Duration, byOrg map[string]int) ([]seal.Pseudonym, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var due []seal.Pseudonym
	err := b.cdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixSubject})
		defer it.Close()
		orgs := map[string]int{}
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var p seal.Pseudonym
			var id SubjectID
			copy(p[:], it.Item().Key()[len(prefixSubject):])
			if err := it.Item().Value(func(v []byte) error { copy(id[:], v); return nil }); err != nil {
				return err
			}
			past, err := subjectPast(txn, p, id, now, retention, orgs)
			if err != nil {
				return err
			}
			if past {
				due = append(due, p)
				for org, k := range orgs {
					byOrg[org] += k
				}
			}
			clear(orgs)
		}
		return nil
	})
	return due, err
}

// subjectPast reports whether subject id (of pseudonym p) is past
// retention, counting its live scopes per organization into orgs.
func subjectPast(txn *badger.Txn, p seal.Pseudonym, id SubjectID, now time.Time, retention func(string) time.Duration, orgs map[string]int) (bool, error) {
	prefix := cat(prefixConsNum, p[:])
	sc := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer sc.Close()
	scopes := 0
	for sc.Rewind(); sc.Valid(); sc.Next() {
		sk := sc.Item().Key()[len(prefix):]
		sp, err := parseScopeKey(sk)
		if err != nil {
			return false, err
		}
		c, ok, err := getConsent(txn, consentKey(sk), Scope{Org: sp.org, Sender: sp.sender})
		if err != nil {
			return false, err
		}
		if !ok || c.Erased {
			continue
		}
		ret := retention(sp.org)
		if ret <= 0 || !c.UpdatedAt.Add(ret).Before(now) {
			return false, nil
		}
		orgs[sp.org]++
		scopes++
	}
	if scopes > 0 {
		return true, nil
	}
	// No scope: a subject made for a hold or a log record only.
	rec, err := txn.Get(subjectRecKey(id))
	if err != nil {
		return false, err
	}
	var created time.Time
	if err := rec.Value(func(v []byte) error {
		_, _, _, created, err = decodeSubject(v)
		return err
	}); err != nil {
		return false, err
	}
	ret := retention("")
	return ret > 0 && created.Add(ret).Before(now), nil
}
