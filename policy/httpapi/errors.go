package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
	"github.com/rs/zerolog"
)

// Error is an API error: the status and the body every error has,
// {"error": {"code", "message", "field"}}. Code is stable for programs,
// Message is for people and says what to do, Field names the request
// field at fault, if one is.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func badRequest(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: field + ": " + msg}
}

func notFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

// apiError maps what the policy and the store return to the API's error:
// the status says whose move it is (400/422 fix the request, 409 the
// state forbids it, 503 retry later) and the message is the policy's own
// words, which name the rule.
func apiError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := words(err)
	var fe *policy.FieldError
	var ce *policy.CountryError
	var pe *policy.PINError
	var df *store.DiskFullError
	switch {
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: fe.Field, Message: msg}
	case errors.As(err, &ce):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "country_not_allowed", Field: "number", Message: msg}
	case errors.As(err, &pe):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "wrong_pin", Field: "pin", Message: msg}
	case errors.Is(err, policy.ErrInvalidNumber), errors.Is(err, store.ErrInvalidNumber):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_number", Field: "number", Message: msg}
	case errors.Is(err, policy.ErrSenderRequired), errors.Is(err, policy.ErrInvalidSender):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "sender", Message: msg}
	case errors.Is(err, policy.ErrUnknownOrganization):
		return &Error{Status: http.StatusNotFound, Code: "unknown_organization", Field: "organization", Message: msg}
	case errors.Is(err, policy.ErrHandsetOptedOut), errors.Is(err, policy.ErrPortalOptedOut),
		errors.Is(err, policy.ErrImportLifts), errors.Is(err, policy.ErrRequestOptedOut):
		return &Error{Status: http.StatusConflict, Code: "override_refused", Message: msg}
	case errors.Is(err, policy.ErrNoPIN), errors.Is(err, policy.ErrPINNotSent),
		errors.Is(err, policy.ErrPINExpired), errors.Is(err, policy.ErrPINLocked):
		return &Error{Status: http.StatusConflict, Code: "pin_unavailable", Message: msg}
	case errors.Is(err, policy.ErrNotOptedOut), errors.Is(err, policy.ErrNotUnderReview):
		return &Error{Status: http.StatusConflict, Code: "not_applicable", Message: msg}
	case errors.Is(err, store.ErrStateChanged):
		return &Error{Status: http.StatusConflict, Code: "state_changed", Message: "the consent state changed while the request ran; read it again and retry"}
	case errors.Is(err, store.ErrBadCursor):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "cursor", Message: "cursor: not one this API returned; start again without it"}
	case errors.Is(err, store.ErrNotFound):
		return notFound(msg)
	case errors.As(err, &df), errors.Is(err, store.ErrDiskFull):
		return &Error{Status: http.StatusServiceUnavailable, Code: "disk_full", Message: msg + "; nothing was changed, retry when the operator has freed space"}
	case errors.Is(err, policy.ErrClosing), errors.Is(err, store.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "optguard is shutting down; retry on another instance or after it restarts"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the request was cancelled or took too long; retry"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; the optguard log has the details"}
}

// words is err's message without the "policy: " or "store: " prefix that
// tells a log reader where it came from.
func words(err error) string {
	msg := err.Error()
	for _, p := range []string{"policy: ", "store: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// writeError answers err as the API's error body. A 5xx other than the
// expected ones is logged with the error itself, which the answer leaves
// out.
func writeError(w http.ResponseWriter, r *http.Request, log zerolog.Logger, err error) {
	e := apiError(err)
	if e.Status == http.StatusInternalServerError {
		log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("operator API request failed")
	}
	if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v) // a write error means the client left; nothing to tell it
}
