package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/optguard/optguard/policy/exports"
	"github.com/optguard/optguard/store"
)

// The exports stream from the store straight to the client: one event in
// memory at a time, whatever the range. They end when the client leaves
// or when the API closes (a shutdown), whichever comes first.

// eventColumns are the CSV export's columns: store.EventView's fields, the
// MO's flattened.
var eventColumns = []string{"seq", "type", "organization", "sender", "via", "number", "erased", "prev_state", "new_state", "mode", "method",
	"actor", "occurred_at", "recorded_at", "mo_text", "mo_data_coding", "mo_raw_hex", "template", "template_version", "message_id", "note", "hash"}

func eventRow(v store.EventView) []string {
	var erased, version, moText, moCoding, moRaw string
	if v.Erased {
		erased = "true"
	}
	if v.TemplateVersion != 0 {
		version = uintText(uint64(v.TemplateVersion))
	}
	if v.MO != nil {
		moText, moCoding, moRaw = v.MO.Text, uintText(uint64(v.MO.DataCoding)), v.MO.RawHex
	}
	return []string{uintText(v.Seq), v.Type, v.Organization, v.Sender, v.Via, v.Number, erased, v.PrevState, v.NewState, v.Mode, v.Method,
		v.Actor, v.OccurredAt.UTC().Format(time.RFC3339Nano), v.RecordedAt.UTC().Format(time.RFC3339Nano), moText, moCoding, moRaw,
		v.Template, version, v.MessageID, v.Note, v.Hash}
}

// exportEvents streams the ledger's events the caller sees, by time range,
// organization and type, as CSV or JSON lines (one store.EventView, with
// its number, a line). An erased subject's events are there, as erased and
// without the number.
func (a *API) exportEvents(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	f := store.EventFilter{From: q.time("from"), To: q.time("to")}
	acct, err := c.listAccount(q.str("organization"))
	f.Org = acct
	asCSV := false
	if err == nil {
		asCSV, err = q.csvOr("jsonl")
	}
	if err == nil {
		f.Types, err = parseList(q.str("types"), "types", store.ParseEventType)
	}
	if err == nil && !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		err = badRequest("to", "must be after from ("+f.From.Format(time.RFC3339Nano)+"): the range is from (included) to to (left out)")
	}
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	// emit writes one event in the format asked for; finish flushes.
	var (
		d      *download
		emit   func(store.EventView) error
		finish func() error
	)
	if asCSV {
		d = a.startDownload(w, r, csvType, "events.csv")
		cw := newCSV(w, d, eventColumns)
		emit = func(v store.EventView) error { return cw.row(eventRow(v)) }
		finish = cw.Flush
	} else {
		d = a.startDownload(w, r, "application/x-ndjson", "events.jsonl")
		bw := bufio.NewWriterSize(d, 32<<10)
		enc := json.NewEncoder(bw)
		lines := 0
		emit = func(v store.EventView) error {
			if err := enc.Encode(v); err != nil {
				return err
			}
			if lines++; lines%exports.FlushRows == 0 {
				if err := bw.Flush(); err != nil {
					return err
				}
				d.rc.Flush()
			}
			return nil
		}
		finish = bw.Flush
	}
	defer d.close()
	err = a.st.Events(d.ctx, f, func(ev store.Event) error {
		if !c.visible(ev.Scope.Org, acct) {
			return nil
		}
		return emit(eventView(ev))
	})
	if err == nil {
		err = finish()
	}
	a.endDownload(d, r, err)
}

// eventView is ev's view with its number (none when erased).
func eventView(ev store.Event) store.EventView {
	v := store.ViewEvent(ev)
	v.Number = ev.Scope.Number
	return v
}

// exportOptOuts serves one day's opt-out file (seed 004's nightly file):
// the same CSV that optguard writes to exports.opt_outs.dir, the day in
// the same time zone, limited to what the caller sees.
func (a *API) exportOptOuts(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	s := q.str("day")
	acct, err := c.listAccount(q.str("organization"))
	var day exports.Day
	if err == nil {
		if s == "" {
			err = badRequest("day", "is required: the date (YYYY-MM-DD) whose opt-outs the file lists")
		} else if day, err = exports.ParseDay(s, a.zone); err != nil {
			err = badRequest("day", err.Error())
		}
	}
	if err == nil {
		err = q.err
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	d := a.startDownload(w, r, csvType, exports.OptOutFileName(day))
	defer d.close()
	_, err = exports.WriteOptOuts(d.ctx, a.st, d, exports.OptOutQuery{Day: day, Org: acct,
		Keep: func(org string) bool { return c.visible(org, acct) }})
	a.endDownload(d, r, err)
}

// download is a streamed attachment whose status and headers go out with
// its first bytes, so that a failure before them is still a JSON error.
// Its context is the request's, and it ends at Close too. A client that
// reads nothing for downloadStall is dropped, and at Close a write that
// waits for the client gives up at once: a stalled client must neither
// keep the store's read open nor hold up a shutdown.
type download struct {
	w                     http.ResponseWriter
	rc                    *http.ResponseController
	contentType, filename string
	sent                  bool
	ctx                   context.Context
	close                 func() // call when done
}

const downloadStall = time.Minute

func (a *API) startDownload(w http.ResponseWriter, r *http.Request, contentType, filename string) *download {
	ctx, cancel := context.WithCancel(r.Context())
	rc := http.NewResponseController(w)
	stop := context.AfterFunc(a.ctx, func() {
		cancel()
		rc.SetWriteDeadline(time.Now())
	})
	if a.ctx.Err() != nil {
		cancel() // now, not in AfterFunc's goroutine
	}
	return &download{w: w, rc: rc, contentType: contentType, filename: filename, ctx: ctx, close: func() {
		stop()
		cancel()
		rc.SetWriteDeadline(time.Time{}) // the connection's next request has none
	}}
}

func (d *download) Write(p []byte) (int, error) {
	if err := d.ctx.Err(); err != nil {
		return 0, err
	}
	d.start()
	d.rc.SetWriteDeadline(time.Now().Add(downloadStall)) // an error: a writer without deadlines, which goes on without
	return d.w.Write(p)
}

func (d *download) start() {
	if !d.sent {
		d.sent = true
		attachment(d.w, d.contentType, d.filename)
		d.w.WriteHeader(http.StatusOK)
	}
}

// endDownload finishes d after its stream returned err. Without an error
// the response is complete (an empty one too). With one before anything
// was sent, it is the API's JSON error. With one after, the connection is
// cut, not ended: the client then reads an error (an unexpected EOF), never
// a partial file it could take for the whole one.
func (a *API) endDownload(d *download, r *http.Request, err error) {
	if err == nil {
		d.start()
		return
	}
	if a.ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	if !d.sent {
		writeError(d.w, r, a.log, err)
		return
	}
	if r.Context().Err() == nil { // the client did not leave: say why it was cut
		a.log.Warn().Err(err).Str("path", r.URL.Path).Msg("export cut short; the client gets a broken response")
	}
	panic(http.ErrAbortHandler)
}
