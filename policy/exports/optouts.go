package exports

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/optguard/optguard/store"
)

// OptOutColumns are the daily opt-out file's columns: when the handset
// was opted out (RFC 3339, in the file's time zone), the number, its
// organization (the account), the sender number where the account keeps
// consent per sender, how (sms_keyword, agent, api, import, portal) and by
// whom (handset, or the API token's name), whether the subject was erased
// since (then the number is blank), and the ledger event's sequence number.
var OptOutColumns = []string{"opted_out_at", "number", "organization", "sender", "method", "by", "erased", "seq"}

// OptOutQuery selects the opt-outs of one file.
type OptOutQuery struct {
	Day Day
	// Org limits the file to one account (main organization); "" is
	// every account.
	Org string
	// Keep, when set, is asked for each opt-out's account: the file has
	// only those it keeps (an API caller's tenancy).
	Keep func(org string) bool
}

// optOutTypes are the event types that may opt a scope out; IsOptOut
// tells which of their events do.
var optOutTypes = []store.EventType{store.EventOptedOut, store.EventStateImported}

// IsOptOut reports whether ev is an opt-out: the handset's STOP, an
// agent's, the API's, a review's or the portal's opt-out, or an import
// that set the scope opted out. The store's restatement of an erased
// subject's opt-out (opt_out_kept) is not one: it opted no one out.
func IsOptOut(ev store.Event) bool {
	return ev.Type == store.EventOptedOut || ev.Type == store.EventStateImported && ev.NewState == store.StateOptedOut
}

// WriteOptOuts writes q's day file to w as CSV: a header row (see
// OptOutColumns), then every opt-out that occurred on the day, in the
// order they occurred, streamed from the ledger. It holds one event at a
// time, whatever the day's size, and returns the rows written. On error
// the rows since the last flush are not written: a caller that has given
// nothing to its reader yet can still answer with an error instead.
func WriteOptOuts(ctx context.Context, l store.Ledger, w io.Writer, q OptOutQuery) (int, error) {
	cw := NewCSV(w, OptOutColumns)
	loc := q.Day.Location()
	f := store.EventFilter{From: q.Day.Start(), To: q.Day.End(), Org: q.Org, Types: optOutTypes}
	err := l.Events(ctx, f, func(ev store.Event) error {
		if !IsOptOut(ev) || q.Keep != nil && !q.Keep(ev.Scope.Org) {
			return nil
		}
		return cw.Row(optOutRow(ev, loc))
	})
	if err != nil {
		return cw.Rows(), err
	}
	return cw.Rows(), cw.Flush()
}

func optOutRow(ev store.Event, loc *time.Location) []string {
	erased := ""
	if ev.Erased {
		erased = "true"
	}
	return []string{ev.OccurredAt.In(loc).Format(time.RFC3339Nano), ev.Scope.Number, ev.Scope.Org, ev.Scope.Sender,
		ev.Method.String(), ev.Actor, erased, strconv.FormatUint(ev.Seq, 10)}
}
