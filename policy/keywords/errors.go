package keywords

import (
	"errors"
	"strconv"
)

// Sentinel errors; Compile wraps them in an *EntryError that names the entry.
var (
	ErrEmptyEntry = errors.New("keywords: empty entry")
	ErrNormalizes = errors.New("keywords: entry normalizes to nothing")
	ErrConflict   = errors.New("keywords: the same keyword in two classes")
	ErrPattern    = errors.New("keywords: malformed pattern")
	ErrLang       = errors.New("keywords: bad language tag")
	ErrEmoji      = errors.New("keywords: not an emoji")
	ErrTooLong    = errors.New("keywords: entry too long")
)

// EntryError names the entry Compile refused, so that a caller can point at
// the configuration key it came from (languages.<Lang>.<List>[<Index>]).
type EntryError struct {
	Lang  string // language tag of the list; "" for the emoji list
	List  string // "opt_out", "opt_in", "help", "intent", "negative", "emoji", "lists" (the language tag) or "fcc" (an FCC word put in another class)
	Index int    // position of the entry in its list
	Entry string // the entry as written
	// Other names the entry this one conflicts with (ErrConflict), as
	// "<lang> <list>[<index>] <entry>"; empty otherwise.
	Other  string
	Detail string // what exactly is malformed, for ErrPattern
	Err    error  // one of the sentinels above
}

func (e *EntryError) Error() string {
	s := "keywords: "
	if e.Lang != "" {
		s += e.Lang + " "
	}
	s += e.List + "[" + strconv.Itoa(e.Index) + "] " + strconv.Quote(e.Entry) + ": "
	msg := e.Err.Error()
	if len(msg) > len("keywords: ") && msg[:len("keywords: ")] == "keywords: " {
		msg = msg[len("keywords: "):]
	}
	s += msg
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Other != "" {
		s += " (also " + e.Other + ")"
	}
	return s
}

func (e *EntryError) Unwrap() error { return e.Err }
