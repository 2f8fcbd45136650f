package main

// The checks a scenario's run must pass: what its plan implies of the
// figures (every request accounted for, the shares reproduced, each handset
// group's verdict, nothing reaching an opted-out handset, durable
// opt-outs, held messages released with their ids).

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// releaseChecks: after the YES, each held MT that asked for a receipt got
// one, matched by the held id, but for the share the simulator refuses or
// drops.
func (s *scenario) releaseChecks(res *testenv.LoadResult, released []releaseRun) []reportCheck {
	var out []reportCheck
	loss := float64(s.Sim.Drop)
	if p, err := s.simProfile(); err == nil && p != nil {
		for _, e := range p.Errors {
			loss += e.Share
		}
	}
	for _, rel := range released {
		c := reportCheck{Name: "group " + rel.group + " released"}
		g := res.ByGroup[rel.group]
		switch {
		case rel.err != nil:
			c.Detail = fmt.Sprintf("the handsets' YES: %v", rel.err)
		case g == nil || g.ReceiptsAsked == 0:
			c.Detail = "no held message asked for a receipt"
		default:
			want := float64(g.ReceiptsAsked) * (1 - loss)
			tol := 4*math.Sqrt(float64(g.ReceiptsAsked)*loss*(1-loss)) + 1
			c.OK = rel.res.ByStatus[pdu.ESME_ROK] == uint64(rel.res.Sent) && float64(g.Receipts) >= want-tol && g.Receipts <= g.ReceiptsAsked
			c.Detail = fmt.Sprintf("after YES from %d handsets, %d of %d held messages that asked for a receipt got one with their held id (want ≥ %.0f)",
				rel.res.Sent, g.Receipts, g.ReceiptsAsked, want-tol)
		}
		out = append(out, c)
	}
	return out
}

// optOutsStored checks the STOPs the simulator sent against the opt-outs
// the store gained: each answered STOP from a handset not seen before is
// an opted_out record on disk (the policy answers after its synced write).
func optOutsStored(mo *moRun, gained int) reportCheck {
	stops := mo.res.ByText["STOP"]
	c := reportCheck{Name: "durable opt-outs"}
	if mo.res.Sent <= uint64(mo.cfg.Handsets) && mo.res.ByStatus[pdu.ESME_ROK] == mo.res.Responses {
		// Every MO came from a handset of its own, and all were accepted.
		c.OK = uint64(gained) == stops
		c.Detail = fmt.Sprintf("%d STOP answered, %d opted_out records gained", stops, gained)
		return c
	}
	c.OK = uint64(gained) <= stops
	c.Detail = fmt.Sprintf("%d opted_out records gained for %d STOP (some handsets wrote twice)", gained, stops)
	return c
}

// checks are what the scenario implies of its figures.
func (s *scenario) checks(res *testenv.LoadResult, env *scenarioEnv, mo *moRun) []reportCheck {
	var out []reportCheck
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, reportCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	add("binds", len(res.Errors) == 0, "%d errors%s", len(res.Errors), firstOf(res.Errors))
	add("every request accounted for", res.Sent == res.Responses+res.Unanswered,
		"%d sent = %d answered + %d unanswered", res.Sent, res.Responses, res.Unanswered)

	var messages uint64
	for _, n := range res.ByMessage {
		messages += n
	}
	for _, m := range s.Messages {
		name := m.Name
		if name == "" {
			name = m.defaultName()
		}
		got := ratio(res.ByMessage[name], messages)
		tol := shareTolerance(float64(m.Share), messages)
		add("share of "+name, math.Abs(got-float64(m.Share)) <= tol, "%.2f%% of %d messages, want %.2f%% ± %.2f", 100*got, messages, 100*float64(m.Share), 100*tol)
	}
	if s.Receipts > 0 {
		ok := res.ByStatus[pdu.ESME_ROK]
		asked := res.Receipts + res.ReceiptsDue
		got := ratio(asked, ok)
		tol := shareTolerance(float64(s.Receipts), ok)
		add("share asking for a receipt", math.Abs(got-float64(s.Receipts)) <= tol,
			"%.2f%% of %d accepted, want %.2f%% ± %.2f", 100*got, ok, 100*float64(s.Receipts), 100*tol)
		if env != nil && env.pol == nil {
			add("receipts received", res.ReceiptsDue == 0 && res.ReceiptsUnmatched == 0,
				"%d matched, %d still due at the end, %d unmatched", res.Receipts, res.ReceiptsDue, res.ReceiptsUnmatched)
		}
	}
	if env != nil && mo.cfg.Rate > 0 {
		if mo.err != nil {
			add("MOs", false, "ended early: %v", mo.err)
		}
		answered := mo.res.ByStatus[pdu.ESME_ROK]
		if env.pol == nil {
			add("MOs delivered", res.MOs == answered, "the simulator's %d answered MOs, the ESMEs got %d", answered, res.MOs)
		}
		// The rate reached is a figure (a slow proxy holds the storm's
		// window full), not a check; every deliver_sm answered is one.
		rate := 0.0
		if mo.res.Elapsed > 0 {
			rate = float64(mo.res.Sent) / mo.res.Elapsed.Seconds()
		}
		add("MOs answered", mo.res.Sent > 0 && mo.res.Responses == mo.res.Parts,
			"%d MOs (%d deliver_sm) sent at %.0f/s of %g/s asked, %d answered", mo.res.Sent, mo.res.Parts, rate, mo.cfg.Rate, mo.res.Responses)
	}
	if env != nil && env.pol != nil {
		refused := env.pol.refusedStatus()
		for _, g := range s.Handsets.Groups {
			r := res.ByGroup[g.Name]
			if r == nil || r.Responses == 0 {
				add("group "+g.Name, false, "no responses for the group")
				continue
			}
			ok := r.ByStatus[pdu.ESME_ROK]
			switch g.Expect {
			case "refused":
				add("group "+g.Name+" refused", r.ByStatus[refused] == r.Responses,
					"%d of %d answered %s (%s)", r.ByStatus[refused], r.Responses, refused, statusList(r.ByStatus))
			case "held":
				add("group "+g.Name+" held", ok == r.Held && r.ByStatus[refused] == 0 && ok > 0,
					"%d of %d ESME_ROK are held ids, %d refused", r.Held, ok, r.ByStatus[refused])
			default:
				add("group "+g.Name+" delivered", r.Held == 0 && r.ByStatus[refused] == 0 && ok > 0,
					"%d ESME_ROK, %d held, %d refused (%s)", ok, r.Held, r.ByStatus[refused], statusList(r.ByStatus))
			}
		}
		if len(env.optedOut) > 0 {
			n := env.toOptedOut.Load()
			add("no opted-out handset reached the SMSC", n == 0, "%d submissions to opted_out handsets reached the simulator", n)
		}
	}
	return out
}

// shareTolerance is how far a share measured over n draws may be from p:
// four standard deviations, and at least half a point.
func shareTolerance(p float64, n uint64) float64 {
	if n == 0 {
		return 1
	}
	return max(4*math.Sqrt(p*(1-p)/float64(n)), 0.005)
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func firstOf(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + errs[0]
}

func statusList(m map[pdu.Status]uint64) string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", st, m[st]))
	}
	return strings.Join(parts, ", ")
}

// printChecks prints the checks.
func printChecks(w io.Writer, checks []reportCheck) {
	if len(checks) == 0 {
		return
	}
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range checks {
		mark := "ok    "
		if !c.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(w, "  %s %-40s %s\n", mark, c.Name, c.Detail)
	}
}
