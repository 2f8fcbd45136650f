package webhooks

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/optguard/optguard/store"
)

// The groups of events an endpoint may ask for, besides event type names.
const (
	// GroupConsentChanges: every event whose new state differs from the
	// previous one (an opt-out, an opt-in, a request, an import, a reset),
	// but an erasure, whose event no longer says whose consent it was.
	GroupConsentChanges = "consent_changes"
	// GroupReview: possible opt-outs waiting for a person, and their
	// dismissals (a decision to opt out is a consent change).
	GroupReview = "review"
	// GroupAll: every event.
	GroupAll = "all"
)

// DefaultEvents is what an endpoint that lists no events gets.
var DefaultEvents = []string{GroupConsentChanges, GroupReview}

// Selection is what one endpoint is sent.
type Selection struct {
	names   []string // as configured, for the API
	all     bool
	changes bool
	types   [32]bool // by store.EventType
}

// ParseEvents reads an endpoint's events list: group names and event
// type names (opted_out, pin_sent …); empty is DefaultEvents. An unknown
// name is an error that lists the known ones.
func ParseEvents(names []string) (Selection, error) {
	if len(names) == 0 {
		names = DefaultEvents
	}
	s := Selection{names: slices.Clone(names)}
	for i, n := range names {
		switch n {
		case GroupAll:
			s.all = true
		case GroupConsentChanges:
			s.changes = true
		case GroupReview:
			s.types[store.EventPossibleOptOut] = true
			s.types[store.EventReviewDismissed] = true
		default:
			t, err := store.ParseEventType(n)
			if err != nil || int(t) >= len(s.types) {
				return Selection{}, &EventsError{Index: i, Name: n}
			}
			s.types[t] = true
		}
	}
	return s, nil
}

// EventsError is an unknown name in an events list.
type EventsError struct {
	Index int // its position in the list
	Name  string
}

func (e *EventsError) Error() string {
	return fmt.Sprintf("webhooks: unknown event %q: write %s, %s, %s or event types (%s)",
		e.Name, GroupConsentChanges, GroupReview, GroupAll, strings.Join(eventTypeNames(), ", "))
}

// eventTypeNames lists the store's event types by name.
func eventTypeNames() []string {
	var out []string
	for t := store.EventType(1); t.Valid(); t++ {
		out = append(out, t.String())
	}
	return out
}

// Names is the list as configured (DefaultEvents for an empty one).
func (s Selection) Names() []string { return slices.Clone(s.names) }

// Match reports whether ev is for the endpoint.
func (s Selection) Match(ev *store.Event) bool {
	switch {
	case s.all:
		return true
	case int(ev.Type) < len(s.types) && s.types[ev.Type]:
		return true
	}
	return s.changes && ev.PrevState != ev.NewState && ev.Type != store.EventErased
}

// Event is one event as an endpoint receives it: the ledger's view of it,
// with its number (none for an erased subject) and its id.
type Event struct {
	// ID is the event's id for de-duplication: its sequence number and
	// the first 8 bytes of its hash in hex, "42-9f86d081884c7d65". A
	// repeated delivery repeats it; two events never share it, even
	// across a ledger replaced by another.
	ID string `json:"id"`
	store.EventView
}

// EventID is ev's id (see Event.ID).
func EventID(ev *store.Event) string {
	return strconv.FormatUint(ev.Seq, 10) + "-" + hex.EncodeToString(ev.Hash[:8])
}

// viewOf is ev as it is sent.
func viewOf(ev *store.Event) Event {
	v := Event{ID: EventID(ev), EventView: store.ViewEvent(*ev)}
	v.Number = ev.Scope.Number // empty once erased
	return v
}

// Payload is the body of every request: the endpoint's name and its
// events, in ledger order.
type Payload struct {
	Endpoint string  `json:"endpoint"`
	Events   []Event `json:"events"`
}

// body is the JSON of a Payload from events already encoded, so that a
// batch is cut by its size as it is read.
func body(endpoint string, events []json.RawMessage) []byte {
	name, _ := json.Marshal(endpoint)
	n := len(name) + 32
	for _, e := range events {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"endpoint":`...)
	b = append(b, name...)
	b = append(b, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, "]}"...)
}
