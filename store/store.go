package store

import (
	"context"
	"io"
	"time"
)

// Store is everything policy, the HTTP API and the CLI use. *Badger
// implements it; a PostgreSQL backend for several instances will implement
// it too, so nothing here mentions badger.
type Store interface {
	Consents
	Ledger
	Holds
	IDMap
	MessageLog
	Maintenance
	Learning
	Webhooks
	Privacy
	SenderDirectory
	ImportJobs
	// Accepting says whether the store takes new durable work (consent
	// changes, holds) now: nil, or an error wrapping ErrDiskFull while its
	// disk is below the reserve, so that callers answer with a temporary
	// error rather than start what they may not finish. An atomic load and
	// at most one statfs per 20 ms.
	Accepting() error
	// Close stops background work, waits for running calls and releases
	// the data directory. Idempotent.
	Close() error
}

// Privacy is what a person may ask of what the store holds about their
// number (subject.go, erase.go): to see it, and to have it erased.
type Privacy interface {
	// SubjectData gathers everything held about number (E.164); it fails
	// with ErrNotFound when nothing is.
	SubjectData(ctx context.Context, number string) (SubjectData, error)
	// EraseNumber erases the subject of number, recording method and
	// actor; ErrNotFound when it has none (never seen, or erased already).
	EraseNumber(ctx context.Context, number string, method Method, actor string) (ErasureReport, error)
}

// SenderDirectory keeps the names operators give their senders for
// {sender_name} (senders.go): not proof, so not in the ledger.
type SenderDirectory interface {
	// PutSender stores an entry, replacing its organization and sender's,
	// durably.
	PutSender(ctx context.Context, e SenderEntry) error
	// DeleteSender deletes one and returns it; ErrNotFound if none.
	DeleteSender(ctx context.Context, org, sender string) (SenderEntry, error)
	// Senders returns every entry.
	Senders(ctx context.Context) ([]SenderEntry, error)
}

// Learning keeps what optguard learns about its peers across restarts (an
// SMSC's message id form): not proof, so not in the ledger (learned.go).
type Learning interface {
	// SaveLearned stores value (at most 256 bytes) under key, durably.
	SaveLearned(ctx context.Context, key string, value []byte) error
	// LoadLearned returns what was saved under key; ok is false if nothing.
	LoadLearned(key string) (value []byte, ok bool, err error)
}

// Consents is the current consent state, derived from the ledger.
type Consents interface {
	// State is the MT hot path: from memory, zero allocations.
	State(s Scope) State
	// StateBytes is State with the sender and number as PDU bytes.
	StateBytes(org string, sender, number []byte) State
	// Lookup is State with mode and update time; false if no record.
	Lookup(s Scope) (Current, bool)
	// LookupBytes is Lookup with the sender and number as PDU bytes.
	LookupBytes(org string, sender, number []byte) (Current, bool)
	// Handset is the index's key for a number's E.164 digits (no '+'):
	// its pseudonym, made without allocating.
	Handset(digits []byte) Handset
	// StateHandset is the state of an organization scope, and whether it
	// has a record, with the handset as its Handset: the MT hot path.
	StateHandset(org string, h Handset) (State, bool)
	// ResolveOrg, Resolved and StateRef are StateHandset with the
	// organization resolved once and kept by the caller; Unrecorded says
	// an unresolved one still has no record.
	ResolveOrg(org string) OrgRef
	Resolved(r OrgRef) bool
	Unrecorded(r OrgRef) bool
	StateRef(r *OrgRef, h Handset) (State, bool)
	// Consent reads the full record from disk; ErrNotFound if none.
	Consent(ctx context.Context, s Scope) (Consent, error)
	// ListConsents pages through records for the reports and the API.
	ListConsents(ctx context.Context, f ConsentFilter) (ConsentPage, error)
}

// Ledger is the append-only, hash-chained consent event log.
type Ledger interface {
	// Apply appends one event, updates the consent record and index, and
	// releases or drops held messages, in one durable transaction.
	Apply(ctx context.Context, ch Change) (Applied, error)
	// Import appends many changes (consent list imports) in large durable
	// transactions.
	Import(ctx context.Context, changes []Change) (ImportReport, error)
	// Event reads one event by sequence number.
	Event(ctx context.Context, seq uint64) (Event, error)
	// Events streams events by sequence, time, organization or number.
	Events(ctx context.Context, f EventFilter, fn func(Event) error) error
	// Head returns the latest sequence number and hash.
	Head(ctx context.Context) (uint64, [32]byte, error)
}

// Holds is the durable queue of MTs waiting for consent, and the outbox of
// those that left it and still need the caller to act.
type Holds interface {
	// Hold stores a message durably; the scope must be unknown or pending.
	Hold(ctx context.Context, m HeldMessage) (HeldMessage, error)
	// Held lists a scope's queue, oldest first.
	Held(ctx context.Context, s Scope) ([]HeldMessage, error)
	// HeldCount counts a scope's queue without reading its messages.
	HeldCount(ctx context.Context, s Scope) (int, error)
	// GetHeld reads one message, queued or in the outbox.
	GetHeld(ctx context.Context, id string) (HeldMessage, error)
	// Expired lists expired queued messages without changing anything.
	Expired(ctx context.Context, now time.Time, limit int) ([]HeldMessage, error)
	// ExpireHeld moves expired messages to the outbox, atomically.
	ExpireHeld(ctx context.Context, now time.Time, limit int) ([]HeldMessage, error)
	// RemoveHeld deletes queued messages outright (cancel_sm).
	RemoveHeld(ctx context.Context, ids ...string) ([]HeldMessage, error)
	// HeldSummary counts held messages and says when the first to expire
	// was held, for gauges.
	HeldSummary(ctx context.Context) (int, time.Time, error)
	// Outbox lists settled messages not acknowledged yet, by id;
	// OutboxAfter pages on from an id.
	Outbox(ctx context.Context, limit int) ([]HeldMessage, error)
	OutboxAfter(ctx context.Context, after string, limit int) ([]HeldMessage, error)
	// Enqueue puts a message optguard originates into the outbox, for
	// when no bind can carry it yet.
	Enqueue(ctx context.Context, m HeldMessage) (HeldMessage, error)
	// Ack forgets settled messages once acted on.
	Ack(ctx context.Context, ids ...string) (int, error)
}

// IDMap maps optguard message ids to SMSC message ids and back, with a TTL.
type IDMap interface {
	MapMessageID(ctx context.Context, ourID, smscID string) error
	// MapMessageIDs maps several forms of one SMSC id in one write.
	MapMessageIDs(ctx context.Context, ourID string, smscIDs ...string) error
	SMSCMessageID(ctx context.Context, ourID string) (string, error)
	OptguardMessageID(ctx context.Context, smscID string) (string, error)
	// OptguardMessageIDBytes is OptguardMessageID from memory, without
	// allocating, for the receipt path.
	OptguardMessageIDBytes(smscID []byte) (string, bool)
	// NoteMessageID makes a mapping visible to the receipt path at once,
	// before MapMessageID has written it.
	NoteMessageID(ourID, smscID string)
}

// MessageLog keeps the status history of MTs, best effort and off the
// relay path: Log and LogStatus never block.
type MessageLog interface {
	Log(r Record)
	LogStatus(id string, s MsgStatus, at time.Time)
	Message(ctx context.Context, id string) (Message, error)
	Messages(ctx context.Context, f MessageFilter) (MessagePage, error)
}

// Maintenance is for operators and the CLI.
type Maintenance interface {
	// Verify checks the whole hash chain.
	Verify(ctx context.Context) (VerifyReport, error)
	// CheckIndex compares the consent records with the ledger.
	CheckIndex(ctx context.Context) (RebuildReport, error)
	// Rebuild recomputes the consent records from the ledger.
	Rebuild(ctx context.Context) (RebuildReport, error)
	// Backup writes both databases to w; Restore loads such a stream into
	// an empty store.
	Backup(ctx context.Context, w io.Writer) error
	Restore(ctx context.Context, r io.Reader) error
	Stats(ctx context.Context) (Stats, error)
	// Gauges returns what can be read without touching the disk, for
	// metrics scraped every few seconds.
	Gauges() Gauges
}
