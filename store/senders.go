package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// The sender directory: the names operators give their senders (an
// employee's line, a short code, an alphanumeric sender) for the templates'
// {sender_name}, per organization, each with who set it and when. It is not
// proof, so it is not in the ledger: the ledger records which template was
// sent, and the directory says what the name is now. Its entries live in
// the consent database, beside what the policy learns:
//
//	sd/ lp(org) sender    entry (encodeSender)

var prefixSender = []byte("sd/")

// SenderEntry is one name of the sender directory.
type SenderEntry struct {
	Org       string // the organization (main or sub) it applies to
	Sender    string // a phone number's E.164 digits without '+', or an alphanumeric sender as written
	Name      string // {sender_name}
	ChangedBy string // the actor who set it
	ChangedAt time.Time
}

// maxSenderName bounds a directory name in bytes; the policy's own limit
// (in characters) is the one callers meet.
const maxSenderName = 256

func (e *SenderEntry) validate() error {
	if err := checkName("organization", e.Org, maxOrgLen, true); err != nil {
		return err
	}
	if err := checkName("sender", e.Sender, maxSenderLen, true); err != nil {
		return err
	}
	if err := checkName("sender name", e.Name, maxSenderName, true); err != nil {
		return err
	}
	if err := checkName("actor", e.ChangedBy, maxActorLen, true); err != nil {
		return err
	}
	if e.ChangedAt.IsZero() {
		return invalidf("a sender entry needs the time it was changed")
	}
	return nil
}

func senderKey(org, sender string) []byte {
	return append(appendLP(cat(prefixSender), []byte(org)), sender...)
}

const senderEncV1 = 1

// Sender entry v1: version name changedby changedat.
func encodeSender(e *SenderEntry) []byte {
	en := enc{b: make([]byte, 0, 16+len(e.Name)+len(e.ChangedBy))}
	en.byte(senderEncV1)
	en.str(e.Name)
	en.str(e.ChangedBy)
	en.time(e.ChangedAt)
	return en.b
}

func decodeSender(key, v []byte) (SenderEntry, error) {
	var e SenderEntry
	rest := key[len(prefixSender):]
	d := dec{b: rest}
	e.Org = d.str()
	if d.err != nil {
		return e, fmt.Errorf("decoding sender entry key: %w", d.err)
	}
	e.Sender = string(d.b)
	d = dec{b: v}
	if ver := d.byte(); ver != senderEncV1 {
		return e, fmt.Errorf("decoding sender entry: unknown encoding version %d", ver)
	}
	e.Name = d.str()
	e.ChangedBy = d.str()
	e.ChangedAt = d.time()
	return e, d.done("sender entry")
}

// PutSender stores e, replacing the entry of its organization and sender,
// durably.
func (b *Badger) PutSender(ctx context.Context, e SenderEntry) error {
	e.ChangedAt = normTime(e.ChangedAt)
	if err := e.validate(); err != nil {
		return fmt.Errorf("saving a sender entry: %w", err)
	}
	return b.senderTxn(ctx, func(txn *badger.Txn) error {
		return txn.Set(senderKey(e.Org, e.Sender), encodeSender(&e))
	})
}

// DeleteSender deletes the entry of org's sender and returns it; it fails
// with ErrNotFound when there is none.
func (b *Badger) DeleteSender(ctx context.Context, org, sender string) (SenderEntry, error) {
	var gone SenderEntry
	err := b.senderTxn(ctx, func(txn *badger.Txn) error {
		k := senderKey(org, sender)
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error {
			gone, err = decodeSender(k, v)
			return err
		}); err != nil {
			return err
		}
		return txn.Delete(k)
	})
	return gone, err
}

// senderTxn runs fn in a write transaction of the consent database and
// commits it.
func (b *Badger) senderTxn(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.writable(); err != nil {
		return fmt.Errorf("sender directory: %w", err)
	}
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		if err := fn(txn); err != nil {
			return err
		}
		return txn.Commit()
	})
	if err != nil {
		return fmt.Errorf("sender directory: %w", err)
	}
	return nil
}

// Senders returns every entry of the sender directory, in key order.
func (b *Badger) Senders(ctx context.Context) ([]SenderEntry, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var out []SenderEntry
	err := b.cdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixSender})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			if err := item.Value(func(v []byte) error {
				e, err := decodeSender(item.Key(), v)
				out = append(out, e)
				return err
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the sender directory: %w", err)
	}
	return out, nil
}
