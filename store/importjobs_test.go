package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Import jobs survive a reopen with every field, a save replaces the job
// of its id, the list is oldest first, only the latest MaxImportJobs are
// kept, and a job without an id is refused.
func TestImportJobsKeptAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	start := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	j := ImportJob{ID: "77dd217a361e0ad7", Status: "running", Cutoff: "2026-12-01", By: "compliance", RowsTotal: 4, StartedAt: start}
	if err := s.SaveImportJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	j.Status, j.RowsDone, j.EndedAt = "done", 4, start.Add(time.Second)
	j.Rows, j.Changed, j.Unchanged, j.Kept, j.Bad, j.HeldReleased, j.HeldDropped, j.FirstSeq, j.LastSeq = 4, 2, 0, 1, 1, 1, 0, 10, 11
	if err := s.SaveImportJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	earlier := ImportJob{ID: "0123456789abcdef", Status: "failed", DryRun: true, Cutoff: "2026-11-30", By: "night-shift",
		StartedAt: start.Add(-time.Hour), EndedAt: start.Add(-time.Hour + time.Minute), Error: "the store refused the write"}
	if err := s.SaveImportJob(ctx, earlier); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir})
	jobs, err := s.ImportJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0] != earlier || jobs[1] != j {
		t.Fatalf("after reopening:\n got %+v\nwant %+v", jobs, []ImportJob{earlier, j})
	}
	if got, ok, err := s.GetImportJob(ctx, j.ID); err != nil || !ok || got != j {
		t.Fatalf("GetImportJob(%s) = %+v, %v, %v; want %+v", j.ID, got, ok, err, j)
	}
	if _, ok, err := s.GetImportJob(ctx, "ffffffffffffffff"); err != nil || ok {
		t.Fatalf("GetImportJob of an unknown id: ok %v, %v", ok, err)
	}

	for i := range MaxImportJobs {
		if err := s.SaveImportJob(ctx, ImportJob{ID: fmt.Sprintf("job-%04d", i), Status: "done", StartedAt: start.Add(time.Duration(i+1) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err = s.ImportJobs(ctx)
	if err != nil || len(jobs) != MaxImportJobs || jobs[0].ID != "job-0000" || jobs[len(jobs)-1].ID != fmt.Sprintf("job-%04d", MaxImportJobs-1) {
		t.Fatalf("%d jobs kept (%v), from %s; want the latest %d", len(jobs), err, jobs[0].ID, MaxImportJobs)
	}
	if err := s.SaveImportJob(ctx, ImportJob{Status: "done"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a job without an id: %v; want ErrInvalid", err)
	}
}
