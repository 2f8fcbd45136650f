package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestEraseNumber erases a handset with an opt-out, an opt-in and a held
// message in three organizations, next to one that stays, and checks what
// the issue asks of erasure: the chain verifies, the events say nothing,
// the opt-out is still enforced, a new contact starts a new subject, and
// the key's bytes (the control value: the wrapped subject key, read before
// the erasure) are in no file of the data directory once badger has
// written and compacted.
func TestEraseNumber(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	opts := Options{Dir: dir, Clock: c.Now, uncompressed: true}
	s := openT(t, opts)
	const a, other = "+15551230001", "+15551230002"
	mustApply(t, s, change(OrgScope("acme", a), EventOptedIn, c.Now()))
	stop := change(OrgScope("acme", a), EventOptedOut, c.Now())
	stop.MO = &MO{Raw: []byte("STOP now please"), Text: "STOP now please"}
	stopSeq := mustApply(t, s, stop).Event.Seq
	mustApply(t, s, change(OrgScope("globex", a), EventOptedIn, c.Now()))
	mustApply(t, s, change(OrgScope("initech", a), EventConsentRequested, c.Now()))
	if _, err := s.Hold(ctx, HeldMessage{ID: "og-held-a", Scope: OrgScope("initech", a), SystemID: "esme", PDU: pdu(1)}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, change(OrgScope("acme", other), EventOptedIn, c.Now()))
	s.Log(Record{ID: "og-log-a", Org: "acme", Number: a, At: c.Now(), Status: MsgSent})
	flushLog(t, s, 1)

	var wrapped []byte
	var oldID SubjectID
	if err := s.cdb.View(func(txn *badger.Txn) error {
		subj, ok, err := s.subjectOf(txn, s.pseudonym(a))
		if err != nil || !ok {
			return errors.Join(err, errors.New("no subject before the erasure"))
		}
		oldID = subj.id
		item, err := txn.Get(subjectRecKey(subj.id))
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		wrapped, _, _, _, err = decodeSubject(v)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	rep, err := s.EraseNumber(ctx, a, MethodAPI, "admin-1")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scopes != 3 || rep.Suppressed != 1 || rep.Held != 1 || len(rep.Events) != 3 || rep.Subject != oldID || rep.Messages != 1 {
		t.Fatalf("erasure = %+v", rep)
	}
	if _, err := s.EraseNumber(ctx, a, MethodAPI, "admin-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("erasing again: %v", err)
	}

	// Every event still verifies; the subject's say nothing readable.
	mustVerify(t, s)
	ev, err := s.Event(ctx, stopSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Erased || ev.Scope.Number != "" || ev.MO != nil || ev.Subject != oldID || ev.Type != EventOptedOut {
		t.Fatalf("the erased opt-out reads %+v", ev)
	}
	erased, err := s.Event(ctx, rep.Events[0])
	if err != nil || erased.Type != EventErased || erased.Actor != "admin-1" || erased.Subject != oldID {
		t.Fatalf("erased event = %+v, %v", erased, err)
	}
	if n := len(collect(t, s, EventFilter{Number: a})); n != 0 {
		t.Fatalf("%d events found by the erased number", n)
	}

	// The opt-out is enforced; the rest is gone; the other handset stays.
	if st := s.State(OrgScope("acme", a)); st != StateOptedOut {
		t.Fatalf("acme's opt-out after the erasure: %v", st)
	}
	for _, org := range []string{"globex", "initech"} {
		if _, ok := s.Lookup(OrgScope(org, a)); ok {
			t.Fatalf("%s still has a record of the erased handset", org)
		}
	}
	if cs, err := s.Consent(ctx, OrgScope("acme", a)); err != nil || !cs.Erased || cs.State != StateOptedOut || !cs.UpdatedAt.IsZero() || cs.OptedOutMethod != MethodSMSKeyword {
		t.Fatalf("the suppression entry = %+v, %v", cs, err)
	}
	for _, f := range []ConsentFilter{{NumberPrefix: a}, {Org: "acme", NumberPrefix: a}} {
		if page, err := s.ListConsents(ctx, f); err != nil || len(page.Items) != 1 || !page.Items[0].Erased || page.Items[0].Scope.Number != a {
			t.Fatalf("listing %+v after the erasure: %+v %v; want the suppression entry as the number's", f, page, err)
		}
	}
	if page, err := s.ListConsents(ctx, ConsentFilter{Org: "globex", NumberPrefix: a}); err != nil || len(page.Items) != 0 {
		t.Fatalf("globex's records of the erased number: %+v %v", page, err)
	}
	if held, err := s.Held(ctx, OrgScope("initech", a)); err != nil || len(held) != 0 {
		t.Fatalf("held after the erasure: %v %v", held, err)
	}
	if page, err := s.Messages(ctx, MessageFilter{Number: a}); err != nil || len(page.Items) != 0 {
		t.Fatalf("message log by the erased number: %+v %v", page, err)
	}
	if st := s.State(OrgScope("acme", other)); st != StateOptedIn {
		t.Fatalf("the other handset: %v", st)
	}
	mustAgree(t, s)

	// Without a restart (nothing the committer keeps in memory may
	// outlive the erasure): a change to the suppressed scope starts a new
	// subject with an opt_out_kept event, so that the record (opted out by
	// text, which an agent may not override) follows from the chain.
	c.Advance(time.Minute)
	help := mustApply(t, s, change(OrgScope("acme", a), EventHelpSent, c.Now()))
	if help.Event.PrevState != StateOptedOut || help.Consent.State != StateOptedOut || help.Consent.OptedOutMethod != MethodSMSKeyword ||
		help.Event.Subject == oldID || help.Consent.Erased || !help.Consent.CreatedAt.Equal(help.Event.OccurredAt) {
		t.Fatalf("a change after the erasure: event %+v, record %+v", help.Event, help.Consent)
	}
	kept, err := s.Event(ctx, help.Event.Seq-1)
	if err != nil || kept.Type != EventOptOutKept || kept.Subject != help.Event.Subject || kept.NewState != StateOptedOut ||
		kept.Method != MethodSMSKeyword || kept.Scope.Number != a {
		t.Fatalf("the event before it = %+v, %v", kept, err)
	}

	// After a restart the suppression still holds (the index loads it), and
	// a new contact from the handset starts a new subject.
	s.Close()
	s = openT(t, opts)
	if st := s.State(OrgScope("acme", a)); st != StateOptedOut {
		t.Fatalf("acme's opt-out after a restart: %v", st)
	}
	again := mustApply(t, s, change(OrgScope("globex", a), EventOptedIn, c.Now()))
	if again.Event.Subject == oldID || again.Event.Subject.IsZero() {
		t.Fatal("a new contact did not start a new subject")
	}
	mustAgree(t, s)
	mustVerify(t, s)
	s.Close()

	// No file of the data directory holds the erased key, the number or
	// the MO text (compression is off; the organization names are there,
	// as a control of the scan).
	if len(scanDir(t, dir, "initech")) == 0 {
		t.Fatal("the control string is not in the files: the scan sees nothing")
	}
	for what, v := range map[string]string{"the wrapped subject key": string(wrapped), "the number": strings.TrimPrefix(a, "+"), "the MO text": "STOP now please"} {
		if f := scanDir(t, dir, v); len(f) > 0 {
			t.Errorf("%s is still in %v", what, f)
		}
	}
}

// TestSweepRetention runs the sweep with an injected clock over handsets
// with last events at different times in organizations with different
// retention (one that keeps forever), and a subject made by a hold alone.
func TestSweepRetention(t *testing.T) {
	c := newClock()
	s := openT(t, Options{Dir: t.TempDir(), Clock: c.Now})
	t0 := c.Now()
	retention := func(org string) time.Duration {
		switch org {
		case "acme":
			return time.Hour
		case "globex":
			return 0 // kept
		}
		return 2 * time.Hour
	}
	const a, b, cc, d = "+15551230001", "+15551230002", "+15551230003", "+15551230004"
	mustApply(t, s, change(OrgScope("acme", a), EventOptedOut, t0))
	mustApply(t, s, change(OrgScope("acme", b), EventOptedIn, t0))
	mustApply(t, s, change(OrgScope("globex", b), EventOptedIn, t0))
	mustApply(t, s, change(OrgScope("acme", cc), EventOptedIn, t0.Add(50*time.Minute)))
	if _, err := s.Hold(ctx, HeldMessage{ID: "og-d", Scope: OrgScope("initech", d), SystemID: "esme", PDU: pdu(4)}); err != nil {
		t.Fatal(err)
	}

	rep, err := s.SweepRetention(ctx, t0.Add(70*time.Minute), retention)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Subjects != 1 || rep.ByOrg["acme"] != 1 || len(rep.ByOrg) != 1 || rep.Event == 0 {
		t.Fatalf("first sweep = %+v", rep)
	}
	ev, err := s.Event(ctx, rep.Event)
	if err != nil || ev.Type != EventRetentionSwept || ev.Note != "erased 1 subjects past retention; scopes per organization: acme 1" || strings.Contains(ev.Note, "555") {
		t.Fatalf("sweep event = %+v, %v", ev, err)
	}
	if st := s.State(OrgScope("acme", a)); st != StateOptedOut {
		t.Fatalf("the swept opt-out reads %v", st)
	}
	if cs, _ := s.Consent(ctx, OrgScope("acme", a)); !cs.Erased {
		t.Fatal("the swept subject's record is not a suppression entry")
	}
	for _, n := range []string{b, cc} {
		if _, err := s.SubjectData(ctx, n); err != nil {
			t.Fatalf("%s was swept early: %v", n, err)
		}
	}

	// Later: the newer opt-in and the hold-only subject go; the handset
	// of the organization that keeps forever stays; the swept one's
	// suppression entry stays.
	rep, err = s.SweepRetention(ctx, t0.Add(3*time.Hour), retention)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Subjects != 2 || rep.ByOrg["acme"] != 1 {
		t.Fatalf("second sweep = %+v", rep)
	}
	if _, err := s.SubjectData(ctx, cc); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s after its retention: %v", cc, err)
	}
	if held, err := s.GetHeld(ctx, "og-d"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the hold-only subject's message after its retention: %+v %v", held, err)
	}
	if d, err := s.SubjectData(ctx, b); err != nil || len(d.Events) != 2 {
		t.Fatalf("%s, kept by globex: %+v %v", b, d, err)
	}
	if st := s.State(OrgScope("acme", a)); st != StateOptedOut {
		t.Fatalf("the suppression entry after another sweep: %v", st)
	}
	mustVerify(t, s)
	mustAgree(t, s)

	// Nothing more to do: no event.
	if rep, err := s.SweepRetention(ctx, t0.Add(3*time.Hour), retention); err != nil || rep.Subjects != 0 || rep.Event != 0 {
		t.Fatalf("an idle sweep = %+v, %v", rep, err)
	}
}

const eraseCrashEnv = "OPTGUARD_STORE_ERASE_DIR"

// TestEraseCrashChild erases the numbers of eraseCrashNumbers one by one
// and prints each once EraseNumber returned; it runs only under
// TestEraseCrash.
func TestEraseCrashChild(t *testing.T) {
	dir := os.Getenv(eraseCrashEnv)
	if dir == "" {
		t.Skip("runs only as the erasure crash test's child")
	}
	s, err := OpenBadger(Options{Dir: dir})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	for i := 0; i < eraseCrashNumbers; i++ {
		if _, err := s.EraseNumber(ctx, num(i), MethodAPI, "crash"); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("erased %d\n", i)
	}
	s.Close()
	os.Exit(0)
}

const eraseCrashNumbers = 40

// TestEraseCrash SIGKILLs a process that erases number after number, at
// moments spread over its run, and checks that every number is wholly
// erased (no subject; its opt-out a suppression entry; its other scope and
// its held message gone) or wholly there, never between, and that every
// number the child said it erased is.
func TestEraseCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	seed := func(dir string) {
		c := newClock()
		s := openT(t, Options{Dir: dir})
		for i := 0; i < eraseCrashNumbers; i++ {
			mustApply(t, s, change(OrgScope("acme", num(i)), EventOptedOut, c.Now()))
			mustApply(t, s, change(OrgScope("globex", num(i)), EventConsentRequested, c.Now()))
			if _, err := s.Hold(ctx, HeldMessage{ID: fmt.Sprint("og-", i), Scope: OrgScope("globex", num(i)), SystemID: "esme", PDU: pdu(i)}); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	for round := 0; round < 10; round++ {
		dir := t.TempDir()
		seed(dir)
		cmd := exec.Command(exe, "-test.run", "^TestEraseCrashChild$")
		cmd.Env = append(os.Environ(), eraseCrashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		said := map[int]bool{}
		lines := bufio.NewScanner(out)
		killAfter := time.Duration(round*37%200) * time.Millisecond
		var timer *time.Timer
		for lines.Scan() {
			line := lines.Text()
			if line == "ready" {
				timer = time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
			var i int
			if _, err := fmt.Sscanf(line, "erased %d", &i); err == nil {
				said[i] = true
			}
		}
		cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		s := openT(t, Options{Dir: dir})
		mustVerify(t, s)
		mustAgree(t, s)
		erased := 0
		for i := 0; i < eraseCrashNumbers; i++ {
			_, subjErr := s.SubjectData(ctx, num(i))
			acme, _ := s.Consent(ctx, OrgScope("acme", num(i)))
			_, globexErr := s.Consent(ctx, OrgScope("globex", num(i)))
			_, heldErr := s.GetHeld(ctx, fmt.Sprint("og-", i))
			gone := errors.Is(globexErr, ErrNotFound) && errors.Is(heldErr, ErrNotFound) && acme.Erased
			intact := globexErr == nil && heldErr == nil && !acme.Erased && subjErr == nil
			switch {
			case acme.State != StateOptedOut || s.State(OrgScope("acme", num(i))) != StateOptedOut:
				t.Fatalf("round %d: %s's opt-out reads %v", round, num(i), acme.State)
			case gone == intact:
				t.Fatalf("round %d (kill after %v): %s is half erased: acme %+v, globex %v, held %v", round, killAfter, num(i), acme, globexErr, heldErr)
			case said[i] && !gone:
				t.Fatalf("round %d: %s was erased and is back", round, num(i))
			}
			if gone {
				erased++
			}
		}
		t.Logf("round %d: killed after %v, %d erased (%d said)", round, killAfter, erased, len(said))
		s.Close()
	}
}

// SubjectData says what the ledger, the records, the holds and the log
// say of the number, opened, and nothing of another number.
func TestSubjectDataMatchesTheStore(t *testing.T) {
	c := newClock()
	s := openT(t, Options{Dir: t.TempDir(), Clock: c.Now})
	const a = "+15551230001"
	stop := change(OrgScope("acme", a), EventOptedOut, c.Now())
	stop.MO = &MO{Raw: []byte("STOP"), Text: "STOP"}
	mustApply(t, s, stop)
	mustApply(t, s, change(SenderScope("acme", "+15550000001", a), EventConsentRequested, c.Now()))
	mustApply(t, s, change(OrgScope("acme", "+15551230002"), EventOptedIn, c.Now()))
	if _, err := s.Hold(ctx, HeldMessage{ID: "og-1", Scope: SenderScope("acme", "+15550000001", a), SystemID: "esme", PDU: pdu(1)}); err != nil {
		t.Fatal(err)
	}
	s.Log(Record{ID: "og-1", Org: "acme", Sender: "+15550000001", Number: a, At: c.Now(), Status: MsgHeld})
	flushLog(t, s, 1)

	d, err := s.SubjectData(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	if err := s.Events(ctx, EventFilter{Number: a}, func(ev Event) error { events = append(events, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Events, events) || len(events) != 2 || d.Events[0].MO.Text != "STOP" {
		t.Fatalf("events: export %+v, ledger %+v", d.Events, events)
	}
	for _, cs := range d.Consents {
		want, err := s.Consent(ctx, cs.Scope)
		if err != nil || !reflect.DeepEqual(want, cs) {
			t.Fatalf("consent %+v; the store says %+v, %v", cs, want, err)
		}
	}
	if len(d.Consents) != 2 || len(d.Held) != 1 || d.Held[0].ID != "og-1" || !bytes.Equal(d.Held[0].PDU, pdu(1)) ||
		len(d.Messages) != 1 || d.Messages[0].Number != a || d.Subject != events[0].Subject {
		t.Fatalf("subject data = %+v", d)
	}
}
