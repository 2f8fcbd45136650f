package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// Seed 000's SMS Opt-In Report: tab "With Consent" lists the handsets that
// opted in to consent-mode organizations (when, how), tab "With
// Disclaimer" those that were sent the disclaimer in disclaimer-mode ones;
// each row with its organization, the sender's name and number, the
// handset, the time, and the scope's state now.
//
// Where the rows come from: every row is one ledger event (an opted_in, a
// list imported as opted in, a disclaimer_sent), with the organization's
// mode when it happened, so the report reads the ledger, not the consent
// records, which keep only the latest opt-in and nothing of disclaimers.
// It reads in sequence order (store.Events with FromSeq/ToSeq and the
// tab's Types), and its cursor is the last sequence number a page looked
// at: sequence numbers are never reused and new events only come after
// the head, so paging never repeats or skips a row however the ledger
// grows meanwhile. It does not seek by the time index for the date range:
// an import dates every event of a list at its cutoff, so a cursor of
// (time, seq) would rescan a whole list per page. Instead each page reads
// at most defaultOptInWindow events past its cursor and holds one page of
// rows, so a request's time and memory are bounded whatever the ledger's
// size; a page may then have fewer rows than limit, even none, and still
// a next_cursor: only its absence says the report is complete. The CSV
// runs through every page in one response, a page at a time.

// defaultOptInWindow is how many ledger events one page reads at most;
// optInWindow, when set (by a test), says otherwise.
const defaultOptInWindow = 100_000

var optInWindow atomic.Uint64

func readWindow() uint64 {
	if n := optInWindow.Load(); n > 0 {
		return n
	}
	return defaultOptInWindow
}

// optInTab is one tab of the report: the events it lists.
type optInTab struct {
	name  string
	mode  store.Mode
	types []store.EventType
}

var optInTabs = []optInTab{
	{"consent", store.ModeConsent, []store.EventType{store.EventOptedIn, store.EventStateImported}},
	{"disclaimer", store.ModeDisclaimer, []store.EventType{store.EventDisclaimerSent}},
}

// lists reports whether ev (of one of t.types) is a row of the tab: in an
// organization of the tab's mode then, and, for an import, one that opted
// the handset in.
func (t optInTab) lists(ev *store.Event) bool {
	return ev.Mode == t.mode && (ev.Type != store.EventStateImported || ev.NewState == store.StateOptedIn)
}

// optInQuery is what a request of the report asks for.
type optInQuery struct {
	tab      optInTab
	acct     string // the account the report is limited to; "" for all the caller sees
	keyword  string // lower case; "" for any
	number   string // an E.164 number or its first digits; "" for any
	from, to time.Time
}

// optInRow is one row of the report.
type optInRow struct {
	Seq              uint64    `json:"seq"`
	Organization     string    `json:"organization"`
	OrganizationName string    `json:"organization_name"`
	SenderName       string    `json:"sender_name,omitempty"`
	SenderNumber     string    `json:"sender_number,omitempty"`
	Number           string    `json:"number,omitempty"`
	Timestamp        time.Time `json:"timestamp"`
	Method           string    `json:"method"`
	State            string    `json:"state,omitempty"`
	Erased           bool      `json:"erased,omitempty"`
}

var optInColumns = []string{"seq", "organization", "organization_name", "sender_name", "sender_number", "number", "timestamp", "method", "state"}

func (r optInRow) csv() []string {
	number := r.Number
	if r.Erased {
		number = "erased"
	}
	return []string{uintText(r.Seq), r.Organization, r.OrganizationName, r.SenderName, r.SenderNumber, number,
		r.Timestamp.UTC().Format(time.RFC3339Nano), r.Method, r.State}
}

// optInRowOf is ev's row, if it is one of q's. The sender is the scope's
// (an account that keeps consent per sender number), else the one of the
// event's conversation (Via: the line the handset's YES was sent to, the
// MT that was held for it, the line a disclaimer came from); an event
// with neither (an import, or one written before the ledger kept Via)
// has none. The organization and the sender's name are the policy's
// (SenderOf): the sub-organization the sender belongs to and the
// {sender_name} its texts carried. An erased subject's event has no
// number left: its row says erased, and has no state, which would need
// the number to look up.
func (a *API) optInRowOf(q *optInQuery, ev *store.Event) (optInRow, bool) {
	if !q.tab.lists(ev) || !q.from.IsZero() && ev.OccurredAt.Before(q.from) || !q.to.IsZero() && !ev.OccurredAt.Before(q.to) {
		return optInRow{}, false
	}
	sender := senderOfEvent(ev)
	s, ok := a.pol.SenderOf(ev.Scope.Org, sender)
	if !ok {
		s = policy.Sender{Org: ev.Scope.Org} // an account no longer configured
	}
	row := optInRow{Seq: ev.Seq, Organization: s.Org, OrganizationName: s.DisplayName, SenderName: s.Name, SenderNumber: sender,
		Number: ev.Scope.Number, Timestamp: ev.OccurredAt, Method: ev.Method.String(), Erased: ev.Erased || ev.Scope.Number == ""}
	if row.Erased {
		row.Number = ""
	}
	if q.number != "" && !strings.HasPrefix(row.Number, q.number) && !strings.HasPrefix("+"+row.SenderNumber, q.number) {
		return optInRow{}, false
	}
	if q.keyword != "" && !containsFold(q.keyword, s.Org, ev.Scope.Org, s.DisplayName, s.Name, sender) {
		return optInRow{}, false
	}
	if !row.Erased {
		cur, _ := a.st.Lookup(ev.Scope)
		row.State = cur.State.String()
	}
	return row, true
}

// senderOfEvent is the sender an event was with: its scope's, else its
// conversation's (Via); "" when the ledger does not say.
func senderOfEvent(ev *store.Event) string {
	if ev.Scope.Sender != "" {
		return ev.Scope.Sender
	}
	return ev.Via
}

// containsFold reports whether one of fields contains kw (lower case),
// ignoring case.
func containsFold(kw string, fields ...string) bool {
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), kw) {
			return true
		}
	}
	return false
}

var errPageFull = errors.New("page full")

// optInPage sends emit the rows of the events after sequence number after,
// at most limit of them (no limit when 0), reading at most readWindow()
// events. next is the cursor of the page that follows, 0 when the report
// is complete.
func (a *API) optInPage(ctx context.Context, c *caller, q *optInQuery, after uint64, limit int, emit func(optInRow)) (next uint64, err error) {
	head, _, err := a.st.Head(ctx)
	if err != nil || after >= head {
		return 0, err
	}
	to := head
	if w := readWindow(); head-after > w {
		to = after + w
	}
	visible := map[string]bool{} // per account: the caller's view of it, asked once a page
	n, last := 0, uint64(0)
	err = a.st.Events(ctx, store.EventFilter{FromSeq: after + 1, ToSeq: to, Org: q.acct, Types: q.tab.types}, func(ev store.Event) error {
		vis, known := visible[ev.Scope.Org]
		if !known {
			vis = c.visible(ev.Scope.Org, q.acct)
			visible[ev.Scope.Org] = vis
		}
		if !vis {
			return nil
		}
		row, ok := a.optInRowOf(q, &ev)
		if !ok {
			return nil
		}
		emit(row)
		last = ev.Seq
		if n++; n == limit {
			return errPageFull
		}
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
		to = last
	case err != nil:
		return 0, err
	}
	if to >= head {
		return 0, nil
	}
	return to, nil
}

// seqCursor is the opaque cursor of a position in the ledger.
func seqCursor(seq uint64) string {
	if seq == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, seq))
}

func parseSeqCursor(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 8 || binary.BigEndian.Uint64(b) == 0 {
		return 0, store.ErrBadCursor
	}
	return binary.BigEndian.Uint64(b), nil
}

// readOptInQuery reads the report's filters.
func (c *caller) readOptInQuery(q *query) (*optInQuery, error) {
	oq := &optInQuery{}
	tab := q.str("tab")
	if tab == "" {
		tab = "consent"
	}
	for _, t := range optInTabs {
		if t.name == tab {
			oq.tab = t
		}
	}
	if oq.tab.name == "" {
		return nil, badRequest("tab", "must be consent (With Consent) or disclaimer (With Disclaimer), got "+strconv.Quote(tab))
	}
	org := q.str("organization")
	acct, err := c.listAccount(org)
	if err != nil {
		return nil, err
	}
	oq.acct = acct
	if oq.keyword = strings.ToLower(q.str("keyword")); len(oq.keyword) > 100 {
		return nil, badRequest("keyword", "must be at most 100 characters")
	}
	if oq.number, err = numberSearch(q.str("number"), c.countryOf(org)); err != nil {
		return nil, err
	}
	oq.from, oq.to = q.time("from"), q.until("to")
	if !oq.from.IsZero() && !oq.to.IsZero() && !oq.to.After(oq.from) {
		return nil, badRequest("to", "must be after from")
	}
	return oq, nil
}

// until reads the end of a date range: an RFC 3339 time, or a date, which
// includes that whole day (seed 000's "09-Nov-2021 to 09-Nov-2021" is one
// day, UTC).
func (q *query) until(name string) time.Time {
	t := q.time(name)
	if _, err := time.Parse(time.DateOnly, q.str(name)); err == nil {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

func (a *API) optInReport(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	oq, err := c.readOptInQuery(&q)
	asCSV, ferr := q.format()
	after, cerr := parseSeqCursor(q.str("cursor"))
	limit := q.limit()
	if err = firstErr(err, ferr, cerr, q.err); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	if asCSV {
		a.optInCSV(w, r, c, oq, after)
		return
	}
	if limit == 0 {
		limit = 100
	}
	items := []optInRow{}
	next, err := a.optInPage(r.Context(), c, oq, after, limit, func(row optInRow) { items = append(items, row) })
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tab        string     `json:"tab"`
		Items      []optInRow `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
	}{oq.tab.name, items, seqCursor(next)})
}

// optInCSV streams the whole report from the cursor on, page by page. The
// download starts with its first row (or at the end, for an empty one), so
// that a failure before it is still an error answer; one after it can
// only cut the download short.
func (a *API) optInCSV(w http.ResponseWriter, r *http.Request, c *caller, oq *optInQuery, after uint64) {
	var cw *csvWriter
	start := func() {
		if cw == nil {
			cw = startCSV(w, "opt-in-"+oq.tab.name+".csv", optInColumns)
		}
	}
	for {
		next, err := a.optInPage(r.Context(), c, oq, after, 0, func(row optInRow) {
			start()
			cw.row(row.csv())
		})
		switch {
		case err != nil && cw == nil:
			writeError(w, r, a.log, err)
			return
		case err != nil:
			a.log.Error().Err(err).Msg("opt-in report CSV cut short")
			cw.end()
			return
		case next == 0:
			start()
			cw.end()
			return
		}
		after = next
	}
}

// numberSearch reads a number filter: a number in any common form, read
// as country dials it, is that number in E.164; digits that end in '*',
// or that are no whole number, are the first digits of numbers with their
// country code ("+1 555*", "1555"). Spaces, dashes, dots, slashes and
// parentheses are dropped. The '*' settles digits that could be read
// either way: "1555123010" is a (nonsense) national number of the US,
// "1555123010*" the numbers starting +1555123010.
func numberSearch(raw, country string) (string, error) {
	if raw == "" {
		return "", nil
	}
	s, prefix := strings.CutSuffix(raw, "*")
	if !prefix {
		if n, err := store.NormalizeNumber(raw, country); err == nil {
			return n, nil
		}
	}
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -.()/", r) {
			return -1
		}
		return r
	}, s)
	digits := strings.TrimPrefix(s, "+")
	switch {
	case digits == "" || len(digits) > 15 || strings.Trim(digits, "0123456789") != "":
		return "", badRequest("number", "must be a phone number (+1 555 123 4567, or as the organization dials it) or its first digits with the country code (+1555, or 1555* where the digits could be a whole number), got "+strconv.Quote(raw))
	case digits[0] == '0':
		return "", badRequest("number", "the first digits of a number start with its country code (+44 7700*), not 0; got "+strconv.Quote(raw))
	}
	return "+" + digits, nil
}

// countryOf is the country numbers of a request about organization name
// are read in ("" for the caller's default organization).
func (c *caller) countryOf(name string) string {
	if name == "" {
		name = c.defaultOrg()
	}
	if o, err := c.api.pol.Organization(name); err == nil {
		return o.DefaultCountry
	}
	return ""
}
