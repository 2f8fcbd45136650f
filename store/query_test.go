package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// seedConsents creates records in two orgs with varied states, modes and times.
func seedConsents(t *testing.T, s Store, base time.Time) {
	t.Helper()
	for i := 0; i < 30; i++ {
		org := "acme"
		if i >= 20 {
			org = "globex"
		}
		sc := OrgScope(org, num(i))
		if i%10 == 9 {
			sc.Sender = "+15550000001"
		}
		typ := []EventType{EventConsentRequested, EventOptedIn, EventOptedOut}[i%3]
		ch := change(sc, typ, base.Add(time.Duration(i)*time.Minute))
		if i%4 == 0 {
			ch.Mode = ModeDisclaimer
		}
		mustApply(t, s, ch)
	}
}

func listAll(t *testing.T, s Store, f ConsentFilter) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		p, err := s.ListConsents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > pageLimit(f.Limit) || pages > 100 {
			t.Fatal("paging runs away")
		}
		for _, c := range p.Items {
			out = append(out, c.Scope.Org+":"+c.Scope.Number[len(c.Scope.Number)-2:])
		}
		if p.NextCursor == "" {
			slices.Sort(out) // records come in pseudonym order, no order of the numbers
			return out
		}
		f.Cursor = p.NextCursor
	}
}

func TestListConsents(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		base := c.Now()
		seedConsents(t, s, base)
		cases := []struct {
			name string
			f    ConsentFilter
			want string
		}{
			{"org", ConsentFilter{Org: "globex", Limit: 3},
				"[globex:20 globex:21 globex:22 globex:23 globex:24 globex:25 globex:26 globex:27 globex:28 globex:29]"},
			{"org+state", ConsentFilter{Org: "acme", States: []State{StateOptedOut}, Limit: 2},
				"[acme:02 acme:05 acme:08 acme:11 acme:14 acme:17]"},
			{"org+mode", ConsentFilter{Org: "acme", Modes: []Mode{ModeDisclaimer}},
				"[acme:00 acme:04 acme:08 acme:12 acme:16]"},
			{"number prefix in org", ConsentFilter{Org: "acme", NumberPrefix: "+1555000000"},
				"[acme:00 acme:01 acme:02 acme:03 acme:04 acme:05 acme:06 acme:07 acme:08 acme:09]"},
			{"number prefix across orgs", ConsentFilter{NumberPrefix: "1555000002", Limit: 4},
				"[globex:20 globex:21 globex:22 globex:23 globex:24 globex:25 globex:26 globex:27 globex:28 globex:29]"},
			{"sender scope", ConsentFilter{Org: "acme", Sender: "+15550000001"}, "[acme:09 acme:19]"},
			{"whole number across orgs", ConsentFilter{NumberPrefix: num(19)}, "[acme:19]"},
			{"updated range", ConsentFilter{UpdatedFrom: base.Add(18 * time.Minute), UpdatedTo: base.Add(21 * time.Minute)},
				"[acme:18 acme:19 globex:20]"},
			{"states set", ConsentFilter{Org: "globex", States: []State{StatePending, StateOptedIn}, NumberPrefix: "+155500000"},
				"[globex:21 globex:22 globex:24 globex:25 globex:27 globex:28]"},
		}
		for _, tc := range cases {
			if got := fmt.Sprint(listAll(t, s, tc.f)); got != tc.want {
				t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
			}
		}
		all := listAll(t, s, ConsentFilter{Limit: 7})
		if len(all) != 30 {
			t.Errorf("all = %d records", len(all))
		}
		p, _ := s.ListConsents(ctx, ConsentFilter{Org: "acme", Limit: 1})
		if _, err := s.ListConsents(ctx, ConsentFilter{Org: "globex", Cursor: p.NextCursor}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor from another org accepted: %v", err)
		}
		if _, err := s.ListConsents(ctx, ConsentFilter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("garbage cursor accepted: %v", err)
		}
		if _, err := s.ListConsents(ctx, ConsentFilter{NumberPrefix: "+1-555"}); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("bad prefix accepted: %v", err)
		}
		p, _ = s.ListConsents(ctx, ConsentFilter{Org: "acme", NumberPrefix: num(0)})
		if len(p.Items) != 1 {
			t.Fatalf("%d records of %s", len(p.Items), num(0))
		}
		full := p.Items[0]
		if full.Scope.Number != num(0) || full.State != StatePending || full.Mode != ModeDisclaimer || full.LastSeq != 1 {
			t.Errorf("record = %+v", full)
		}
	})
}

func collect(t *testing.T, s Store, f EventFilter) []uint64 {
	t.Helper()
	var seqs []uint64
	if err := s.Events(ctx, f, func(ev Event) error { seqs = append(seqs, ev.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	return seqs
}

func TestEvents(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		base := c.Now()
		seedConsents(t, s, base)
		// An event that occurred earlier than it was recorded (import of history).
		late := change(OrgScope("acme", num(3)), EventStateImported, base.Add(-time.Hour))
		mustApply(t, s, late) // seq 31

		cases := []struct {
			name string
			f    EventFilter
			want string
		}{
			{"seq range", EventFilter{FromSeq: 5, ToSeq: 8}, "[5 6 7 8]"},
			{"from seq", EventFilter{FromSeq: 29}, "[29 30 31]"},
			{"time range in occurred order", EventFilter{From: base.Add(-2 * time.Hour), To: base.Add(2 * time.Minute)}, "[31 1 2]"},
			{"number", EventFilter{Number: num(3)}, "[4 31]"},
			{"number+seq", EventFilter{Number: num(3), FromSeq: 5}, "[31]"},
			{"org+types", EventFilter{Org: "globex", Types: []EventType{EventOptedOut}}, "[21 24 27 30]"},
		}
		for _, tc := range cases {
			if got := fmt.Sprint(collect(t, s, tc.f)); got != tc.want {
				t.Errorf("%s: got %s want %s", tc.name, got, tc.want)
			}
		}
		stop := errors.New("enough")
		n := 0
		err := s.Events(ctx, EventFilter{}, func(Event) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Errorf("fn error did not stop the stream: %v after %d", err, n)
		}
		if err := s.Events(ctx, EventFilter{Number: "555"}, func(Event) error { return nil }); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("bad number: %v", err)
		}
	})
}
