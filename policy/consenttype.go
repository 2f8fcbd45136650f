package policy

import (
	"strings"

	"github.com/optguard/optguard/store"
)

// consentTypeNote starts the note of a consent recorded by a person or an
// import: the policy writes it first, so a note the caller adds after it
// cannot pass for one.
const consentTypeNote = "consent type: "

// ConsentTypeOfEvent says how the consent that ev recorded was given: the
// handset's own reply (a keyword, or the YES and PIN of a double opt-in)
// is sms_response, the web portal's web, a person's or an import's the
// type it named; "" when ev is not an opt-in or named none.
func ConsentTypeOfEvent(ev store.Event) ConsentType {
	if ev.NewState != store.StateOptedIn || (ev.Type != store.EventOptedIn && ev.Type != store.EventStateImported) {
		return ""
	}
	switch {
	case ev.Method == store.MethodSMSKeyword:
		return ConsentSMSResponse
	case ev.Method == store.MethodPortal:
		return ConsentWeb
	case strings.HasPrefix(ev.Note, "double opt-in: PIN verified"):
		return ConsentSMSResponse
	case strings.HasPrefix(ev.Note, consentTypeNote):
		t, _, _ := strings.Cut(ev.Note[len(consentTypeNote):], ";")
		if ct := ConsentType(t); oneOf(ct, ConsentTypes) {
			return ct
		}
	}
	return ""
}
