package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/optguard/optguard/store/seal"
)

// openKeys loads the installation's key file, or creates it for a store
// that has no key yet, and checks it against the fingerprint the store
// keeps under meta/key: a store opened with another installation's key
// would read its own pseudonyms as unknown numbers and fail to open every
// sealed value, so it is refused instead. A read-only open without the key
// file opens without keys (b.keys nil): what reads the chain (Verify,
// Stats, Backup) needs none.
func (b *Badger) openKeys() error {
	id, err := readKeyID(b.cdb)
	if err != nil {
		return err
	}
	path := b.opts.KeyFile
	if path == "" { // in memory, no file given
		if id != "" {
			return fmt.Errorf("%w: the store has key %s and no key file was given", ErrKey, id)
		}
		b.keys = seal.Generate()
		return b.recordKeyID()
	}
	k, err := seal.Load(path)
	switch {
	case errors.Is(err, seal.ErrNoKeyFile) && id != "":
		if b.opts.ReadOnly {
			b.log.Warn().Str("key_file", path).Msg("key file missing: opened without it, so numbers and sealed data cannot be read")
			return nil
		}
		return fmt.Errorf("%w: %s does not exist, and the store was written with key %s; restore that key file (it is backed up apart from the data directory), or give its path", ErrKey, path, id)
	case errors.Is(err, seal.ErrNoKeyFile) && b.opts.ReadOnly:
		return nil // a store without a key opened to be read: nothing to create
	case errors.Is(err, seal.ErrNoKeyFile):
		if k, err = seal.Create(path); err != nil {
			return fmt.Errorf("store: creating the key file: %w", err)
		}
		b.log.Info().Str("key_file", path).Str("key_id", k.ID()).Msg("created the installation key file; back it up apart from the data directory")
	case err != nil:
		return fmt.Errorf("store: %w", err)
	}
	if id != "" && id != k.ID() {
		return fmt.Errorf("%w: %s has key %s, and the store was written with key %s; give the key file it was written with", ErrKey, path, k.ID(), id)
	}
	b.keys = k
	if id == "" && !b.opts.ReadOnly {
		return b.recordKeyID()
	}
	return nil
}

// recordKeyID writes the key's fingerprint under meta/key.
func (b *Badger) recordKeyID() error {
	err := b.cdb.Update(func(txn *badger.Txn) error { return txn.Set(keyKeyID, []byte(b.keys.ID())) })
	if err != nil {
		return fmt.Errorf("store: recording the key id: %w", err)
	}
	return nil
}

// readKeyID returns the fingerprint under meta/key, "" when there is none.
func readKeyID(db *badger.DB) (string, error) {
	var id string
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyKeyID)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		id = string(v)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: reading the key id: %w", err)
	}
	return id, nil
}
