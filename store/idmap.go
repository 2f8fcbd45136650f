package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The message-id map lives in the log database: it is written without sync
// and expires with a badger TTL (Options.IDMapTTL). Losing the last moments
// of it in a power cut only means a receipt for a released message is
// relayed with the SMSC's id instead of optguard's; the hold and the consent
// change that released it are in the synced database.
//
// Every receipt asks OptguardMessageID whether its SMSC id is one of ours,
// and nearly all are not (only released held messages are mapped), so that
// direction is mirrored in memory (idMirror, loaded at open): the receipt
// path never reads badger.

// idMirror is the in-memory copy of the SMSC id → optguard id direction.
type idMirror struct {
	mu     sync.RWMutex
	m      map[string]idTarget // guarded by mu
	pruned int64               // guarded by mu: Unix seconds of the last prune
}

type idTarget struct {
	ours string
	exp  int64 // Unix seconds
}

const idPruneEvery = 60 // seconds

// get returns the mapping unless it is missing or expired. It reads the
// clock only on a hit: misses are the common case.
func (im *idMirror) get(smscID string) (string, bool) { return mirrorGet(im, smscID) }

func mirrorGet[T string | []byte](im *idMirror, smscID T) (string, bool) {
	im.mu.RLock()
	t, ok := im.m[string(smscID)]
	im.mu.RUnlock()
	// Expiry is judged by the wall clock, as badger judges the stored copy.
	if !ok || t.exp <= time.Now().Unix() {
		return "", false
	}
	return t.ours, true
}

// put adds a mapping and, at most once a minute, drops expired ones.
func (im *idMirror) put(smscID, ours string, exp, now int64) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.m[smscID] = idTarget{ours: ours, exp: exp}
	if now-im.pruned >= idPruneEvery {
		im.pruned = now
		for k, t := range im.m {
			if t.exp <= now {
				delete(im.m, k)
			}
		}
	}
}

func (im *idMirror) len() int {
	im.mu.RLock()
	defer im.mu.RUnlock()
	return len(im.m)
}

// loadIDMirror reads the live SMSC id → optguard id mappings.
func loadIDMirror(db *badger.DB) (*idMirror, error) {
	im := &idMirror{m: make(map[string]idTarget)}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixIDSMSC})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			smsc := string(item.Key()[len(prefixIDSMSC):])
			err := item.Value(func(v []byte) error {
				im.m[smsc] = idTarget{ours: string(v), exp: int64(item.ExpiresAt())}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: loading id map: %w", err)
	}
	return im, nil
}

// MapMessageID records that the message optguard answered with ourID was
// accepted by the SMSC as smscID, in both directions. A mapping for the same
// id is replaced.
func (b *Badger) MapMessageID(ctx context.Context, ourID, smscID string) error {
	return b.MapMessageIDs(ctx, ourID, smscID)
}

// MapMessageIDs is MapMessageID for several forms of the SMSC's id (the
// forms a receipt may write it in), in one write; the optguard id → SMSC
// id direction keeps the last.
func (b *Badger) MapMessageIDs(ctx context.Context, ourID string, smscIDs ...string) error {
	if err := checkName("optguard message id", ourID, maxIDLen, true); err != nil {
		return fmt.Errorf("mapping message id: %w", err)
	}
	if len(smscIDs) == 0 {
		return fmt.Errorf("mapping message id: %w", invalidf("no SMSC message id"))
	}
	for _, smscID := range smscIDs {
		if err := checkName("SMSC message id", smscID, maxIDLen, true); err != nil {
			return fmt.Errorf("mapping message id: %w", err)
		}
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.bestEffort(); err != nil {
		// NoteMessageID keeps the mapping in memory meanwhile.
		return fmt.Errorf("mapping message id: %w", err)
	}
	now := b.clock().Unix()
	exp := uint64(now + int64(b.opts.IDMapTTL/time.Second))
	err := b.ldb.Update(func(txn *badger.Txn) error {
		e1 := badger.NewEntry(idOursKey(ourID), []byte(smscIDs[len(smscIDs)-1]))
		e1.ExpiresAt = exp
		if err := txn.SetEntry(e1); err != nil {
			return err
		}
		for _, smscID := range smscIDs {
			e2 := badger.NewEntry(idSMSCKey(smscID), []byte(ourID))
			e2.ExpiresAt = exp
			if err := txn.SetEntry(e2); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mapping message id: %w", err)
	}
	wall := time.Now().Unix()
	for _, smscID := range smscIDs {
		b.ids.Load().put(smscID, ourID, int64(exp), wall)
	}
	return nil
}

// NoteMessageID puts the SMSC id → optguard id mapping in memory at once,
// without touching the disk, for a caller that persists it with
// MapMessageID right after: a receipt can follow the submit_sm_resp within
// milliseconds, sooner than a write, and must find the mapping.
func (b *Badger) NoteMessageID(ourID, smscID string) {
	now := time.Now().Unix()
	b.ids.Load().put(smscID, ourID, now+int64(b.opts.IDMapTTL/time.Second), now)
}

// SMSCMessageID returns the SMSC's id for optguard's ourID.
func (b *Badger) SMSCMessageID(ctx context.Context, ourID string) (string, error) {
	return b.lookupID(idOursKey(ourID))
}

// OptguardMessageID returns optguard's id for the SMSC's smscID; receipts
// whose id is not found here were never held and pass untouched. It is
// answered from memory without allocating.
func (b *Badger) OptguardMessageID(ctx context.Context, smscID string) (string, error) {
	if ours, ok := b.ids.Load().get(smscID); ok {
		return ours, nil
	}
	return "", ErrNotFound
}

// OptguardMessageIDBytes is OptguardMessageID for an id still in a PDU's
// bytes: the receipt path asks it for every receipt, so it does not
// allocate.
func (b *Badger) OptguardMessageIDBytes(smscID []byte) (string, bool) {
	return mirrorGet(b.ids.Load(), smscID)
}

func (b *Badger) lookupID(k []byte) (string, error) {
	if err := b.enter(); err != nil {
		return "", err
	}
	defer b.leave()
	var id string
	err := b.ldb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { id = string(v); return nil })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("looking up message id: %w", err)
	}
	return id, nil
}
