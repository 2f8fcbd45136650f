package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/optguard/optguard/store"
)

// BenchmarkNumberLookup is GET /api/v1/numbers/{number} as the handler
// answers it (the token checked, the number read in the caller's
// organization, its records listed from the store with their latest
// events, the JSON written), without the network: what a lookup costs
// the process beside the relay. The store holds lookupHandsets handsets,
// each with one record; the lookups walk them in turn.
func BenchmarkNumberLookup(b *testing.B) {
	const lookupHandsets = 10_000
	e := newEnv(b)
	changes := make([]store.Change, lookupHandsets)
	for i := range changes {
		changes[i] = store.Change{Scope: store.OrgScope("acme", lookupNumber(i)), Type: store.EventStateImported, State: store.StateOptedIn,
			Mode: store.ModeConsent, OccurredAt: e.clk.now(), Method: store.MethodImport, Actor: "admin", Holds: store.KeepHeld}
	}
	if _, err := e.st.Import(context.Background(), changes); err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, lookupHandsets)
	for i := range reqs {
		reqs[i], _ = http.NewRequest("GET", "/api/v1/numbers/"+lookupNumber(i), nil)
		reqs[i].Header.Set("Authorization", "Bearer auditor")
		reqs[i].RemoteAddr = "127.0.0.1:1234"
	}
	w := &statusWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	start := time.Now()
	for b.Loop() {
		w.status = 0
		clear(w.h)
		e.api.ServeHTTP(w, reqs[i%lookupHandsets])
		if w.status != http.StatusOK {
			b.Fatalf("%s: %d", reqs[i%lookupHandsets].URL.Path, w.status)
		}
		i++
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "lookups/s")
}

func lookupNumber(i int) string { return fmt.Sprintf("+1555300%04d", i) }

// statusWriter keeps a response's status and discards its body.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
