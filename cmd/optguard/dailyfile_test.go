package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// movableClock is now plus an offset the test sets: optguard's time runs,
// and jumps when the test says.
type movableClock struct{ offset atomic.Int64 }

func (c *movableClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// set makes it t now.
func (c *movableClock) set(t time.Time) { c.offset.Store(int64(time.Until(t))) }

// optOutFile waits for the opt-out file of day in dir and returns its rows
// after the header.
func optOutFile(t *testing.T, dir, day string) [][]string {
	t.Helper()
	path := filepath.Join(dir, "optouts-"+day+".csv")
	var b []byte
	testenv.Eventually(t, 10*time.Second, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil
	}, "the opt-out file of "+day)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != "opted_out_at,number,organization,sender,method,by,erased,seq" {
		t.Fatalf("%s is not the opt-out file: %v\n%s", path, err, b)
	}
	return rows[1:]
}

func numbers(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[1])
	}
	return out
}

// serve writes the previous day's opt-out file each day at
// exports.opt_outs.time, in its time zone: at start the one that is due
// and missing, then each day as it comes due, each with the day's
// opt-outs only (the SMPP STOP of the next day in the next day's file);
// after a restart that missed a due time, the missed day's.
func TestServeWritesTheDailyOptOutFile(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, consentOrg, t.TempDir())
	dir := t.TempDir()
	cfg.Exports.OptOuts = config.OptOutFile{Dir: dir, Time: "02:30", TimeZone: "America/New_York"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	// The ledger before optguard starts: opt-outs on either side of
	// midnight in New York.
	st, err := store.OpenBadger(storeOptions(cfg, zerolog.Nop()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at, number string
		typ        store.EventType
	}{
		{"2026-11-30 23:59:59", "+15551230401", store.EventOptedOut},
		{"2026-12-01 00:00:00", "+15551230402", store.EventOptedOut},
		{"2026-12-01 12:00:00", "+15551230403", store.EventOptedIn},
		{"2026-12-01 23:59:59", "+15551230404", store.EventOptedOut},
	} {
		if _, err := st.Apply(context.Background(), store.Change{Scope: store.OrgScope("acme", c.number), Type: c.typ, Mode: store.ModeConsent,
			OccurredAt: at(c.at), Method: store.MethodSMSKeyword, Actor: "handset"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var clk movableClock
	clk.set(at("2026-12-02 01:00:00"))
	c := startWith(t, sim, cfg, startOptions{clock: clk.now, dailyNap: 20 * time.Millisecond})

	// 30 November's file was due on 1 December at 02:30 and is missing.
	if got := numbers(optOutFile(t, dir, "2026-11-30")); strings.Join(got, " ") != "+15551230401" {
		t.Fatalf("30 November's file has %v", got)
	}
	// A handset's STOP over SMPP now, on 2 December in New York.
	c.esme("acme", pdu.BindTransceiver) // the account bound, so that the SMSC has whom to send the MO to
	c.mo("acme", "STOP")
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "optouts-2026-12-01.csv")); !os.IsNotExist(err) {
		t.Fatalf("1 December's file was written before it was due: %v", err)
	}

	clk.set(at("2026-12-02 02:30:00"))
	rows := optOutFile(t, dir, "2026-12-01")
	if got := numbers(rows); strings.Join(got, " ") != "+15551230402 +15551230404" {
		t.Fatalf("1 December's file has %v", got)
	}
	if rows[0][0] != "2026-12-01T00:00:00-05:00" || rows[1][0] != "2026-12-01T23:59:59-05:00" {
		t.Fatalf("times %q %q, want New York's", rows[0][0], rows[1][0])
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(c.logs.String(), `"file":"`+filepath.Join(dir, "optouts-2026-12-01.csv")+`","day":"2026-12-01","rows":2`)
	}, "the log line of 1 December's file with its rows")

	clk.set(at("2026-12-03 02:30:00"))
	rows = optOutFile(t, dir, "2026-12-02")
	if len(rows) != 1 || rows[0][1] != "+"+guest || rows[0][4] != "sms_keyword" || rows[0][5] != "handset" {
		t.Fatalf("2 December's file: %q", rows)
	}

	// Down over 4 December's due time (5 December 02:30): at the restart
	// the missed day's file is written, not its days before.
	c.p.stop()
	clk.set(at("2026-12-05 09:00:00"))
	c = startWith(t, sim, cfg, startOptions{clock: clk.now, dailyNap: 20 * time.Millisecond})
	if rows := optOutFile(t, dir, "2026-12-04"); len(rows) != 0 {
		t.Fatalf("4 December's file: %q", rows)
	}
	if _, err := os.Stat(filepath.Join(dir, "optouts-2026-12-03.csv")); !os.IsNotExist(err) {
		t.Fatalf("3 December's file: %v", err)
	}
	c.p.stop()
	select {
	case <-c.p.daily.done:
	default:
		t.Fatal("the daily file's goroutine runs on after stop")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}

// A directory optguard cannot write to (gone since the configuration
// was checked; or, for a user other than root, read-only) stops the
// start with the key named.
func TestServeRefusesAnUnwritableOptOutDir(t *testing.T) {
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, consentOrg, t.TempDir())
	gone := filepath.Join(t.TempDir(), "gone")
	readOnly := t.TempDir()
	if err := os.Chmod(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{gone: "no such file or directory"}
	if os.Geteuid() != 0 {
		cases[readOnly] = "permission denied"
	}
	for dir, why := range cases {
		cfg.Exports.OptOuts.Dir = dir
		p, err := startWithOptions(cfg, zerolog.Nop(), startOptions{})
		if err == nil {
			p.stop()
			t.Fatalf("optguard started with the opt-out directory %s", dir)
		}
		if !strings.Contains(err.Error(), "exports.opt_outs.dir "+dir) || !strings.Contains(err.Error(), why) {
			t.Errorf("error %v, want the key and %q", err, why)
		}
	}
}
