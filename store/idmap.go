package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// The message-id map lives in the log database: it is written without sync
// and expires with a badger TTL (Options.IDMapTTL). Losing the last moments
// of it in a power cut only means a receipt for a released message is
// relayed with the SMSC's id instead of optguard's; the hold and the consent
// change that released it are in the synced database.

// MapMessageID records that the message optguard answered with ourID was
// accepted by the SMSC as smscID, in both directions. A mapping for the same
// id is replaced.
func (b *Badger) MapMessageID(ctx context.Context, ourID, smscID string) error {
	if err := checkName("optguard message id", ourID, maxIDLen, true); err != nil {
		return fmt.Errorf("mapping message id: %w", err)
	}
	if err := checkName("SMSC message id", smscID, maxIDLen, true); err != nil {
		return fmt.Errorf("mapping message id: %w", err)
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	exp := uint64(b.clock().Add(b.opts.IDMapTTL).Unix())
	err := b.ldb.Update(func(txn *badger.Txn) error {
		e1 := badger.NewEntry(idOursKey(ourID), []byte(smscID))
		e1.ExpiresAt = exp
		e2 := badger.NewEntry(idSMSCKey(smscID), []byte(ourID))
		e2.ExpiresAt = exp
		if err := txn.SetEntry(e1); err != nil {
			return err
		}
		return txn.SetEntry(e2)
	})
	if err != nil {
		return fmt.Errorf("mapping message id: %w", err)
	}
	return nil
}

// SMSCMessageID returns the SMSC's id for optguard's ourID.
func (b *Badger) SMSCMessageID(ctx context.Context, ourID string) (string, error) {
	return b.lookupID(idOursKey(ourID))
}

// OptguardMessageID returns optguard's id for the SMSC's smscID; receipts
// whose id is not found here were never held and pass untouched.
func (b *Badger) OptguardMessageID(ctx context.Context, smscID string) (string, error) {
	return b.lookupID(idSMSCKey(smscID))
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
