package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SubjectData is everything the store holds about one number, opened: the
// data a person may ask for (subject access). An erased number has no
// subject: only its suppression entries remain, which say no more than
// that it opted out.
type SubjectData struct {
	Number   string
	Subject  SubjectID // zero when the number has no subject
	Created  time.Time // when the subject was made
	Consents []Consent // per scope, suppression entries included
	Events   []Event   // every event of the subject, oldest first
	Held     []HeldMessage
	Messages []Message
}

// SubjectData gathers what the store holds about number (E.164). It fails
// with ErrNotFound when it holds nothing.
func (b *Badger) SubjectData(ctx context.Context, number string) (SubjectData, error) {
	d := SubjectData{Number: number}
	if err := ValidateNumber(number); err != nil {
		return d, fmt.Errorf("subject data: %w", err)
	}
	if b.keys == nil {
		return d, fmt.Errorf("subject data: %w", errNoKeys)
	}
	for f := (ConsentFilter{NumberPrefix: number, Limit: maxPage}); ; {
		page, err := b.ListConsents(ctx, f)
		if err != nil {
			return d, fmt.Errorf("subject data: %w", err)
		}
		d.Consents = append(d.Consents, page.Items...)
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	err := b.Events(ctx, EventFilter{Number: number}, func(ev Event) error {
		d.Events = append(d.Events, ev)
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("subject data: %w", err)
	}
	if d.Subject, d.Created, d.Held, err = b.subjectHolds(ctx, number); err != nil {
		return d, fmt.Errorf("subject data: %w", err)
	}
	for f := (MessageFilter{Number: number, Limit: maxPage}); ; {
		page, err := b.Messages(ctx, f)
		if err != nil {
			return d, fmt.Errorf("subject data: %w", err)
		}
		d.Messages = append(d.Messages, page.Items...)
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	if d.Subject.IsZero() && len(d.Consents) == 0 {
		return d, fmt.Errorf("subject data: nothing is held about the number: %w", ErrNotFound)
	}
	return d, nil
}

// subjectHolds returns the subject of number, when it was made, and its
// held messages, queued and in the outbox.
func (b *Badger) subjectHolds(ctx context.Context, number string) (SubjectID, time.Time, []HeldMessage, error) {
	if err := b.enter(); err != nil {
		return SubjectID{}, time.Time{}, nil, err
	}
	defer b.leave()
	var id SubjectID
	var created time.Time
	var held []HeldMessage
	err := b.cdb.View(func(txn *badger.Txn) error {
		s, ok, err := b.subjectOf(txn, b.pseudonym(number))
		if err != nil || !ok {
			return err
		}
		id = s.id
		item, err := txn.Get(subjectRecKey(s.id))
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error {
			_, _, _, created, err = decodeSubject(v)
			return err
		}); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixHoldMsg})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var subj SubjectID
			if err := it.Item().Value(func(v []byte) error {
				_, subj, _, _, err = decodeHeld(v)
				return err
			}); err != nil {
				return err
			}
			if subj != s.id {
				continue
			}
			m, _, err := b.getHeld(txn, string(it.Item().Key()[len(prefixHoldMsg):]))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			held = append(held, m)
		}
		return nil
	})
	return id, created, held, err
}

// WriteJSON writes d as one JSON document with stable field names (the
// README's "Subject access" lists them); binary values are hex.
func (d SubjectData) WriteJSON(w io.Writer) error {
	type held struct {
		ID               string    `json:"id"`
		Organization     string    `json:"organization"`
		Sender           string    `json:"sender,omitempty"`
		SystemID         string    `json:"system_id"`
		HeldAt           time.Time `json:"held_at"`
		ExpiresAt        time.Time `json:"expires_at"`
		Disposition      string    `json:"disposition"`
		ReceiptRequested bool      `json:"receipt_requested"`
		PDUHex           string    `json:"pdu_hex"`
	}
	out := struct {
		Number         string        `json:"number"`
		Subject        string        `json:"subject,omitempty"`
		SubjectCreated *time.Time    `json:"subject_created,omitempty"`
		Consents       []ConsentView `json:"consents"`
		Events         []EventView   `json:"events"`
		Held           []held        `json:"held_messages"`
		Messages       []MessageView `json:"messages"`
	}{Number: d.Number, SubjectCreated: optTime(d.Created), Consents: []ConsentView{}, Events: []EventView{}, Held: []held{}, Messages: []MessageView{}}
	if !d.Subject.IsZero() {
		out.Subject = d.Subject.String()
	}
	for _, c := range d.Consents {
		out.Consents = append(out.Consents, ViewConsent(c))
	}
	for _, ev := range d.Events {
		out.Events = append(out.Events, ViewEvent(ev))
	}
	for _, m := range d.Held {
		out.Held = append(out.Held, held{ID: m.ID, Organization: m.Scope.Org, Sender: m.Scope.Sender, SystemID: m.SystemID,
			HeldAt: m.HeldAt, ExpiresAt: m.ExpiresAt, Disposition: m.Disposition.String(), ReceiptRequested: m.ReceiptRequested,
			PDUHex: hex.EncodeToString(m.PDU)})
	}
	for _, m := range d.Messages {
		out.Messages = append(out.Messages, ViewMessage(m))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
