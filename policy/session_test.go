package policy_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
)

// quick asks sess about m as the relay does (PrefetchMT first when
// prefetch, then QuickMT) and gives the answer as an Action: Defer when
// the Session leaves the MT to Engine.MT.
func quick(sess *policy.Session, m *pdu.Message, prefetch bool) (policy.Action, pdu.Status) {
	if prefetch {
		sess.PrefetchMT(m)
	}
	switch st, ok := sess.QuickMT(m); {
	case !ok:
		return policy.Defer, st
	case st == pdu.ESME_ROK:
		return policy.Forward, st
	default:
		return policy.Reject, st
	}
}

// TestSessionAgreesWithMT asks a Session about handsets of every class,
// as the relay does (PrefetchMT, then QuickMT) and with QuickMT alone, and
// checks it answers what Engine.MT answers.
func TestSessionAgreesWithMT(t *testing.T) {
	f := fixtureOf(t, 3000)
	for _, c := range mtCases {
		t.Run(c.name, func(t *testing.T) {
			r := newVerdictRun(t, f, c)
			sess := r.eng.Session(r.bind)
			for j := 0; j < 1000; j++ {
				setHandset(r.raw, r.off, c.class+3*j)
				want := r.eng.MT(r.bind, &r.msg, r.raw)
				if a, st := quick(sess, &r.msg, true); a != want.Action || st != want.Status {
					t.Fatalf("handset %d: the Session = %s %s, Engine.MT = %s %s", c.class+3*j, a, st, want.Action, want.Status)
				}
				if a, st := quick(sess, &r.msg, false); a != want.Action || st != want.Status {
					t.Fatalf("handset %d: QuickMT without PrefetchMT = %s %s, want %s %s", c.class+3*j, a, st, want.Action, want.Status)
				}
			}
		})
	}
}

// TestSessionFollowsReload starts a lookup under one configuration and
// finishes it under another: the Session answers under the new one, and a
// number packed under the old dial plan is not used.
func TestSessionFollowsReload(t *testing.T) {
	st, err := store.OpenBadger(store.Options{InMemory: true, MessageLog: store.MessageLogOptions{Mode: store.LogOff}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	orgs := func(mode policy.Mode, country string) []policy.Organization {
		return []policy.Organization{{Name: "acme", SystemIDs: []string{"acme"}, Mode: mode, DefaultCountry: country}}
	}
	eng, err := policy.New(policy.Options{Store: st, Transport: nopTransport{}, Logger: zerolog.Nop(), Organizations: orgs(policy.ModeDisclaimer, "US")})
	if err != nil {
		t.Fatal(err)
	}
	// +15551230007 has had its disclaimer: known in disclaimer mode.
	ch := store.Change{Scope: store.Scope{Org: "acme", Number: "+15551230007"}, Type: store.EventDisclaimerSent,
		Mode: store.ModeDisclaimer, OccurredAt: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), Method: store.MethodSystem, Actor: "system"}
	if _, err := st.Apply(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	// A national destination: 5551230007 is +1 555 123 0007 under US.
	raw, err := pdu.AppendSubmitSM(nil, 1, &pdu.SM{
		Source: pdu.Addr{TON: 1, NPI: 1, Addr: "15550000001"}, Dest: pdu.Addr{TON: 2, NPI: 1, Addr: "5551230007"},
		ShortMessage: []byte("hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var m pdu.Message
	if err := pdu.Scan(raw, &m); err != nil {
		t.Fatal(err)
	}
	sess := eng.Session(policy.Bind{SystemID: "acme", Session: 7})
	if a, _ := quick(sess, &m, true); a != policy.Forward {
		t.Fatalf("known handset in disclaimer mode: %s, want forward", a)
	}

	// Consent mode: the same handset has no opt-in, so the Session leaves
	// the MT to Engine.MT (which holds it).
	sess.PrefetchMT(&m)
	if err := eng.Reload(orgs(policy.ModeConsent, "US"), policy.Settings{}); err != nil {
		t.Fatal(err)
	}
	if a, _ := quick(sess, &m, false); a != policy.Defer {
		t.Fatalf("after the reload to consent mode: %s, want defer", a)
	}

	// Back to disclaimer mode but with GB as the default country: the
	// national number is now +44 5551230007, a first contact, so the
	// Session defers instead of using the number packed under US.
	if err := eng.Reload(orgs(policy.ModeDisclaimer, "US"), policy.Settings{}); err != nil {
		t.Fatal(err)
	}
	sess.PrefetchMT(&m)
	if err := eng.Reload(orgs(policy.ModeDisclaimer, "GB"), policy.Settings{}); err != nil {
		t.Fatal(err)
	}
	if a, _ := quick(sess, &m, false); a != policy.Defer {
		t.Fatalf("after the reload to GB: %s, want defer (a first contact of +445551230007)", a)
	}
}
