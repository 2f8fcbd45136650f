package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// TestImportAcrossBatches imports a list longer than several of the
// importer's batches, which it writes while it decides the next: every
// row is written once and in file order (each number's event comes after
// the previous line's), a number repeated in a later batch is refused
// with the line it was first on, progress only grows and ends at the
// total, and the dry run of the same list counts the same and writes
// nothing.
func TestImportAcrossBatches(t *testing.T) {
	const rows = 21_000 // three batches, the last short
	st, eng := newImportEngine(t, store.Options{InMemory: true})
	cutoff := time.Now().UTC().Truncate(24 * time.Hour)
	const dupLine = 20_002 // repeats line 2's number, two batches later
	list := func() func() (policy.ImportRow, error) {
		next := importRows(0, rows, cutoff)
		return func() (policy.ImportRow, error) {
			row, err := next()
			if row.Line == dupLine {
				row.Number = strings.Replace(handsetNumber(0), "+1", "+1 ", 1)
			}
			return row, err
		}
	}

	var progress []int
	dry, err := eng.Import(context.Background(), list(), policy.ImportOptions{Cutoff: cutoff, Actor: "bench", DryRun: true})
	if err != nil || dry.Changed != rows-1 || dry.Bad != 1 || dry.FirstSeq != 0 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if seq, _, _ := st.Head(context.Background()); seq != 0 {
		t.Fatalf("the dry run wrote up to seq %d", seq)
	}
	rep, err := eng.Import(context.Background(), list(), policy.ImportOptions{Cutoff: cutoff, Actor: "bench", MaxLines: rows,
		Progress: func(done int) { progress = append(progress, done) }})
	if err != nil || rep.Rows != rows || rep.Changed != rows-1 || rep.Bad != 1 || rep.FirstSeq != 1 || rep.LastSeq != rows-1 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if len(rep.Lines) != rows || rep.Truncated {
		t.Fatalf("%d lines reported (truncated %v), want all %d", len(rep.Lines), rep.Truncated, rows)
	}
	if bad := rep.Lines[dupLine-2]; bad.Line != dupLine || bad.Outcome != policy.ImportBad || bad.Reason != "the number is already on line 2" {
		t.Errorf("the repeated number: %+v", bad)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Fatalf("progress went back: %v", progress)
		}
	}
	if len(progress) < 3 || progress[len(progress)-1] != rows {
		t.Errorf("progress %v, want several steps ending at %d", progress, rows)
	}
	var last uint64
	for i := range rows {
		if i == dupLine-2 {
			continue // the repeated line's handset was never imported
		}
		c, err := st.Consent(context.Background(), store.Scope{Org: verdictConsent, Number: handsetNumber(i)})
		if err != nil || c.State != store.StateOptedIn || c.LastSeq <= last {
			t.Fatalf("line %d: %+v, %v; the line before had seq %d", i+2, c, err, last)
		}
		last = c.LastSeq
	}
	again, err := eng.Import(context.Background(), list(), policy.ImportOptions{Cutoff: cutoff, Actor: "bench"})
	if err != nil || again.Unchanged != rows-1 || again.Changed != 0 {
		t.Errorf("the same list again: %+v, %v", again, err)
	}
}

// TestImportStopsWithItsContext: an import whose context ends stops
// between rows with the context's error, after the batch being written
// has been accounted for.
func TestImportStopsWithItsContext(t *testing.T) {
	st, eng := newImportEngine(t, store.Options{InMemory: true})
	cutoff := time.Now().UTC().Truncate(24 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	next := importRows(0, 50_000, cutoff)
	running := -1
	rep, err := eng.Import(ctx, func() (policy.ImportRow, error) {
		row, err := next()
		if row.Line == 15_000 {
			running = eng.ImportsRunning()
			cancel()
		}
		return row, err
	}, policy.ImportOptions{Cutoff: cutoff, Actor: "bench"})
	if err != context.Canceled || rep.Rows >= 50_000 {
		t.Fatalf("%+v, %v", rep, err)
	}
	// ImportsRunning counts the import while it reads, and not once it
	// has stopped.
	if running != 1 || eng.ImportsRunning() != 0 {
		t.Errorf("ImportsRunning %d during the import and %d after it; want 1 and 0", running, eng.ImportsRunning())
	}
	seq, _, err := st.Head(context.Background())
	if err != nil || seq != rep.LastSeq {
		t.Errorf("the ledger ends at %d (%v), the report at %d", seq, err, rep.LastSeq)
	}
}
