package store

import (
	"context"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// What optguard learns about its peers, kept across restarts: an SMSC's
// message id form, say, so that the ids optguard hands out after a restart
// look like the SMSC's before its next receipt. It is not proof, so it is
// not in the ledger; each key holds the caller's bytes, in the consent
// database beside meta/head.

var prefixLearned = []byte("meta/learned/") // meta/learned/ key → value

const maxLearnedValue = 256

// SaveLearned stores value under key, replacing what was there, durably.
func (b *Badger) SaveLearned(ctx context.Context, key string, value []byte) error {
	if err := checkName("learned key", key, maxIDLen, true); err != nil {
		return fmt.Errorf("saving %q: %w", key, err)
	}
	if len(value) > maxLearnedValue {
		return fmt.Errorf("saving %q: %w", key, invalidf("value of %d bytes", len(value)))
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.bestEffort(); err != nil {
		return fmt.Errorf("saving %q: %w", key, err)
	}
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		if err := txn.Set(cat(prefixLearned, []byte(key)), append([]byte(nil), value...)); err != nil {
			return err
		}
		return txn.Commit()
	})
	if err != nil {
		return fmt.Errorf("saving %q: %w", key, err)
	}
	return nil
}

// LoadLearned returns what SaveLearned stored under key; ok is false when
// nothing is.
func (b *Badger) LoadLearned(key string) (value []byte, ok bool, err error) {
	if err := b.enter(); err != nil {
		return nil, false, err
	}
	defer b.leave()
	err = b.cdb.View(func(txn *badger.Txn) error {
		it, err := txn.Get(cat(prefixLearned, []byte(key)))
		if err != nil {
			return err
		}
		value, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", key, err)
	}
	return value, true, nil
}
