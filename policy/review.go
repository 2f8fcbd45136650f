package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/optguard/optguard/store"
)

// Review items. A possible opt-out (an opt-out word in a reply no list
// matches) is recorded in the ledger for a person to decide. In an
// organization with possible_opt_out: hold, the scope's later MTs are held
// (Review holds, allowed even when the scope is opted in) until the person
// decides, or the handset opts in or out itself. The set of scopes under
// review lives in memory and is rebuilt from the ledger at start.

// ErrNotUnderReview: DecideReview was asked about a scope with no open
// review item.
var ErrNotUnderReview = errors.New("policy: the scope has no possible opt-out waiting for a decision")

// DecideReview settles a scope's possible opt-out on a person's word:
// optOut records an opt-out by that person (method agent, actor who) and
// drops what was held for the review with REJECTD receipts; otherwise the
// item is dismissed and the held MTs go to the SMSC in order.
func (e *Engine) DecideReview(ctx context.Context, s store.Scope, optOut bool, who, note string) (store.Applied, error) {
	if err := checkText("note", note); err != nil {
		return store.Applied{}, err
	}
	k := scopeKey(s)
	open, via := e.reviewOpen(ctx, s)
	if !e.rev.has(k) && !open {
		return store.Applied{}, ErrNotUnderReview
	}
	a := e.accountOf(s.Org)
	ch := store.Change{Scope: s, Via: via, Type: store.EventReviewDismissed, Mode: a.storeMode(), OccurredAt: e.now(),
		Method: store.MethodAgent, Actor: who, Note: note, Holds: store.ReleaseHeld}
	if optOut {
		ch.Type, ch.Holds = store.EventOptedOut, store.DropHeld
	}
	applied, err := e.st.Apply(ctx, ch)
	if err != nil {
		return applied, fmt.Errorf("policy: deciding a review: %w", err)
	}
	e.rev.remove(k)
	t := &task{scope: s, org: a.main}
	e.settle(t, append(applied.Released, applied.Dropped...), !optOut)
	e.m.change(a.name, ch.Type.String(), store.MethodAgent)
	e.log.Info().Str("organization", a.name).Str("number", store.MaskNumber(s.Number)).Str("actor", who).
		Bool("opted_out", optOut).Int("held", len(applied.Released)+len(applied.Dropped)).Msg("possible opt-out decided")
	return applied, nil
}

// reviewOpen reads the ledger: is the scope's latest review-related event
// a possible opt-out? via is that event's (the conversation the MO came
// in, which the decision is recorded in).
func (e *Engine) reviewOpen(ctx context.Context, s store.Scope) (open bool, via string) {
	err := e.st.Events(ctx, store.EventFilter{Number: s.Number, Org: s.Org, Types: reviewEvents}, func(ev store.Event) error {
		if ev.Scope == s {
			open, via = ev.Type == store.EventPossibleOptOut, ev.Via
		}
		return nil
	})
	if err != nil || !open {
		return false, ""
	}
	return true, via
}

var reviewEvents = []store.EventType{store.EventPossibleOptOut, store.EventReviewDismissed, store.EventOptedIn, store.EventOptedOut}

// loadReviews rebuilds the set of scopes under review from the ledger, for
// the organizations that hold on a possible opt-out.
func (e *Engine) loadReviews(ctx context.Context) error {
	holding := map[string]bool{}
	for _, a := range e.tab.Load().accounts {
		if a.main.spec.HoldOnPossibleOpt {
			holding[a.name] = true
		}
	}
	if len(holding) == 0 {
		return nil
	}
	open := map[ovKey]bool{}
	err := e.st.Events(ctx, store.EventFilter{Types: reviewEvents}, func(ev store.Event) error {
		if holding[ev.Scope.Org] {
			open[scopeKey(ev.Scope)] = ev.Type == store.EventPossibleOptOut
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("policy: loading review items: %w", err)
	}
	for k, o := range open {
		if o {
			e.rev.add(k)
		}
	}
	return nil
}

// ReviewItem is one possible opt-out waiting for a person.
type ReviewItem struct {
	// Event is the possible_opt_out: its MO is the reply, its OccurredAt
	// when it came.
	Event store.Event
	// Holding is true when the scope's later MTs are held until a
	// decision (possible_opt_out: hold).
	Holding bool
}

// ReviewItems lists the possible opt-outs of account org ("" for every
// account) recorded since since that no decision, opt-in or opt-out has
// followed, oldest first. It reads the ledger's time index from since on.
func (e *Engine) ReviewItems(ctx context.Context, org string, since time.Time) ([]ReviewItem, error) {
	open := map[store.Scope]store.Event{}
	var order []store.Scope
	err := e.st.Events(ctx, store.EventFilter{From: since, Org: org, Types: reviewEvents}, func(ev store.Event) error {
		if ev.Erased {
			return nil // nobody to decide about any more
		}
		if ev.Type == store.EventPossibleOptOut {
			if _, ok := open[ev.Scope]; !ok {
				order = append(order, ev.Scope)
			}
			open[ev.Scope] = ev
			return nil
		}
		delete(open, ev.Scope)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy: listing review items: %w", err)
	}
	var out []ReviewItem
	for _, s := range order {
		if ev, ok := open[s]; ok {
			out = append(out, ReviewItem{Event: ev, Holding: e.accountOf(s.Org).main.spec.HoldOnPossibleOpt})
			delete(open, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Event.OccurredAt.Before(out[j].Event.OccurredAt) })
	return out, nil
}
