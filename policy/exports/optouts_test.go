package exports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/exports"
	"github.com/optguard/optguard/store"
)

func openStore(t *testing.T) *store.Badger {
	t.Helper()
	st, err := store.OpenBadger(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// change is one consent event as the policy would write it.
type change struct {
	at     string // RFC 3339
	scope  store.Scope
	typ    store.EventType
	state  store.State // for state_imported
	method store.Method
	actor  string
	mo     string
}

func apply(t *testing.T, st store.Store, changes ...change) {
	t.Helper()
	for _, c := range changes {
		at, err := time.Parse(time.RFC3339Nano, c.at)
		if err != nil {
			t.Fatal(err)
		}
		ch := store.Change{Scope: c.scope, Type: c.typ, State: c.state, Mode: store.ModeConsent, OccurredAt: at, Method: c.method, Actor: c.actor}
		if c.mo != "" {
			ch.MO = &store.MO{Raw: []byte(c.mo), Text: c.mo}
		}
		if _, err := st.Apply(context.Background(), ch); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(t *testing.T, s string, loc *time.Location) exports.Day {
	t.Helper()
	d, err := exports.ParseDay(s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readCSV parses a file, failing the test if it is not CSV.
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, b)
	}
	return rows
}

// The day's file has every opt-out of the day in the file's time zone,
// from its first instant to its last, by every channel, erased ones
// without their number, and nothing of the days around it or that is
// not an opt-out.
func TestOptOutFileIsTheDaysOptOuts(t *testing.T) {
	st := openStore(t)
	acme := func(n string) store.Scope { return store.OrgScope("acme", n) }
	apply(t, st,
		change{at: "2026-12-01T04:59:59.999Z", scope: acme("+15551230001"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"}, // 23:59:59.999 the day before in New York
		change{at: "2026-12-01T05:00:00Z", scope: acme("+15551230002"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "stop"},     // midnight: the first instant
		change{at: "2026-12-01T12:00:00Z", scope: acme("+15551230003"), typ: store.EventOptedIn, method: store.MethodSMSKeyword, actor: "handset", mo: "YES"},       // an opt-in
		change{at: "2026-12-01T12:30:00Z", scope: store.SenderScope("globex", "15550001000", "+447700900004"), typ: store.EventOptedOut, method: store.MethodAgent, actor: "desk-1"},
		change{at: "2026-12-01T13:00:00Z", scope: acme("+15551230005"), typ: store.EventStateImported, state: store.StateOptedOut, method: store.MethodImport, actor: "@import"},
		change{at: "2026-12-01T13:00:01Z", scope: acme("+15551230006"), typ: store.EventStateImported, state: store.StateOptedIn, method: store.MethodImport, actor: "@import"},
		change{at: "2026-12-01T14:00:00Z", scope: acme("+15551230007"), typ: store.EventOptedOut, method: store.MethodAPI, actor: "ops@example.com"},
		change{at: "2026-12-01T15:00:00Z", scope: acme("+15551230008"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"}, // erased below
		change{at: "2026-12-01T16:00:00Z", scope: acme("+15551230003"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "🛑"},
		change{at: "2026-12-02T04:59:59Z", scope: acme("+15551230009"), typ: store.EventOptedOut, method: store.MethodPortal, actor: "portal"},                  // 23:59:59: the last second
		change{at: "2026-12-02T05:00:00Z", scope: acme("+15551230010"), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"}, // the next day
	)
	if _, err := st.EraseNumber(context.Background(), "+15551230008", store.MethodAPI, "admin"); err != nil {
		t.Fatal(err)
	}
	ny := zone(t, "America/New_York")
	var b bytes.Buffer
	rows, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: day(t, "2026-12-01", ny)})
	if err != nil {
		t.Fatal(err)
	}
	if rows != 7 {
		t.Errorf("%d rows, want 7", rows)
	}
	// The whole file, as a CSV reader gets it: erased number blank, and a
	// cell that would start a formula with an apostrophe.
	const want = `opted_out_at,number,organization,sender,method,by,erased,seq
2026-12-01T00:00:00-05:00,+15551230002,acme,,sms_keyword,handset,,2
2026-12-01T07:30:00-05:00,+447700900004,globex,15550001000,agent,desk-1,,4
2026-12-01T08:00:00-05:00,+15551230005,acme,,import,'@import,,5
2026-12-01T09:00:00-05:00,+15551230007,acme,,api,ops@example.com,,7
2026-12-01T10:00:00-05:00,,acme,,sms_keyword,handset,true,8
2026-12-01T11:00:00-05:00,+15551230003,acme,,sms_keyword,handset,,9
2026-12-01T23:59:59-05:00,+15551230009,acme,,portal,portal,,10
`
	if b.String() != want {
		t.Errorf("the file is\n%s\nwant\n%s", b.Bytes(), want)
	}

	// The same day in UTC is another span: the first STOP is in, the
	// 23:59:59 New York one of the next UTC day is out.
	b.Reset()
	if _, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: day(t, "2026-12-01", time.UTC)}); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, b.Bytes())
	if len(got) != 8 || got[1][1] != "+15551230001" || got[len(got)-1][1] != "+15551230003" {
		t.Errorf("the UTC day:\n%s", b.Bytes())
	}

	// One account, and a caller's tenancy.
	b.Reset()
	if _, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: day(t, "2026-12-01", ny), Org: "globex"}); err != nil {
		t.Fatal(err)
	}
	if got := readCSV(t, b.Bytes()); len(got) != 2 || got[1][1] != "+447700900004" || got[1][3] != "15550001000" {
		t.Errorf("globex's:\n%s", b.Bytes())
	}
	b.Reset()
	n, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: day(t, "2026-12-01", ny), Keep: func(org string) bool { return org == "acme" }})
	if err != nil || n != 6 {
		t.Errorf("acme's: %d rows, %v\n%s", n, err, b.Bytes())
	}
}

// On the days the clocks change the day is 25 or 23 hours long, and the
// file covers exactly that.
func TestOptOutFileOnDaylightSavingDays(t *testing.T) {
	st := openStore(t)
	acme := func(n string) store.Scope { return store.OrgScope("acme", n) }
	stop := func(at, number string) change {
		return change{at: at, scope: acme(number), typ: store.EventOptedOut, method: store.MethodSMSKeyword, actor: "handset", mo: "STOP"}
	}
	apply(t, st,
		stop("2026-03-08T04:59:59Z", "+15551230101"), // 7 March 23:59:59 EST
		stop("2026-03-08T05:00:00Z", "+15551230102"), // 8 March 00:00 EST
		stop("2026-03-09T03:59:59Z", "+15551230103"), // 8 March 23:59:59 EDT: 23 hours on
		stop("2026-03-09T04:00:00Z", "+15551230104"), // 9 March 00:00 EDT
		stop("2026-11-01T03:59:59Z", "+15551230105"), // 31 October 23:59:59 EDT
		stop("2026-11-01T04:00:00Z", "+15551230106"), // 1 November 00:00 EDT
		stop("2026-11-02T04:59:59Z", "+15551230107"), // 1 November 23:59:59 EST: 25 hours on
		stop("2026-11-02T05:00:00Z", "+15551230108"), // 2 November 00:00 EST
	)
	ny := zone(t, "America/New_York")
	for _, c := range []struct {
		day   string
		hours float64
		want  []string
	}{
		{"2026-03-08", 23, []string{"+15551230102", "+15551230103"}},
		{"2026-11-01", 25, []string{"+15551230106", "+15551230107"}},
	} {
		d := day(t, c.day, ny)
		if h := d.End().Sub(d.Start()).Hours(); h != c.hours {
			t.Errorf("%s is %g hours long, want %g", c.day, h, c.hours)
		}
		var b bytes.Buffer
		if _, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: d}); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, b.Bytes())
		var numbers []string
		for _, r := range rows[1:] {
			numbers = append(numbers, r[1])
		}
		if fmt.Sprint(numbers) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.day, numbers, c.want)
		}
	}
}

// A day of many opt-outs comes out whole, row for row, in the order they
// occurred.
func TestOptOutFileOfALargeDay(t *testing.T) {
	st := openStore(t)
	const n = 2500
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	changes := make([]store.Change, n)
	for i := range changes {
		changes[i] = store.Change{Scope: store.OrgScope("acme", fmt.Sprintf("+1555124%04d", i)), Type: store.EventStateImported, State: store.StateOptedOut,
			Mode: store.ModeConsent, OccurredAt: start.Add(time.Duration(n-i) * 30 * time.Second), Method: store.MethodImport, Actor: "import"}
	}
	if _, err := st.Import(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rows, err := exports.WriteOptOuts(context.Background(), st, &b, exports.OptOutQuery{Day: day(t, "2026-12-01", time.UTC)})
	if err != nil || rows != n {
		t.Fatalf("%d rows, %v; want %d", rows, err, n)
	}
	got := readCSV(t, b.Bytes())
	if len(got) != n+1 {
		t.Fatalf("%d lines, want %d and a header", len(got), n)
	}
	for i, r := range got[1:] {
		// Written newest first, so the file's order is the reverse.
		if want := fmt.Sprintf("+1555124%04d", n-1-i); r[1] != want {
			t.Fatalf("row %d is %s, want %s", i+1, r[1], want)
		}
	}
}

// Days are calendar days of their zone, also where midnight does not
// exist (Santiago moved its clocks from 24:00 to 01:00).
func TestDays(t *testing.T) {
	scl := zone(t, "America/Santiago")
	d := day(t, "2016-08-14", scl)
	if d.String() != "2016-08-14" || d.Start().In(scl).Hour() != 1 || d.Prev().String() != "2016-08-13" || d.Next().String() != "2016-08-15" {
		t.Errorf("Santiago's 14 August 2016: %s from %v, before %s, after %s", d, d.Start(), d.Prev(), d.Next())
	}
	if h := d.End().Sub(d.Start()).Hours(); h != 23 {
		t.Errorf("it is %g hours long", h)
	}
	if got := d.Prev().End(); !got.Equal(d.Start()) {
		t.Errorf("the day before ends at %v, not at %v", got, d.Start())
	}
	if got := exports.DayOf(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), zone(t, "America/New_York")).String(); got != "2026-11-30" {
		t.Errorf("03:00Z on 1 December is %s in New York", got)
	}
	if got := day(t, "2026-12-31", time.UTC).Next().String(); got != "2027-01-01" {
		t.Errorf("the day after 31 December is %s", got)
	}
	for _, bad := range []string{"", "2026-13-01", "2026-12-1", "01/12/2026", "2026-12-01T00:00:00Z"} {
		if _, err := exports.ParseDay(bad, time.UTC); err == nil {
			t.Errorf("ParseDay(%q) took it", bad)
		}
	}
	if exports.OptOutFileName(day(t, "2026-12-01", time.UTC)) != "optouts-2026-12-01.csv" {
		t.Error("file name")
	}
}
