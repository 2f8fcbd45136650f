package store

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Human-readable forms of the maintenance reports, printed by the
// `optguard store` commands. Numbers are masked (MaskNumber) as everywhere
// else that people read.

// WriteText prints the statistics one per line.
func (s Stats) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("format version     %d\n", s.FormatVersion)
	switch {
	case s.KeyID == "":
		p.f("key                none yet\n")
	case s.KeyFile:
		p.f("key                %s (the key file matches)\n", s.KeyID)
	default:
		p.f("key                %s (its key file was not found)\n", s.KeyID)
	}
	p.f("events             %d\n", s.Events)
	p.f("chain head         %s\n", hex.EncodeToString(s.HeadHash[:]))
	p.f("consents           %d\n", s.Consents)
	for st := State(0); st < numStates; st++ {
		p.f("  %-16s %d\n", st, s.ByState[st])
	}
	p.f("held               %d\n", s.Held)
	p.f("outbox             %d\n", s.Outbox)
	p.f("id mappings        %d\n", s.IDMappings)
	p.f("log records        %d\n", s.LogRecords)
	p.f("log written/dropped/failed since open  %d/%d/%d\n", s.LogWritten, s.LogDropped, s.LogFailed)
	p.f("consent db size    %s\n", humanBytes(s.ConsentBytes))
	p.f("log db size        %s\n", humanBytes(s.LogBytes))
	return p.err
}

// WriteText prints the verification result.
func (r VerifyReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("ledger ok: %d events, chain head %s (%v)\n", r.Events, hex.EncodeToString(r.HeadHash[:]), r.Took.Round(time.Millisecond))
	return p.err
}

// WriteText prints the comparison and what was done about it.
func (r RebuildReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("folded %d events into %d scopes (%v)\n", r.Events, r.Scopes, r.Took.Round(time.Millisecond))
	if r.Agrees() {
		p.f("stored records and in-memory index agree with the ledger\n")
	} else {
		p.f("differences: %d missing, %d extra, %d mismatched, %d in memory\n", r.Missing, r.Extra, r.Mismatched, r.MemoryMismatched)
		for _, d := range r.Diffs {
			p.f("  %-10s %s: ledger says %s, found %s\n", d.Kind, d.Scope, d.Want, d.Got)
		}
		if n := r.Missing + r.Extra + r.Mismatched + r.MemoryMismatched - len(r.Diffs); n > 0 {
			p.f("  … and %d more\n", n)
		}
	}
	if r.PrevStateMismatches > 0 {
		p.f("warning: %d events record a previous state the ledger does not lead to\n", r.PrevStateMismatches)
	}
	if r.Rewritten {
		p.f("consent records rewritten from the ledger\n")
	}
	return p.err
}

// WriteText prints what RestoreDir did.
func (r RestoreResult) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("restored %d events, %d consents, %d held, %d outbox, %d id mappings, %d log records\n",
		r.Stats.Events, r.Stats.Consents, r.Stats.Held, r.Stats.Outbox, r.Stats.IDMappings, r.Stats.LogRecords)
	if err := r.Verify.WriteText(w); err != nil && p.err == nil {
		p.err = err
	}
	if r.MovedAside != "" {
		p.f("previous data moved to %s\n", r.MovedAside)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
