package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/store"
)

// retentionTable is each organization's retention, from the configuration
// (organizations[].retention, an account's for all its organizations). An
// organization the store knows and the configuration no longer lists keeps
// the defaults.
type retentionTable struct {
	proof, messageLog             map[string]time.Duration
	defaultProof, defaultMessages time.Duration
	longestMessages               time.Duration // for the log's status entries
}

func retentionOf(cfg *config.Config) *retentionTable {
	t := &retentionTable{
		proof:           map[string]time.Duration{},
		messageLog:      map[string]time.Duration{},
		defaultProof:    config.DefaultProofRetention,
		defaultMessages: time.Duration(cfg.Store.MessageLog.Retention),
	}
	t.longestMessages = t.defaultMessages
	for _, r := range cfg.ResolvedOrganizations() {
		t.proof[r.Name] = time.Duration(r.Retention.Proof)
		t.messageLog[r.Name] = time.Duration(r.Retention.MessageLog)
		t.longestMessages = max(t.longestMessages, time.Duration(r.Retention.MessageLog))
	}
	return t
}

// retention keeps the current table, replaced by a reload.
type retention struct {
	t atomic.Pointer[retentionTable]
}

func (r *retention) proofFor(org string) time.Duration {
	t := r.t.Load()
	if d, ok := t.proof[org]; ok {
		return d
	}
	return t.defaultProof
}

func (r *retention) messageLogFor(org string) time.Duration {
	t := r.t.Load()
	if d, ok := t.messageLog[org]; ok {
		return d
	}
	return t.defaultMessages
}

// sweepInterval is how often serve sweeps past-retention proof, and
// sweepDelay how long after the start it sweeps first.
const (
	sweepInterval = 24 * time.Hour
	sweepDelay    = time.Minute
)

// sweepRetention runs the store's retention sweep first after a while
// (serve: sweepDelay after the start) and then daily, until ctx ends, and
// logs what each erased (counts only).
func sweepRetention(ctx context.Context, s *store.Badger, r *retention, clock func() time.Time, log zerolog.Logger, first time.Duration) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		rep, err := s.SweepRetention(ctx, clock(), r.proofFor)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error().Err(err).Msg("retention sweep failed; it runs again in a day")
		case rep.Subjects > 0:
			log.Info().Int("subjects", rep.Subjects).Interface("scopes_by_organization", rep.ByOrg).
				Uint64("event", rep.Event).Dur("took", rep.Took).Msg("retention sweep erased the proof of handsets past their organization's retention")
		default:
			log.Debug().Dur("took", rep.Took).Msg("retention sweep: nothing past retention")
		}
		timer.Reset(sweepInterval)
	}
}
