package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/exports"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/store"
)

// parseCSV reads a CSV body, failing the test if it is not one.
func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%.500s", err, b)
	}
	return rows
}

// jsonLines decodes a JSON-lines body, one event a line.
func jsonLines(t *testing.T, b []byte) []store.EventView {
	t.Helper()
	var out []store.EventView
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v store.EventView
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d is not an event: %v\n%s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fillLedger writes n events through the API, the policy and the store:
// an imported consent list, do-not-contact additions, agent opt-outs with
// their confirmations, handsets' STOPs for acme and globex, and an erased
// subject; then STOPs and STARTs until the ledger has n events.
func fillLedger(t *testing.T, e *env, n int) {
	t.Helper()
	var list strings.Builder
	list.WriteString("number,organization\n")
	for i := range 1500 {
		fmt.Fprintf(&list, "+1555200%04d,acme\n", i)
	}
	if r, job := e.upload("admin", "cutoff=2026-11-30", list.String()); r.Status != http.StatusOK || job.Status != "done" {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	for i := range 20 {
		e.ok("admin", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": fmt.Sprintf("+1555210%04d", i), "note": "by letter"})
		e.ok("agent", "POST", fmt.Sprintf("/api/v1/numbers/+1555211%04d/opt-out", i), map[string]any{"organization": "acme", "sender": "15550001000"})
		e.apply(store.OrgScope("globex", fmt.Sprintf("+44770090%04d", i)), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	}
	e.apply(store.OrgScope("acme", "+15552120000"), store.EventOptedIn, store.MethodSMSKeyword, "START")
	e.apply(store.OrgScope("acme", "+15552120000"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	if _, err := e.st.EraseNumber(t.Context(), "+15552120000", store.MethodAPI, "admin"); err != nil {
		t.Fatal(err)
	}
	for i := 0; e.head() < uint64(n); i++ {
		typ, text := store.EventOptedOut, "STOP"
		if i%2 == 1 {
			typ, text = store.EventOptedIn, "START"
		}
		e.apply(store.OrgScope("acme", fmt.Sprintf("+1555213%04d", i/2)), typ, store.MethodSMSKeyword, text)
	}
	if e.head() != uint64(n) {
		t.Fatalf("the ledger has %d events, want %d", e.head(), n)
	}
}

// ledgerEvent is event seq as the store has it.
func ledgerEvent(t *testing.T, e *env, seq uint64) store.Event {
	t.Helper()
	ev, err := e.st.Event(t.Context(), seq)
	if err != nil {
		t.Fatalf("event %d: %v", seq, err)
	}
	return ev
}

// An export of N events has exactly N rows (or lines), each the ledger's
// event of its sequence number: type, number, actor and hash; erased
// subjects' events are there, erased and without their number.
func TestExportOfNEventsMatchesTheLedger(t *testing.T) {
	e := newEnv(t)
	const n = 2500
	fillLedger(t, e, n)

	lines := jsonLines(t, e.ok("auditor", "GET", "/api/v1/exports/events?format=jsonl", nil).Body)
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	erased := 0
	for i, v := range lines {
		ev := ledgerEvent(t, e, uint64(i+1))
		if v.Seq != ev.Seq || v.Type != ev.Type.String() || v.Number != ev.Scope.Number || v.Actor != ev.Actor ||
			v.Hash != hex.EncodeToString(ev.Hash[:]) || v.Erased != ev.Erased || v.Organization != ev.Scope.Org {
			t.Fatalf("line %d is %+v; the ledger has %+v", i+1, v, ev)
		}
		if v.Erased {
			erased++
			if v.Number != "" || v.MO != nil {
				t.Fatalf("erased line %d shows %q %+v", i+1, v.Number, v.MO)
			}
		}
	}
	if erased < 2 {
		t.Fatalf("%d erased events in the export, want the erased subject's", erased)
	}

	r := e.ok("auditor", "GET", "/api/v1/exports/events?format=csv", nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "events.csv") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("headers %v", r.Header)
	}
	rows := parseCSV(t, r.Body)
	if len(rows) != n+1 {
		t.Fatalf("%d CSV rows, want %d and a header", len(rows)-1, n)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for i, row := range rows[1:] {
		ev := ledgerEvent(t, e, uint64(i+1))
		if row[col["seq"]] != strconv.FormatUint(ev.Seq, 10) || row[col["type"]] != ev.Type.String() || row[col["number"]] != ev.Scope.Number ||
			row[col["actor"]] != ev.Actor || row[col["hash"]] != hex.EncodeToString(ev.Hash[:]) || (row[col["erased"]] == "true") != ev.Erased {
			t.Fatalf("row %d is %q; the ledger has %+v", i+1, row, ev)
		}
	}

	// A time range is the events that occurred in it, in that order, by
	// the ledger's own count.
	from, to := time.Date(2026, 12, 1, 9, 0, 30, 0, time.UTC), time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC)
	var want []uint64
	for seq := uint64(1); seq <= n; seq++ {
		if at := ledgerEvent(t, e, seq).OccurredAt; !at.Before(from) && at.Before(to) {
			want = append(want, seq)
		}
	}
	lines = jsonLines(t, e.ok("auditor", "GET", "/api/v1/exports/events?from=2026-12-01T09:00:30Z&to=2026-12-01T09:05:00Z", nil).Body)
	if len(want) < 100 || len(lines) != len(want) {
		t.Fatalf("the range has %d lines, the ledger %d", len(lines), len(want))
	}
	for i, v := range lines {
		if i > 0 && v.OccurredAt.Before(lines[i-1].OccurredAt) {
			t.Fatalf("line %d occurred before line %d", i+1, i)
		}
	}

	// Types, and an organization.
	lines = jsonLines(t, e.ok("auditor", "GET", "/api/v1/exports/events?types=confirmation_sent,erased", nil).Body)
	if len(lines) != 21 {
		t.Errorf("%d confirmations and erasures, want 20 and 1", len(lines))
	}
	lines = jsonLines(t, e.ok("auditor", "GET", "/api/v1/exports/events?organization=globex", nil).Body)
	if len(lines) != 20 || lines[0].Organization != "globex" || lines[0].Number != "+447700900000" || lines[0].MO == nil || lines[0].MO.Text != "STOP" {
		t.Errorf("globex's: %d lines, first %+v", len(lines), lines[0])
	}
}

// A token limited to organizations exports only theirs; another's is an
// unknown organization.
func TestExportTenancy(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230301"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.apply(store.OrgScope("globex", "+447700900301"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.apply(store.OrgScope("acme", "+15551230302"), store.EventOptedIn, store.MethodSMSKeyword, "START")
	lines := jsonLines(t, e.ok("globex-auditor", "GET", "/api/v1/exports/events", nil).Body)
	if len(lines) != 1 || lines[0].Number != "+447700900301" {
		t.Fatalf("globex's token exported %+v", lines)
	}
	lines = jsonLines(t, e.ok("acme-sales-agent", "GET", "/api/v1/exports/events", nil).Body)
	if len(lines) != 2 || lines[0].Organization != "acme" || lines[1].Organization != "acme" {
		t.Fatalf("a sub-organization's token exported %+v", lines)
	}
	e.call("globex-auditor", "GET", "/api/v1/exports/events?organization=acme", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	e.call("acme-admin", "GET", "/api/v1/exports/opt-outs?day=2026-12-01&organization=globex", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	rows := parseCSV(t, e.ok("globex-auditor", "GET", "/api/v1/exports/opt-outs?day=2026-12-01", nil).Body)
	if len(rows) != 2 || rows[1][1] != "+447700900301" {
		t.Fatalf("globex's opt-out file: %q", rows)
	}
	rows = parseCSV(t, e.ok("auditor", "GET", "/api/v1/exports/opt-outs?day=2026-12-01", nil).Body)
	if len(rows) != 3 {
		t.Fatalf("the whole opt-out file: %q", rows)
	}
}

// masked is a CSV with the columns that change from run to run (the
// store's recording time and the hash chained over it) replaced.
func masked(t *testing.T, b []byte, columns ...string) []byte {
	t.Helper()
	rows := parseCSV(t, b)
	for _, name := range columns {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("no column %s in %q", name, rows[0])
		}
		for _, r := range rows[1:] {
			r[i] = "…"
		}
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.WriteAll(rows)
	return out.Bytes()
}

// The CSV export's columns, and cells that would start a formula made
// safe.
func TestExportEventsCSV(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230311"), store.EventOptedOut, store.MethodSMSKeyword, `=HYPERLINK("http://x","STOP")`)
	e.ok("admin", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": "+15551230312", "note": "-1+1 by letter"})
	e.apply(store.OrgScope("globex", "+447700900313"), store.EventPossibleOptOut, store.MethodSMSKeyword, "please don't text")
	r := e.ok("auditor", "GET", "/api/v1/exports/events?format=csv&from=2026-12-01", nil)
	golden(t, "events.csv", masked(t, r.Body, "recorded_at", "hash"))
}

// The opt-out endpoint serves the very file optguard writes to its
// directory, the day in the configured time zone.
func TestExportOptOutsIsTheDailyFile(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *httpapi.Options) { o.OptOutTZ = ny })
	e.clk.add(15 * time.Hour) // 2026-12-02 00:00 UTC: 1 December 19:00 in New York
	e.apply(store.OrgScope("acme", "+15551230321"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.ok("admin", "POST", "/api/v1/dnc", map[string]any{"organization": "acme", "number": "+15551230322"})
	e.apply(store.OrgScope("acme", "+15551230323"), store.EventOptedIn, store.MethodSMSKeyword, "START")
	e.clk.add(5 * time.Hour) // 2 December 00:00:03 in New York
	e.apply(store.OrgScope("acme", "+15551230324"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")

	r := e.ok("auditor", "GET", "/api/v1/exports/opt-outs?day=2026-12-01", nil)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "optouts-2026-12-01.csv") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	dir := t.TempDir()
	day, _ := exports.ParseDay("2026-12-01", ny)
	path, rows, err := exports.WriteOptOutFile(t.Context(), e.st, dir, day)
	if err != nil || rows != 2 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Body, file) {
		t.Fatalf("the API serves\n%s\nthe file is\n%s", r.Body, file)
	}
	golden(t, "optouts-2026-12-01.csv", r.Body)
	got := parseCSV(t, r.Body)
	if got[1][0] != "2026-12-01T19:00:01-05:00" || got[1][1] != "+15551230321" || got[2][1] != "+15551230322" || got[2][4] != "api" || got[2][5] != "admin" {
		t.Fatalf("file: %q", got)
	}
	if got := parseCSV(t, e.ok("auditor", "GET", "/api/v1/exports/opt-outs?day=2026-12-02", nil).Body); len(got) != 2 || got[1][1] != "+15551230324" {
		t.Fatalf("the next day: %q", got)
	}
	// A day without opt-outs is the header alone.
	if got := e.ok("auditor", "GET", "/api/v1/exports/opt-outs?day=2026-11-30", nil).Body; string(got) != strings.Join(exports.OptOutColumns, ",")+"\n" {
		t.Fatalf("an empty day: %q", got)
	}
}

// Bad parameters are refused with the parameter named.
func TestExportBadRequests(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ path, code, field string }{
		{"/api/v1/exports/events?format=json", "invalid_field", "format"},
		{"/api/v1/exports/events?from=yesterday", "invalid_field", "from"},
		{"/api/v1/exports/events?from=2026-12-02&to=2026-12-01", "invalid_field", "to"},
		{"/api/v1/exports/events?from=2026-12-01&to=2026-12-01", "invalid_field", "to"},
		{"/api/v1/exports/events?types=opted_out,stopped", "invalid_field", "types"},
		{"/api/v1/exports/events?number=%2B15551230001", "unknown_parameter", "number"},
		{"/api/v1/exports/events?format=csv&format=jsonl", "invalid_field", "format"},
		{"/api/v1/exports/opt-outs", "invalid_field", "day"},
		{"/api/v1/exports/opt-outs?day=2026-12-01T00:00:00Z", "invalid_field", "day"},
		{"/api/v1/exports/opt-outs?day=2026-02-30", "invalid_field", "day"},
		{"/api/v1/exports/opt-outs?day=2026-12-01&format=csv", "unknown_parameter", "format"},
	} {
		r := e.call("auditor", "GET", c.path, nil)
		t.Run(c.path, func(t *testing.T) { r.wantError(t, http.StatusBadRequest, c.code, c.field) })
	}
	e.call("auditor", "GET", "/api/v1/exports/events?organization=nosuch", nil).wantError(t, http.StatusNotFound, "unknown_organization", "organization")
	// The API closed (a shutdown) before the export began: a JSON 503.
	e.apply(store.OrgScope("acme", "+15551230331"), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	e.api.Close()
	e.call("auditor", "GET", "/api/v1/exports/events", nil).wantError(t, http.StatusServiceUnavailable, "shutting_down", "")
}

// smallBuffers makes a connection's socket buffers small, so that a
// server writing to a client that does not read blocks soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A download cut short (here: the API closes, as at a shutdown, while the
// client is in the middle of the file and reads nothing) does not hold up
// the shutdown, and is an error to the client, not
// the end of a shorter file; so the command line's atomic write of it
// leaves no file, and a previous complete one stays.
func TestCutDownloadIsAnError(t *testing.T) {
	e := newEnv(t)
	changes := make([]store.Change, 3000)
	for i := range changes {
		changes[i] = store.Change{Scope: store.OrgScope("acme", fmt.Sprintf("+1555220%04d", i)), Type: store.EventOptedOut, Mode: store.ModeConsent,
			OccurredAt: e.clk.now().Add(time.Duration(i) * time.Second), Method: store.MethodSMSKeyword, Actor: "handset"}
	}
	if _, err := e.st.Import(t.Context(), changes); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e.api)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4096)
		}
		return c, err
	}}}

	dir := t.TempDir()
	name := "optouts-2026-12-01.csv"
	const old = "opted_out_at,number\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(old), 0o640); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/exports/opt-outs?day=2026-12-01", nil)
	req.Header.Set("Authorization", "Bearer auditor")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, err = exports.WriteAtomic(dir, name, func(w io.Writer) error {
		if _, err := io.CopyN(w, resp.Body, 1000); err != nil {
			return err
		}
		// The client reads nothing for now: the server's write waits.
		// Closing gives it up, so the store closes without waiting for
		// the client.
		time.Sleep(300 * time.Millisecond)
		e.api.Close()
		closed := make(chan error, 1)
		go func() { closed <- e.st.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Errorf("closing the store: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("closing the store waits for a client that reads nothing")
		}
		_, err := io.Copy(w, resp.Body)
		return err
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("the cut download gave %v, want an unexpected EOF", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != old {
		t.Fatalf("the previous file changed:\n%.300s", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the directory has %d entries", len(entries))
	}
}
