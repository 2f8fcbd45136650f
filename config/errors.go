package config

import (
	"strconv"
	"strings"
)

// Error is one problem with a configuration: the dotted key it concerns and,
// when the configuration came from a file, the file name and line. Parse,
// Load and Validate return these, several joined with errors.Join; find them
// with errors.As.
type Error struct {
	File string // file name as given to Parse or Load; empty for a Config built in code
	Line int    // 1-based line in File; 0 when unknown
	Key  string // dotted key path, like "session.window" or "upstream.routes[0].address"; empty for the file as a whole
	Msg  string // what is wrong

	// keyInMsg is set when Msg names the key itself (unknown keys), so
	// Error does not repeat it.
	keyInMsg bool
	// cause is the error KeyError was given, for errors.Is and errors.As.
	cause error
}

// Unwrap returns the error that Config.KeyError wrapped, or nil.
func (e *Error) Unwrap() error { return e.cause }

// Error formats e as "file:line: key: msg", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" && !e.keyInMsg {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// source records where a Config was read from.
type source struct {
	name  string         // file name, as given to Parse
	lines map[string]int // dotted key path → line of that key (or list element) in the file
}

// locate returns the file and line for key: the line of the key itself, or
// when the file does not set it, of the closest enclosing key it does set.
func (s *source) locate(key string) (string, int) {
	if s == nil {
		return "", 0
	}
	return s.name, Locate(s.lines, key)
}

// parentKey strips the last component of a dotted key path:
// "a.b[2]" → "a.b", "a.b" → "a", "a" → "".
func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i >= 0 {
			return k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// joinKey appends a mapping key to a dotted key path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
