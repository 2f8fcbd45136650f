package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/store"
)

// retentionYAML: acme (and its sub-organization) keep proof for 24h and
// message-log records for 2h; globex keeps the defaults.
const retentionYAML = `organizations:
  - name: acme
    system_ids: [acme]
    retention:
      proof: 24h
      message_log: 2h
  - name: acme-sub
    parent: acme
    sender_prefixes: ["1555"]
  - name: globex
    system_ids: [globex]
`

// TestRetentionFromConfig: the organizations' retention comes from the
// configuration (an account's for its sub-organizations, the defaults for
// an organization the file no longer lists), and the sweep serve runs
// erases by it.
func TestRetentionFromConfig(t *testing.T) {
	r := retentionFromYAML(t, retentionYAML)
	for org, want := range map[string]time.Duration{"acme": 24 * time.Hour, "acme-sub": 24 * time.Hour, "globex": config.DefaultProofRetention, "gone": config.DefaultProofRetention} {
		if got := r.proofFor(org); got != want {
			t.Errorf("proof retention of %s = %v, want %v", org, got, want)
		}
	}
	if got := r.messageLogFor("acme-sub"); got != 2*time.Hour {
		t.Errorf("message log retention of acme-sub = %v", got)
	}
	if got := r.t.Load().longestMessages; got != 720*time.Hour {
		t.Errorf("longest message log retention = %v", got)
	}

	s, err := store.OpenBadger(store.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	for _, org := range []string{"acme", "globex"} {
		if _, err := s.Apply(ctx, store.Change{Scope: store.OrgScope(org, "+15551230077"), Type: store.EventOptedIn, OccurredAt: t0,
			Method: store.MethodSMSKeyword, Actor: "handset"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Apply(ctx, store.Change{Scope: store.OrgScope("acme", "+15551230078"), Type: store.EventOptedIn, OccurredAt: t0,
		Method: store.MethodSMSKeyword, Actor: "handset"}); err != nil {
		t.Fatal(err)
	}
	// An import is running when the sweep is due: it waits, and sweeps once
	// the import has ended.
	var importing atomic.Bool
	importing.Store(true)
	var logged bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweepRetention(ctx, s, r, func() time.Time { return t0.Add(48 * time.Hour) }, zerolog.New(&logged),
			sweepSchedule{every: 24 * time.Hour, busy: importing.Load, waitStep: 10 * time.Millisecond, maxWait: time.Hour})
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := s.SubjectData(ctx, "+15551230078"); err != nil {
		t.Fatalf("the sweep ran while an import was running: %v", err)
	}
	importing.Store(false)
	waitErased(t, s, "+15551230078")
	cancel()
	<-done
	if n := strings.Count(logged.String(), "retention sweep waits for the consent import that is running"); n != 1 {
		t.Errorf("the wait logged %d times; want once:\n%s", n, logged.String())
	}
	if _, err := s.SubjectData(context.Background(), "+15551230077"); err != nil {
		t.Fatalf("the handset globex keeps for 5 years: %v", err)
	}
}

// retentionFromYAML is the retention serve would run with configuration
// text.
func retentionFromYAML(t *testing.T, text string) *retention {
	t.Helper()
	cfg, err := config.Parse([]byte(text), "optguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &retention{}
	r.t.Store(retentionOf(cfg))
	return r
}

// waitErased waits up to 10 s for the sweep to erase number's subject.
func waitErased(t *testing.T, s *store.Badger, number string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.SubjectData(context.Background(), number)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep did not erase %s past its retention: %v", number, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRetentionSweepWaitsForImportsOnlySoLong: imports that never end
// delay the sweep by maxWait, no more.
func TestRetentionSweepWaitsForImportsOnlySoLong(t *testing.T) {
	r := retentionFromYAML(t, retentionYAML) // acme keeps proof 24h
	s, err := store.OpenBadger(store.Options{Dir: filepath.Join(t.TempDir(), "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	if _, err := s.Apply(context.Background(), store.Change{Scope: store.OrgScope("acme", "+15551230079"), Type: store.EventOptedIn,
		OccurredAt: t0, Method: store.MethodSMSKeyword, Actor: "handset"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	started := time.Now()
	go func() {
		defer close(done)
		sweepRetention(ctx, s, r, func() time.Time { return t0.Add(48 * time.Hour) }, zerolog.Nop(),
			sweepSchedule{every: 24 * time.Hour, busy: func() bool { return true }, waitStep: 20 * time.Millisecond, maxWait: 200 * time.Millisecond})
	}()
	waitErased(t, s, "+15551230079")
	if took := time.Since(started); took < 200*time.Millisecond {
		t.Errorf("the sweep ran after %v, before its longest wait of 200ms", took)
	}
	cancel()
	<-done
}
