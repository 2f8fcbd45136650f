package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/store"
)

func subjectCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	return cliCmd(runSubject, args...)
}

// TestSubjectCommands exports a number's data, erases it (refused without
// the number repeated), and exports again: only the opt-out's suppression
// entry is left, and the ledger still verifies.
func TestSubjectCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.OpenBadger(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const number = "+15551230042"
	for _, ch := range []store.Change{
		{Scope: store.OrgScope("acme", number), Type: store.EventOptedIn, Mode: store.ModeConsent, OccurredAt: time.Now(), Method: store.MethodSMSKeyword, Actor: "handset",
			MO: &store.MO{Raw: []byte("YES"), Text: "YES"}},
		{Scope: store.OrgScope("acme", number), Type: store.EventOptedOut, Mode: store.ModeConsent, OccurredAt: time.Now(), Method: store.MethodSMSKeyword, Actor: "handset",
			MO: &store.MO{Raw: []byte("STOP it"), Text: "STOP it"}},
		{Scope: store.OrgScope("globex", number), Type: store.EventOptedIn, Mode: store.ModeConsent, OccurredAt: time.Now(), Method: store.MethodAgent, Actor: "agent-3", Note: "on the phone"},
	} {
		if _, err := s.Apply(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	type export struct {
		Number   string `json:"number"`
		Subject  string `json:"subject"`
		Consents []struct {
			Organization string `json:"organization"`
			State        string `json:"state"`
			Erased       bool   `json:"erased"`
		} `json:"consents"`
		Events []struct {
			Type string `json:"type"`
			MO   *struct {
				Text string `json:"text"`
			} `json:"mo"`
			Note string `json:"note"`
		} `json:"events"`
	}
	read := func(args ...string) export {
		t.Helper()
		code, out, errOut := subjectCmd(t, append([]string{"export", "-data", dir}, args...)...)
		if code != 0 {
			t.Fatalf("export = %d\n%s", code, errOut)
		}
		var e export
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("export is not JSON: %v\n%s", err, out)
		}
		return e
	}
	e := read("(555) 123-0042", "-region", "US")
	if e.Number != number || e.Subject == "" || len(e.Consents) != 2 || len(e.Events) != 3 ||
		e.Events[1].MO == nil || e.Events[1].MO.Text != "STOP it" || e.Events[2].Note != "on the phone" {
		t.Fatalf("export = %+v", e)
	}

	if code, _, errOut := subjectCmd(t, "erase", "-data", dir, number); code != 2 || !strings.Contains(errOut, "-confirm") {
		t.Fatalf("erase without -confirm = %d\n%s", code, errOut)
	}
	code, out, errOut := subjectCmd(t, "erase", "-data", dir, "-actor", "dpo", "-confirm", number, number)
	if code != 0 || !strings.Contains(out, "2 scopes (1 kept opted out") || strings.Contains(out, number) {
		t.Fatalf("erase = %d\n%s%s", code, out, errOut)
	}
	e = read(number)
	if e.Subject != "" || len(e.Events) != 0 || len(e.Consents) != 1 || !e.Consents[0].Erased || e.Consents[0].State != "opted_out" || e.Consents[0].Organization != "acme" {
		t.Fatalf("export after the erasure = %+v", e)
	}
	if code, out, errOut := storeCmd(t, "verify", "-data", dir); code != 0 || !strings.Contains(out, "ledger ok: 5 events") {
		t.Fatalf("verify after the erasure = %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := subjectCmd(t, "export", "-data", dir, "+15551230043"); code != 1 || !strings.Contains(errOut, "nothing is held") {
		t.Fatalf("export of an unknown number = %d\n%s", code, errOut)
	}
}
