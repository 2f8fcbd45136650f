package policy

import (
	"errors"
	"testing"

	"github.com/optguard/optguard/store"
)

func TestCheckChange(t *testing.T) {
	optedOutBy := func(m store.Method) store.Consent {
		return store.Consent{State: store.StateOptedOut, OptedOutMethod: m}
	}
	tests := []struct {
		name string
		cur  store.Consent
		ch   store.Change
		want error
	}{
		{"unknown → opted in by agent with proof", store.Consent{}, store.Change{Type: store.EventOptedIn, Method: store.MethodAgent}, nil},
		{"pending → opted in by handset", store.Consent{State: store.StatePending}, store.Change{Type: store.EventOptedIn, Method: store.MethodSMSKeyword}, nil},
		{"opted in → opted out by API", store.Consent{State: store.StateOptedIn}, store.Change{Type: store.EventOptedOut, Method: store.MethodAPI}, nil},
		{"handset STOP → handset START", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventOptedIn, Method: store.MethodSMSKeyword}, nil},
		{"handset STOP → agent opt-in", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventOptedIn, Method: store.MethodAgent}, ErrHandsetOptedOut},
		{"handset STOP → API opt-in", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventOptedIn, Method: store.MethodAPI}, ErrHandsetOptedOut},
		{"handset STOP → portal opt-in", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventOptedIn, Method: store.MethodPortal}, ErrHandsetOptedOut},
		{"handset STOP → agent request", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventConsentRequested, Method: store.MethodAgent}, ErrHandsetOptedOut},
		{"handset STOP → agent PIN", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventPINSent, Method: store.MethodAgent}, ErrHandsetOptedOut},
		{"handset STOP → reset by API", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventReset, Method: store.MethodAPI}, ErrHandsetOptedOut},
		{"handset STOP → request when the handset writes", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventConsentRequested, Method: store.MethodSystem}, nil},
		{"handset STOP → second STOP", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventOptedOut, Method: store.MethodSMSKeyword}, nil},
		{"handset STOP → confirmation sent", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventConfirmationSent, Method: store.MethodSystem}, nil},
		{"portal opt-out → portal opt-in", optedOutBy(store.MethodPortal), store.Change{Type: store.EventOptedIn, Method: store.MethodPortal}, nil},
		{"portal opt-out → handset START", optedOutBy(store.MethodPortal), store.Change{Type: store.EventOptedIn, Method: store.MethodSMSKeyword}, nil},
		{"portal opt-out → agent opt-in", optedOutBy(store.MethodPortal), store.Change{Type: store.EventOptedIn, Method: store.MethodAgent}, ErrPortalOptedOut},
		{"agent opt-out → agent request", optedOutBy(store.MethodAgent), store.Change{Type: store.EventConsentRequested, Method: store.MethodAgent}, ErrRequestOptedOut},
		{"API opt-out → portal request", optedOutBy(store.MethodAPI), store.Change{Type: store.EventConsentRequested, Method: store.MethodPortal}, ErrRequestOptedOut},
		{"agent opt-out → agent opt-in with proof", optedOutBy(store.MethodAgent), store.Change{Type: store.EventOptedIn, Method: store.MethodAgent}, nil},
		{"API opt-out → handset START", optedOutBy(store.MethodAPI), store.Change{Type: store.EventOptedIn, Method: store.MethodSMSKeyword}, nil},
		{"import restates an opt-out", optedOutBy(store.MethodSMSKeyword), store.Change{Type: store.EventStateImported, State: store.StateOptedOut, Method: store.MethodImport}, nil},
		{"import cannot lift an opt-out", optedOutBy(store.MethodAPI), store.Change{Type: store.EventStateImported, State: store.StateOptedIn, Method: store.MethodImport}, ErrImportLifts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckChange(tt.cur, &tt.ch)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckChange = %v; want %v", err, tt.want)
			}
		})
	}
}

// The rules hold inside the store's transaction: a guarded agent opt-in of
// a handset that texted STOP is refused and appends nothing.
func TestGuardInStore(t *testing.T) {
	s, err := store.OpenBadger(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc := store.OrgScope("acme", "+15551230001")
	ctx := t.Context()
	stop := store.Change{Scope: sc, Type: store.EventOptedOut, OccurredAt: testNow, Method: store.MethodSMSKeyword, Actor: "handset"}
	if _, err := s.Apply(ctx, stop); err != nil {
		t.Fatal(err)
	}
	in := store.Change{Scope: sc, Type: store.EventOptedIn, OccurredAt: testNow, Method: store.MethodAgent, Actor: "agent-7", Note: "consent on paper"}
	in.Guard = Guard(&in)
	if _, err := s.Apply(ctx, in); !errors.Is(err, ErrHandsetOptedOut) {
		t.Fatalf("agent opt-in after a handset STOP: %v; want ErrHandsetOptedOut", err)
	}
	if st := s.State(sc); st != store.StateOptedOut {
		t.Fatalf("state %v after the refused opt-in", st)
	}
	start := store.Change{Scope: sc, Type: store.EventOptedIn, OccurredAt: testNow, Method: store.MethodSMSKeyword, Actor: "handset"}
	start.Guard = Guard(&start)
	if _, err := s.Apply(ctx, start); err != nil {
		t.Fatalf("handset START: %v", err)
	}
	if st := s.State(sc); st != store.StateOptedIn {
		t.Fatalf("state %v after START", st)
	}
}
