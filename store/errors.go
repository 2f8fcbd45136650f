package store

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound: no such event, consent record, held message or id.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: an argument failed validation; the wrapping error says which.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrInvalidNumber: a number is not in E.164 form (+ and 7 to 15 digits,
	// possible for its country).
	ErrInvalidNumber = errors.New("store: number is not E.164")
	// ErrHoldQueueFull: the scope already holds Options.HoldMaxPerScope messages.
	ErrHoldQueueFull = errors.New("store: hold queue full")
	// ErrDuplicateID: a held message with this id already exists.
	ErrDuplicateID = errors.New("store: duplicate message id")
	// ErrStateChanged: Hold found the scope opted in or out; the caller must
	// decide again (see StateChangedError).
	ErrStateChanged = errors.New("store: consent state changed")
	// ErrBadCursor: a paging cursor was not produced by this query.
	ErrBadCursor = errors.New("store: bad cursor")
	// ErrBrokenChain: Verify found an event that does not chain (see ChainError).
	ErrBrokenChain = errors.New("store: ledger chain broken")
	// ErrFormat: the data directory was written by an incompatible version.
	ErrFormat = errors.New("store: unsupported data format")
	// ErrNotEmpty: Restore refuses to load into a store that has data.
	ErrNotEmpty = errors.New("store: not empty")
	// ErrBusy: a transaction kept conflicting with concurrent writers and
	// was given up after bounded retries.
	ErrBusy = errors.New("store: too much contention, gave up retrying")
	// ErrBackupFormat: a backup stream is not one written by Backup.
	ErrBackupFormat = errors.New("store: not an optguard store backup")
	// ErrDiskFull: the data directory's filesystem has too little free
	// space for what was asked (see DiskFullError).
	ErrDiskFull = errors.New("store: disk full")
	// ErrReadOnly: the store was opened with Options.ReadOnly.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrNeedsRecovery: a read-only open found write-ahead logs a previous
	// run did not write out (it was killed, or closed on a full disk); only
	// a read-write open can replay them.
	ErrNeedsRecovery = errors.New("store: not closed cleanly; a read-write open must replay its write-ahead logs first")
	// ErrKey: the installation key file that the store was written with is
	// missing, or another key file was given (see Options.KeyFile).
	ErrKey = errors.New("store: wrong or missing key file")
)

// ChainError names the first event at which the ledger's hash chain breaks.
type ChainError struct {
	Seq    uint64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("store: ledger chain broken at event %d: %s", e.Seq, e.Reason)
}

// Is makes errors.Is(err, ErrBrokenChain) true.
func (e *ChainError) Is(target error) bool { return target == ErrBrokenChain }

// StateChangedError is returned by Hold when the scope is no longer waiting
// for consent: State is what it is now.
type StateChangedError struct {
	Scope Scope
	State State
}

func (e *StateChangedError) Error() string {
	return fmt.Sprintf("store: %s is %s, not holdable", e.Scope, e.State)
}

// Is makes errors.Is(err, ErrStateChanged) true.
func (e *StateChangedError) Is(target error) bool { return target == ErrStateChanged }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
