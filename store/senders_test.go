package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// The sender directory's entries survive a restart, a put replaces the
// entry of its organization and sender only, a delete says what it took
// and refuses what is not there, and invalid entries change nothing.
func TestSenderDirectory(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s := openT(t, Options{Dir: dir, Clock: c.Now})
	if got, err := s.Senders(ctx); err != nil || len(got) != 0 {
		t.Fatalf("an empty directory: %v %v", got, err)
	}
	at := c.Now()
	entries := []SenderEntry{
		{Org: "acme", Sender: "15550001000", Name: "Acme Billing", ChangedBy: "admin", ChangedAt: at},
		{Org: "acme", Sender: "ACME", Name: "Acme", ChangedBy: "admin", ChangedAt: at},
		{Org: "acme-sales", Sender: "15550001000", Name: "Acme Sales — Zoë", ChangedBy: "acme-admin", ChangedAt: at},
		{Org: "globex", Sender: "447700900000", Name: "Globex", ChangedBy: "admin", ChangedAt: at},
	}
	for _, e := range entries {
		if err := s.PutSender(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	later := at.Add(time.Hour)
	entries[0] = SenderEntry{Org: "acme", Sender: "15550001000", Name: "Acme Collections", ChangedBy: "ops", ChangedAt: later}
	if err := s.PutSender(ctx, entries[0]); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []SenderEntry{
		{Sender: "1555", Name: "x", ChangedBy: "a", ChangedAt: at},
		{Org: "acme", Name: "x", ChangedBy: "a", ChangedAt: at},
		{Org: "acme", Sender: "1555", ChangedBy: "a", ChangedAt: at},
		{Org: "acme", Sender: "1555", Name: "bad\nname", ChangedBy: "a", ChangedAt: at},
		{Org: "acme", Sender: "1555", Name: "x", ChangedAt: at},
		{Org: "acme", Sender: "1555", Name: "x", ChangedBy: "a"},
	} {
		if err := s.PutSender(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutSender(%+v) = %v; want ErrInvalid", bad, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, Options{Dir: dir, Clock: c.Now})
	got, err := s.Senders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sameEntries(got, entries) {
		t.Fatalf("after a restart:\n got %+v\nwant %+v", got, entries)
	}
	gone, err := s.DeleteSender(ctx, "acme", "ACME")
	if err != nil || !reflect.DeepEqual(gone, entries[1]) {
		t.Fatalf("delete: %+v %v; want %+v", gone, err, entries[1])
	}
	if _, err := s.DeleteSender(ctx, "acme", "ACME"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting again: %v; want ErrNotFound", err)
	}
	if _, err := s.DeleteSender(ctx, "initech", "15550001000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting another organization's: %v; want ErrNotFound", err)
	}
	if got, _ = s.Senders(ctx); !sameEntries(got, []SenderEntry{entries[0], entries[2], entries[3]}) {
		t.Fatalf("after the delete: %+v", got)
	}
	// The directory is not proof: the ledger does not move.
	if seq, _, err := s.Head(ctx); err != nil || seq != 0 {
		t.Fatalf("head %d, %v", seq, err)
	}
	mustVerify(t, s)
}

func sameEntries(got, want []SenderEntry) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g.Org == w.Org && g.Sender == w.Sender && g.Name == w.Name && g.ChangedBy == w.ChangedBy && g.ChangedAt.Equal(w.ChangedAt)
		}
		if !found {
			return false
		}
	}
	return true
}
