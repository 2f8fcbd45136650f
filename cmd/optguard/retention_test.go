package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/store"
)

// TestRetentionFromConfig: the organizations' retention comes from the
// configuration (an account's for its sub-organizations, the defaults for
// an organization the file no longer lists), and the sweep serve runs
// erases by it.
func TestRetentionFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`organizations:
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
`), "optguard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var r retention
	r.t.Store(retentionOf(cfg))
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweepRetention(ctx, s, &r, func() time.Time { return t0.Add(48 * time.Hour) }, zerolog.Nop(), 0)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.SubjectData(ctx, "+15551230078")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep did not erase acme's handset past 24h: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := s.SubjectData(context.Background(), "+15551230077"); err != nil {
		t.Fatalf("the handset globex keeps for 5 years: %v", err)
	}
}
