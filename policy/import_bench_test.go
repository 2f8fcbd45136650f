package policy_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// BenchmarkImport is Engine.Import against a real badger store on disk
// (synced, as serve opens it): each op imports importBenchRows numbers the
// store has never seen, opted in as of the cutoff with a consent type and
// a date, as a consent list's rows arrive from the operator API's CSV.
// rows/s is the figure; ns/op is per batch of rows.
func BenchmarkImport(b *testing.B) {
	const importBenchRows = 10_000
	_, eng := newImportEngine(b, store.Options{Dir: b.TempDir()})
	cutoff := time.Now().UTC().Truncate(24 * time.Hour)
	first := 0
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		next := importRows(first, importBenchRows, cutoff)
		rep, err := eng.Import(context.Background(), next, policy.ImportOptions{Cutoff: cutoff, Actor: "bench"})
		if err != nil || rep.Changed != importBenchRows {
			b.Fatalf("rows %d..: changed %d of %d: %v", first, rep.Changed, importBenchRows, err)
		}
		first += importBenchRows
	}
	b.ReportMetric(float64(first)/time.Since(start).Seconds(), "rows/s")
}

// newImportEngine is an engine with one consent-mode organization,
// verdictConsent, over a store opened with o; both close with tb.
func newImportEngine(tb testing.TB, o store.Options) (*store.Badger, *policy.Engine) {
	tb.Helper()
	o.Logger = zerolog.Nop()
	st, err := store.OpenBadger(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	eng, err := policy.New(policy.Options{
		Store: st, Transport: nopTransport{}, Logger: zerolog.Nop(),
		Organizations: []policy.Organization{{Name: verdictConsent, SystemIDs: []string{verdictConsent}, Mode: policy.ModeConsent}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close(context.Background()) })
	return st, eng
}

// importRows are n rows from handset first on, as the API's CSV reader
// makes them: the number as written in the file, the organization, a
// consent type and a date before the cutoff.
func importRows(first, n int, cutoff time.Time) func() (policy.ImportRow, error) {
	i := 0
	return func() (policy.ImportRow, error) {
		if i == n {
			return policy.ImportRow{}, io.EOF
		}
		k := first + i
		i++
		return policy.ImportRow{
			Line: i + 1, Org: verdictConsent, Number: handsetNumber(k),
			ConsentType: string(policy.ConsentTypes[k%len(policy.ConsentTypes)]),
			Date:        cutoff.AddDate(0, 0, -(k % 365)).Format(time.DateOnly),
		}, nil
	}
}
