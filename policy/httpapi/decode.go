package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decodeJSON reads the request's JSON object into v strictly: the body
// must be application/json, one object no larger than the API's limit,
// with no field v does not have. Each failure is an *Error naming what is
// wrong, and where.
func (a *API) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "the body must be JSON (Content-Type: application/json), got " + strconv.Quote(ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.max.body))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the body is larger than the %d bytes this API takes (admin.max_body_bytes)", tooBig.Limit)}
	}
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "reading the body: " + err.Error()}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "the body must be a JSON object, and it is empty"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "the body must be one JSON object; more follows it"}
	}
	return nil
}

// jsonError says what encoding/json found wrong, with the field or the
// line and column.
func jsonError(body []byte, err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, syn)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "the body must be a JSON object, got " + typ.Value}
		}
		return badRequest(field, "must be "+jsonKind(typ.Type.Kind().String())+", got "+typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "malformed JSON: the body ends in the middle of a value"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return &Error{Status: http.StatusBadRequest, Code: "unknown_field", Field: name, Message: "unknown field " + strconv.Quote(name) + " (see /openapi.json for the fields this endpoint takes)"}
	}
	return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "malformed JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "uint32", "uint64", "float64":
		return "a number"
	}
	return "a " + goKind
}

// position is the 1-based line and column of byte offset off in b.
func position(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// query reads a request's query parameters, each at most once.
type query struct {
	r   *http.Request
	err error
}

func (q *query) str(name string) string {
	vs := q.r.URL.Query()[name]
	if len(vs) > 1 && q.err == nil {
		q.err = badRequest(name, "give it once")
	}
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// time reads an RFC 3339 time ("2026-12-01T00:00:00Z") or a date
// ("2026-12-01", midnight UTC).
func (q *query) time(name string) time.Time {
	s := q.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil && q.err == nil {
		q.err = badRequest(name, err.Error())
	}
	return t
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("must be an RFC 3339 time (2026-12-01T09:30:00Z) or a date (2026-12-01), got %q", s)
}

// limit reads a page size, 1..1000; 0 when absent (the store's default).
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if (err != nil || n < 1 || n > 1000) && q.err == nil {
		q.err = badRequest("limit", "must be a whole number from 1 to 1000, got "+strconv.Quote(s))
	}
	return n
}

// checkQuery refuses parameters the route does not take, so that a typo
// is not silently a filter that was not applied.
func checkQuery(r *http.Request, allowed []string) error {
	for name := range r.URL.Query() {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return &Error{Status: http.StatusBadRequest, Code: "unknown_parameter", Field: name, Message: "unknown query parameter " + strconv.Quote(name) + ": this endpoint takes none"}
			}
			return &Error{Status: http.StatusBadRequest, Code: "unknown_parameter", Field: name,
				Message: "unknown query parameter " + strconv.Quote(name) + "; this endpoint takes " + strings.Join(allowed, ", ")}
		}
	}
	return nil
}

// firstErr is the first of errs that is not nil: the fault of a request
// read in several steps is the first one found.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
