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

// sweepSchedule says when serve sweeps past-retention proof.
type sweepSchedule struct {
	first time.Duration // after the start
	every time.Duration // then
	// busy reports a consent import running (policy.Engine.ImportsRunning);
	// nil: never. A due sweep waits for it, looking again each waitStep,
	// for at most maxWait, then sweeps anyway: both read and write the
	// whole store, and each would slow the other.
	busy              func() bool
	waitStep, maxWait time.Duration
}

// serveSweeps is serve's schedule: a minute after the start, then daily.
func serveSweeps(busy func() bool) sweepSchedule {
	return sweepSchedule{first: time.Minute, every: 24 * time.Hour, busy: busy, waitStep: time.Minute, maxWait: time.Hour}
}

// sweepRetention runs the store's retention sweep on schedule sc until ctx
// ends, and logs what each erased (counts only).
func sweepRetention(ctx context.Context, s *store.Badger, r *retention, clock func() time.Time, log zerolog.Logger, sc sweepSchedule) {
	timer := time.NewTimer(sc.first)
	defer timer.Stop()
	var waited time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if sc.busy != nil && waited < sc.maxWait && sc.busy() {
			if waited == 0 {
				log.Info().Dur("longest_wait", sc.maxWait).Msg("retention sweep waits for the consent import that is running")
			}
			waited += sc.waitStep
			timer.Reset(sc.waitStep)
			continue
		}
		waited = 0
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
		timer.Reset(sc.every)
	}
}
