package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy/exports"
	"github.com/optguard/optguard/store"
)

// dailyFile writes the daily opt-out file (exports.opt_outs, seed 004's
// nightly file): each day at the configured time, the previous day's file
// into the directory. One goroutine, which serve stops before the store.
type dailyFile struct {
	dir          string
	hour, minute int
	loc          *time.Location
	st           store.Ledger
	clock        func() time.Time
	log          zerolog.Logger
	nap          time.Duration // the longest it sleeps without reading the clock

	stop context.CancelFunc
	done chan struct{}
}

// Unless a test asks for less, the schedule reads the clock at least once
// a minute (so that a clock set forward is noticed soon), and a file that
// could not be written is tried again five minutes on.
const (
	dailyFileNap   = time.Minute
	dailyFileRetry = 5 * time.Minute
)

// startDailyFile starts writing the daily file when exports.opt_outs.dir
// is set; a directory optguard cannot write to stops the start.
func (p *proxy) startDailyFile(clock func() time.Time, nap time.Duration) error {
	c := p.cfg.Exports.OptOuts
	if c.Dir == "" {
		return nil
	}
	loc, err := c.Location()
	if err != nil {
		return fmt.Errorf("exports.opt_outs.time_zone: %w", err)
	}
	h, m, err := c.At()
	if err != nil {
		return fmt.Errorf("exports.opt_outs.time: %w", err)
	}
	if err := writable(c.Dir); err != nil {
		return fmt.Errorf("exports.opt_outs.dir %s: %w", c.Dir, err)
	}
	if nap <= 0 {
		nap = dailyFileNap
	}
	ctx, stop := context.WithCancel(context.Background())
	d := &dailyFile{dir: c.Dir, hour: h, minute: m, loc: loc, st: p.store, clock: clock, nap: nap,
		log: p.log.With().Str("component", "opt-out file").Logger(), stop: stop, done: make(chan struct{})}
	p.daily = d
	go d.run(ctx)
	p.log.Info().Str("dir", c.Dir).Str("time", c.Time).Str("time_zone", loc.String()).Msg("daily opt-out file: the previous day's is written each day at this time")
	return nil
}

// stopDailyFile stops the goroutine and waits for it: a file being
// written is given up, and its temporary file removed.
func (p *proxy) stopDailyFile() {
	if p.daily != nil {
		p.daily.stop()
		<-p.daily.done
	}
}

// writable checks that a file can be created in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".optguard-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// dueAt is when day's file is due: the configured time on the day after.
func (d *dailyFile) dueAt(day exports.Day) time.Time { return day.Next().At(d.hour, d.minute) }

// latestDue is the last day whose file was due at or before now.
func (d *dailyFile) latestDue(now time.Time) exports.Day {
	day := exports.DayOf(now, d.loc).Prev()
	if d.dueAt(day).After(now) {
		day = day.Prev()
	}
	return day
}

// run writes each day's file when it is due, until ctx ends. At start it
// writes the latest due day's file if the directory has none (optguard
// was down when it was due); after that, every day in turn, so that no
// day is skipped even when a write fails for a while or the clock jumps.
func (d *dailyFile) run(ctx context.Context) {
	defer close(d.done)
	next := d.latestDue(d.clock())
	if _, err := os.Stat(filepath.Join(d.dir, exports.OptOutFileName(next))); err == nil {
		next = next.Next()
	}
	var retryAt time.Time // after a failed write
	for {
		now := d.clock()
		wait := d.dueAt(next).Sub(now)
		if wait <= 0 && !now.Before(retryAt) {
			if err := d.write(ctx, next); err == nil {
				next = next.Next()
				continue
			}
			retryAt = now.Add(dailyFileRetry)
		}
		if wait <= 0 {
			wait = retryAt.Sub(now)
		}
		t := time.NewTimer(min(wait, d.nap))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (d *dailyFile) write(ctx context.Context, day exports.Day) error {
	began := time.Now()
	path, rows, err := exports.WriteOptOutFile(ctx, d.st, d.dir, day)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && path != "":
		// Written and renamed; only the directory's sync failed.
		d.log.Warn().Err(err).Str("file", path).Int("rows", rows).Msg("opt-out file written, but it may not survive a power loss")
		return nil
	case err != nil:
		d.log.Error().Err(err).Str("day", day.String()).Dur("retry_in", dailyFileRetry).Msg("the opt-out file could not be written; the previous one, if any, is as it was")
		return err
	}
	d.log.Info().Str("file", path).Str("day", day.String()).Int("rows", rows).Dur("took", time.Since(began)).Msg("opt-out file written")
	return nil
}
