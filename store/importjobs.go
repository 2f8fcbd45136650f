package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// The operator API's record of consent list imports: who imported a list,
// when, as of which cutoff, and what it did, kept across restarts for the
// compliance officer who asks. The events an import wrote are in the
// ledger; a job keeps only their counts and sequence range, never a row
// (the numbers are the ledger's, sealed), so an erasure has nothing here
// to erase.

var prefixImportJob = []byte("ij/") // ij/ id → import job (encodeImportJob)

// MaxImportJobs is how many jobs SaveImportJob keeps: the oldest beyond
// it are deleted.
const MaxImportJobs = 1000

const importJobEncV1 = 1

// ImportJob is one import, running or ended.
type ImportJob struct {
	ID        string // unique; at most 64 bytes
	Status    string // running, done, failed, or interrupted (optguard stopped during it)
	DryRun    bool
	Cutoff    string // YYYY-MM-DD
	By        string // the API token's name
	RowsTotal int
	RowsDone  int
	StartedAt time.Time
	EndedAt   time.Time // zero while it runs
	Error     string    // why it failed

	// What it did (or, for a dry run, would do), as the report counts it.
	Rows, Changed, Unchanged, Kept, Bad int
	HeldReleased, HeldDropped           int
	FirstSeq, LastSeq                   uint64
}

// ImportJobs is the operator API's record of imports.
type ImportJobs interface {
	// SaveImportJob writes j (replacing the job of the same id), durably,
	// and deletes the oldest jobs beyond MaxImportJobs.
	SaveImportJob(ctx context.Context, j ImportJob) error
	// ImportJobs lists the jobs kept, oldest first.
	ImportJobs(ctx context.Context) ([]ImportJob, error)
	// GetImportJob reads one job; ok is false when none has that id.
	GetImportJob(ctx context.Context, id string) (j ImportJob, ok bool, err error)
}

// SaveImportJob implements ImportJobs.
func (b *Badger) SaveImportJob(ctx context.Context, j ImportJob) error {
	if err := checkName("import job id", j.ID, maxIDLen, true); err != nil {
		return fmt.Errorf("saving import job: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("saving import job %s: %w", j.ID, err)
	}
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.bestEffort(); err != nil {
		return fmt.Errorf("saving import job %s: %w", j.ID, err)
	}
	err := b.retry(func() error {
		txn := b.cdb.NewTransaction(true)
		defer txn.Discard()
		if err := txn.Set(importJobKey(j.ID), encodeImportJob(&j)); err != nil {
			return err
		}
		jobs, err := importJobsIn(txn)
		if err != nil {
			return err
		}
		for _, old := range jobs[:max(len(jobs)-MaxImportJobs, 0)] {
			if err := txn.Delete(importJobKey(old.ID)); err != nil {
				return err
			}
		}
		return txn.Commit()
	})
	if err != nil {
		return fmt.Errorf("saving import job %s: %w", j.ID, err)
	}
	return nil
}

// ImportJobs implements ImportJobs.
func (b *Badger) ImportJobs(ctx context.Context) ([]ImportJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var jobs []ImportJob
	err := b.cdb.View(func(txn *badger.Txn) error {
		var err error
		jobs, err = importJobsIn(txn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading import jobs: %w", err)
	}
	return jobs, nil
}

// GetImportJob implements ImportJobs.
func (b *Badger) GetImportJob(ctx context.Context, id string) (ImportJob, bool, error) {
	if err := ctx.Err(); err != nil {
		return ImportJob{}, false, err
	}
	if err := b.enter(); err != nil {
		return ImportJob{}, false, err
	}
	defer b.leave()
	var j ImportJob
	found := false
	err := b.cdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(importJobKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error {
			j, err = decodeImportJob(v)
			return err
		})
	})
	if err != nil {
		return ImportJob{}, false, fmt.Errorf("reading import job %q: %w", id, err)
	}
	return j, found, nil
}

// importJobsIn reads every job in txn (the one being saved included),
// oldest first.
func importJobsIn(txn *badger.Txn) ([]ImportJob, error) {
	var jobs []ImportJob
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixImportJob, PrefetchValues: true, PrefetchSize: 100})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var j ImportJob
		err := it.Item().Value(func(v []byte) error {
			var err error
			j, err = decodeImportJob(v)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("import job %q: %w", it.Item().Key()[len(prefixImportJob):], err)
		}
		jobs = append(jobs, j)
	}
	slices.SortStableFunc(jobs, func(a, b ImportJob) int { return a.StartedAt.Compare(b.StartedAt) })
	return jobs, nil
}

func importJobKey(id string) []byte { return append(cat(prefixImportJob), id...) }

// Import job v1: version id status dryrun cutoff by rowstotal rowsdone
// started ended error rows changed unchanged kept bad heldreleased
// helddropped firstseq lastseq.
func encodeImportJob(j *ImportJob) []byte {
	e := enc{b: make([]byte, 0, 96+len(j.ID)+len(j.By)+len(j.Error))}
	e.byte(importJobEncV1)
	e.str(j.ID)
	e.str(j.Status)
	e.bool(j.DryRun)
	e.str(j.Cutoff)
	e.str(j.By)
	for _, n := range []int{j.RowsTotal, j.RowsDone} {
		e.uvarint(uint64(max(n, 0)))
	}
	e.time(j.StartedAt)
	e.time(j.EndedAt)
	e.str(j.Error)
	for _, n := range []int{j.Rows, j.Changed, j.Unchanged, j.Kept, j.Bad, j.HeldReleased, j.HeldDropped} {
		e.uvarint(uint64(max(n, 0)))
	}
	e.uvarint(j.FirstSeq)
	e.uvarint(j.LastSeq)
	return e.b
}

func decodeImportJob(v []byte) (ImportJob, error) {
	d := dec{b: v}
	if ver := d.byte(); d.err == nil && ver != importJobEncV1 {
		return ImportJob{}, fmt.Errorf("decoding import job: version %d", ver)
	}
	j := ImportJob{ID: d.str(), Status: d.str(), DryRun: d.bool(), Cutoff: d.str(), By: d.str()}
	j.RowsTotal, j.RowsDone = int(d.uvarint()), int(d.uvarint())
	j.StartedAt, j.EndedAt = d.time(), d.time()
	j.Error = d.str()
	for _, n := range []*int{&j.Rows, &j.Changed, &j.Unchanged, &j.Kept, &j.Bad, &j.HeldReleased, &j.HeldDropped} {
		*n = int(d.uvarint())
	}
	j.FirstSeq, j.LastSeq = d.uvarint(), d.uvarint()
	return j, d.done("import job")
}
