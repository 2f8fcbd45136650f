package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// applyN appends n consent events to distinct numbers.
func applyN(t *testing.T, s *Badger, c *clock, n int) {
	t.Helper()
	for i := range n {
		mustApply(t, s, change(OrgScope("acme", num(i)), EventOptedOut, c.Now()))
	}
}

func mustAttempt(t *testing.T, s *Badger, name string, a WebhookAttempt, through uint64, keep int) WebhookState {
	t.Helper()
	st, err := s.LogWebhookAttempt(ctx, name, a, through, keep)
	if err != nil {
		t.Fatalf("LogWebhookAttempt(%s): %v", name, err)
	}
	return st
}

// A new endpoint starts at the head, or at the ledger's start when asked;
// its cursor moves only forward, only on success or an explicit skip, and
// is read back the same after the store is closed and opened again.
func TestWebhookCursor(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openT(t, Options{Dir: dir, Clock: c.Now})
	applyN(t, s, c, 3)
	if _, ok, err := s.WebhookState(ctx, "crm"); ok || err != nil {
		t.Fatalf("WebhookState before start: ok %v, %v", ok, err)
	}
	crm, err := s.StartWebhook(ctx, "crm", false)
	if err != nil || crm.Cursor != 3 {
		t.Fatalf("StartWebhook(crm, at head) = %+v, %v; want cursor 3", crm, err)
	}
	all, err := s.StartWebhook(ctx, "all", true)
	if err != nil || all.Cursor != 0 {
		t.Fatalf("StartWebhook(all, from start) = %+v, %v; want cursor 0", all, err)
	}

	at := c.Now()
	failed := WebhookAttempt{At: at, Duration: 30 * time.Millisecond, Try: 1, Events: []string{"1-aa", "2-bb"}, FirstSeq: 1, LastSeq: 2,
		Status: 503, Error: "HTTP 503: try later"}
	if st := mustAttempt(t, s, "all", failed, 3, 10); st.Cursor != 0 || st.Failures != 1 || st.Attempts != 1 || st.LastError != failed.Error || !st.LastFailure.Equal(at) {
		t.Fatalf("after a failed attempt: %+v; the cursor must stay at 0", st)
	}
	ok := WebhookAttempt{At: at.Add(time.Second), Duration: 5 * time.Millisecond, Try: 2, Events: []string{"1-aa", "2-bb"}, FirstSeq: 1, LastSeq: 2, Status: 204, OK: true}
	st := mustAttempt(t, s, "all", ok, 2, 10)
	if st.Cursor != 2 || st.Delivered != 2 || st.Failures != 0 || st.Attempts != 2 || !st.LastSuccess.Equal(ok.At) || st.LastError != failed.Error {
		t.Fatalf("after a successful attempt: %+v; want cursor 2, 2 delivered, failures reset, the last error kept", st)
	}
	if st, err = s.AdvanceWebhook(ctx, "all", 1); err != nil || st.Cursor != 2 {
		t.Fatalf("AdvanceWebhook back to 1 = %+v, %v; the cursor never moves back", st, err)
	}
	if st, err = s.AdvanceWebhook(ctx, "all", 3); err != nil || st.Cursor != 3 || st.Attempts != 2 {
		t.Fatalf("AdvanceWebhook to 3 = %+v, %v", st, err)
	}
	if st := mustAttempt(t, s, "all", WebhookAttempt{At: at, Try: 1, OK: true, Events: []string{"3-cc"}, FirstSeq: 3, LastSeq: 3}, 1, 10); st.Cursor != 3 {
		t.Fatalf("a success through an earlier seq moved the cursor back: %+v", st)
	}
	if _, err := s.StartWebhook(ctx, "all", true); err != nil {
		t.Fatal(err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir, Clock: c.Now})
	got, found, err := s.WebhookState(ctx, "all")
	if err != nil || !found || got.Cursor != 3 || got.Delivered != 3 || got.Attempts != 3 {
		t.Fatalf("after reopening: %+v, %v, %v; want cursor 3, 3 delivered, 3 attempts (a restart keeps the cursor)", got, found, err)
	}
	list, err := s.WebhookAttempts(ctx, "all", 0, 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("WebhookAttempts = %d, %v; want 3", len(list), err)
	}
	failed.N = 1
	if !reflect.DeepEqual(list[2], failed) {
		t.Errorf("the oldest attempt read back as\n%+v\nwant\n%+v", list[2], failed)
	}
	if list[0].N != 3 || list[1].N != 2 || !list[1].OK || list[1].Status != 204 {
		t.Errorf("attempts not newest first, or changed: %+v", list)
	}
	if st, _, _ := s.WebhookState(ctx, "crm"); st.Cursor != 3 || st.Attempts != 0 {
		t.Errorf("crm's state %+v changed with all's", st)
	}
	mustVerify(t, s)
}

// The log keeps the latest keep attempts of each endpoint, pages newest
// first, and a smaller keep trims it at the next attempt.
func TestWebhookAttemptsBounded(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		for _, name := range []string{"a", "ab"} {
			if _, err := s.StartWebhook(ctx, name, true); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 12; i++ {
			mustAttempt(t, s, "a", WebhookAttempt{At: c.Now(), Try: i, Status: 500, Error: "HTTP 500"}, 0, 5)
		}
		mustAttempt(t, s, "ab", WebhookAttempt{At: c.Now(), Try: 1, OK: true, Status: 200}, 0, 5)
		list, err := s.WebhookAttempts(ctx, "a", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ns []uint64
		for _, a := range list {
			ns = append(ns, a.N)
		}
		if !reflect.DeepEqual(ns, []uint64{12, 11, 10, 9, 8}) {
			t.Fatalf("kept attempts %v; want the latest 5, newest first", ns)
		}
		page, err := s.WebhookAttempts(ctx, "a", 10, 2)
		if err != nil || len(page) != 2 || page[0].N != 9 || page[1].N != 8 {
			t.Fatalf("the page before 10: %+v, %v; want 9 and 8", page, err)
		}
		if page, _ := s.WebhookAttempts(ctx, "a", 8, 10); len(page) != 0 {
			t.Fatalf("before the oldest kept: %+v; want none", page)
		}
		st := mustAttempt(t, s, "a", WebhookAttempt{At: c.Now(), Try: 13, Error: "timeout"}, 0, 2)
		if list, _ := s.WebhookAttempts(ctx, "a", 0, 100); len(list) != 2 || list[0].N != 13 || list[1].N != 12 || st.First != 12 {
			t.Fatalf("after keep went down to 2: %d attempts, first %d; want 13 and 12", len(list), st.First)
		}
		if list, _ := s.WebhookAttempts(ctx, "ab", 0, 100); len(list) != 1 || !list[0].OK {
			t.Fatalf("ab's attempts %+v; another endpoint's log is apart", list)
		}
		if st.Failures != 13 {
			t.Errorf("failures %d, want 13", st.Failures)
		}
	})
}

// A cursor past the head (a ledger replaced by a shorter one) starts
// again at the head; bad names, an unstarted endpoint and bad bounds are
// refused; a long error is cut.
func TestWebhookRefusals(t *testing.T) {
	s, c := memStore(t)
	applyN(t, s, c, 2)
	if _, err := s.StartWebhook(ctx, "crm", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceWebhook(ctx, "crm", 40); err != nil {
		t.Fatal(err)
	}
	if st, err := s.StartWebhook(ctx, "crm", false); err != nil || st.Cursor != 2 {
		t.Fatalf("StartWebhook with the cursor past the head = %+v, %v; want cursor 2", st, err)
	}
	for _, name := range []string{"", strings.Repeat("x", maxWebhookName+1), "a\nb"} {
		if _, err := s.StartWebhook(ctx, name, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("StartWebhook(%q): %v, want ErrInvalid", name, err)
		}
		if _, err := s.WebhookAttempts(ctx, name, 0, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("WebhookAttempts(%q): %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.LogWebhookAttempt(ctx, "nope", WebhookAttempt{At: c.Now()}, 0, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("LogWebhookAttempt of an unstarted endpoint: %v, want ErrNotFound", err)
	}
	if _, err := s.AdvanceWebhook(ctx, "nope", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("AdvanceWebhook of an unstarted endpoint: %v, want ErrNotFound", err)
	}
	for _, keep := range []int{0, maxWebhookKeep + 1} {
		if _, err := s.LogWebhookAttempt(ctx, "crm", WebhookAttempt{At: c.Now()}, 0, keep); !errors.Is(err, ErrInvalid) {
			t.Errorf("keep %d: %v, want ErrInvalid", keep, err)
		}
	}
	if _, err := s.LogWebhookAttempt(ctx, "crm", WebhookAttempt{At: c.Now(), Events: make([]string, maxWebhookEvents+1)}, 0, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many event ids: %v, want ErrInvalid", err)
	}
	if _, err := s.WebhookAttempts(ctx, "crm", 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("limit 0: %v, want ErrInvalid", err)
	}
	long := strings.Repeat("é", maxWebhookError) // two bytes each
	mustAttempt(t, s, "crm", WebhookAttempt{At: c.Now(), Error: long}, 0, 10)
	list, _ := s.WebhookAttempts(ctx, "crm", 0, 1)
	if len(list) != 1 || len(list[0].Error) != maxWebhookError || list[0].Error != long[:maxWebhookError] {
		t.Errorf("a long error kept as %d bytes; want it cut to %d on a character boundary", len(list[0].Error), maxWebhookError)
	}
	if st, _, _ := s.WebhookState(ctx, "crm"); st.Attempts != 1 || st.Cursor != 2 {
		t.Errorf("refused calls changed the state: %+v", st)
	}
}

// A backup carries the cursors with the ledger they point into.
func TestWebhookStateInBackup(t *testing.T) {
	c := newClock()
	s := openT(t, Options{InMemory: true, Clock: c.Now, KeyFile: filepath.Join(t.TempDir(), KeyFileName)})
	applyN(t, s, c, 4)
	if _, err := s.StartWebhook(ctx, "crm", true); err != nil {
		t.Fatal(err)
	}
	want := mustAttempt(t, s, "crm", WebhookAttempt{At: c.Now(), Try: 1, OK: true, Status: 200, Events: []string{"1-a"}, FirstSeq: 1, LastSeq: 1}, 3, 10)
	var buf bytes.Buffer
	if err := s.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	r := openT(t, Options{InMemory: true, Clock: c.Now, KeyFile: s.opts.KeyFile})
	if err := r.Restore(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := r.WebhookState(ctx, "crm"); err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("restored state %+v, %v, %v; want %+v", got, ok, err, want)
	}
}
