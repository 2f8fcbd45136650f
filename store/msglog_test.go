package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestIDMap(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		if err := s.MapMessageID(ctx, "og-1", "0A1B2C"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SMSCMessageID(ctx, "og-1"); err != nil || got != "0A1B2C" {
			t.Errorf("SMSCMessageID = %q, %v", got, err)
		}
		if got, err := s.OptguardMessageID(ctx, "0A1B2C"); err != nil || got != "og-1" {
			t.Errorf("OptguardMessageID = %q, %v", got, err)
		}
		if _, err := s.OptguardMessageID(ctx, "never"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		if err := s.MapMessageID(ctx, "", "x"); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty id: %v", err)
		}
		st, _ := s.Stats(ctx)
		if st.IDMappings != 1 {
			t.Errorf("IDMappings = %d", st.IDMappings)
		}
		if allocs := testing.AllocsPerRun(100, func() { s.OptguardMessageID(ctx, "not-ours") }); allocs != 0 {
			t.Errorf("receipt lookup allocates %v times", allocs)
		}
	})
}

func TestIDMapSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	if err := s.MapMessageID(ctx, "og-7", "77"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, Options{Dir: dir})
	if got, err := s.OptguardMessageID(ctx, "77"); err != nil || got != "og-7" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
	if got, err := s.SMSCMessageID(ctx, "og-7"); err != nil || got != "77" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
}

func TestIDMapTTL(t *testing.T) {
	// badger judges expiry by the wall clock, so map with a clock far
	// enough in the past that the TTL has already run out.
	c := newClock()
	c.t = time.Now().Add(-73 * time.Hour)
	s := openT(t, Options{InMemory: true, Clock: c.Now})
	if err := s.MapMessageID(ctx, "old", "1"); err != nil {
		t.Fatal(err)
	}
	c.t = time.Now().Add(-71 * time.Hour)
	if err := s.MapMessageID(ctx, "young", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SMSCMessageID(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("mapping older than 72h still there: %v", err)
	}
	if _, err := s.OptguardMessageID(ctx, "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reverse mapping older than 72h still there: %v", err)
	}
	if got, err := s.SMSCMessageID(ctx, "young"); err != nil || got != "2" {
		t.Errorf("71h-old mapping: %q %v", got, err)
	}

	short := openT(t, Options{InMemory: true, Clock: func() time.Time { return time.Now().Add(-2 * time.Hour) }, IDMapTTL: time.Hour})
	short.MapMessageID(ctx, "a", "b")
	if _, err := short.SMSCMessageID(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("IDMapTTL option ignored: %v", err)
	}
}

// flushLog waits until the writer has written n items.
func flushLog(t *testing.T, s *Badger, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.ml.written.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("message log wrote %d of %d items", s.ml.written.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestMessageLog(t *testing.T) {
	backends(t, func(t *testing.T, s *Badger, c *clock) {
		base := time.Now().Truncate(time.Second).Add(-time.Hour).UTC()
		for i := 0; i < 10; i++ {
			n := "+15551230001"
			if i%2 == 1 {
				n = "+15551230002"
			}
			s.Log(Record{ID: fmt.Sprint("m", i), Org: "acme", Sender: "+15550000001", Number: n, At: base.Add(time.Duration(i) * time.Minute), Status: MsgHeld})
		}
		s.LogStatus("m0", MsgSent, base.Add(time.Hour))
		s.LogStatus("m0", MsgDelivered, base.Add(2*time.Hour))
		s.LogStatus("m2", MsgExpired, base.Add(time.Hour))
		flushLog(t, s, 13)

		m, err := s.Message(ctx, "m0")
		if err != nil {
			t.Fatal(err)
		}
		want := []StatusChange{{MsgHeld, base}, {MsgSent, base.Add(time.Hour)}, {MsgDelivered, base.Add(2 * time.Hour)}}
		if m.Org != "acme" || m.Number != "+15551230001" || fmt.Sprint(m.History) != fmt.Sprint(want) {
			t.Fatalf("m0 = %+v", m)
		}

		// By number and time range, paged.
		f := MessageFilter{Number: "+15551230001", From: base.Add(time.Minute), To: base.Add(9 * time.Minute), Limit: 2}
		var got []string
		for {
			p, err := s.Messages(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.Items {
				got = append(got, m.ID)
			}
			if p.NextCursor == "" {
				break
			}
			f.Cursor = p.NextCursor
		}
		if fmt.Sprint(got) != "[m2 m4 m6 m8]" {
			t.Fatalf("by number = %v", got)
		}
		p, err := s.Messages(ctx, MessageFilter{From: base.Add(8 * time.Minute)})
		if err != nil || len(p.Items) != 2 || p.Items[0].ID != "m8" || p.Items[1].ID != "m9" {
			t.Fatalf("by time = %+v %v", p, err)
		}
		if _, err := s.Messages(ctx, MessageFilter{Number: "+15551230002", Cursor: f.Cursor}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor of another query accepted: %v", err)
		}
		st, _ := s.Stats(ctx)
		if st.LogRecords != 10 || st.LogWritten != 13 || st.LogDropped != 0 {
			t.Errorf("stats: %+v", st)
		}
	})
}

func TestMessageLogDropsInsteadOfBlocking(t *testing.T) {
	c := newClock()
	s := openT(t, Options{InMemory: true, Clock: c.Now, MessageLog: MessageLogOptions{QueueSize: 4, BatchSize: 1}})
	start := time.Now()
	for i := 0; i < 10000; i++ {
		s.Log(Record{ID: fmt.Sprint(i), Org: "acme", Number: "+15551230001", Status: MsgSent})
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Log blocked: 10000 calls took %v", d)
	}
	st, _ := s.Stats(ctx)
	if st.LogDropped == 0 {
		t.Fatal("a 4-slot queue took 10000 records without dropping any")
	}
	before := s.ml.dropped.Load()
	s.LogStatus("1", 0, time.Now())
	s.LogStatus("1", 99, time.Now())
	s.Log(Record{ID: "", Status: MsgSent})
	if got := s.ml.dropped.Load() - before; got != 3 {
		t.Fatalf("malformed items: %d dropped, want 3", got)
	}
	// Close drains what was queued: everything accepted is written.
	s.Close()
	if got := s.ml.written.Load() + s.ml.dropped.Load(); got != 10003 {
		t.Fatalf("written %d + dropped %d != 10000", s.ml.written.Load(), s.ml.dropped.Load())
	}
}

func TestMessageLogSamplingAndRetention(t *testing.T) {
	c := newClock()
	s := openT(t, Options{InMemory: true, Clock: c.Now, MessageLog: MessageLogOptions{Mode: LogSampled, SampleRate: 0.25}})
	now := time.Now().UTC()
	for i := 0; i < 2000; i++ {
		id := fmt.Sprint("s", i)
		s.Log(Record{ID: id, Org: "acme", Number: "+15551230001", At: now, Status: MsgSent})
		s.LogStatus(id, MsgDelivered, now.Add(time.Second))
	}
	s.Close()
	kept := s.ml.written.Load()
	if kept%2 != 0 {
		t.Fatalf("a message's record and status were sampled apart (%d items)", kept)
	}
	if kept < 2*400 || kept > 2*600 {
		t.Fatalf("kept %d items of 4000 at rate 0.25", kept)
	}

	off := openT(t, Options{InMemory: true, MessageLog: MessageLogOptions{Mode: LogOff}})
	off.Log(Record{ID: "x", Number: "+15551230001"})
	off.Close()
	if off.ml.written.Load() != 0 {
		t.Fatal("LogOff wrote")
	}

	// Records older than the retention are gone.
	r := openT(t, Options{InMemory: true, MessageLog: MessageLogOptions{Retention: time.Hour}})
	r.Log(Record{ID: "old", Number: "+15551230001", At: time.Now().Add(-2 * time.Hour), Status: MsgSent})
	r.Log(Record{ID: "new", Number: "+15551230001", At: time.Now(), Status: MsgSent})
	flushLog(t, r, 2)
	if _, err := r.Message(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("record past retention: %v", err)
	}
	if _, err := r.Message(ctx, "new"); err != nil {
		t.Errorf("fresh record: %v", err)
	}
}
