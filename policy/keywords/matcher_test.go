package keywords

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		err  error
		want string // substring of the message
	}{
		{"empty entry", Options{Lists: []List{{Lang: "en", OptOut: []string{"STOP", "  "}}}}, ErrEmptyEntry, `en opt_out[1] "  "`},
		{"normalizes to nothing", Options{Lists: []List{{Lang: "en", Help: []string{"?!"}}}}, ErrNormalizes, `en help[0] "?!"`},
		{"two classes", Options{Lists: []List{{Lang: "en", OptOut: []string{"NO"}}, {Lang: "es", OptIn: []string{"no!"}}}}, ErrConflict, `es opt_in[0] "no!": the same keyword in two classes (also en opt_out[0] NO)`},
		{"FCC word as opt-in", Options{Lists: []List{{Lang: "en", OptIn: []string{"Quit"}}}}, ErrConflict, `fcc[0] "quit"`},
		{"bad language", Options{Lists: []List{{Lang: "EN"}}}, ErrLang, `lists[0] "EN"`},
		{"language twice", Options{Lists: []List{{Lang: "en"}, {Lang: "en"}}}, ErrLang, "listed twice"},
		{"emoji with letters", Options{Emoji: []string{"🛑", "x🛑"}}, ErrEmoji, `emoji[1]`},
		{"emoji ascii", Options{Emoji: []string{":("}}, ErrEmoji, `emoji[0] ":("`},
		{"unclosed group", Options{Lists: []List{{Lang: "en", Intent: []string{"stop (texting|messaging me"}}}}, ErrPattern, `en intent[0] "stop (texting|messaging me": malformed pattern: unclosed (`},
		{"empty alternative", Options{Lists: []List{{Lang: "en", Intent: []string{"stop (texting|) me"}}}}, ErrPattern, "empty alternative"},
		{"leading wildcard", Options{Lists: []List{{Lang: "en", Intent: []string{"*2 stop"}}}}, ErrPattern, "begin with a wildcard"},
		{"all optional", Options{Lists: []List{{Lang: "fr", Negative: []string{"[pas]"}}}}, ErrPattern, "match no words"},
		{"wildcard width", Options{Lists: []List{{Lang: "en", Intent: []string{"stop *0 texts"}}}}, ErrPattern, "N must be"},
		{"too many wildcards", Options{Lists: []List{{Lang: "en", Intent: []string{"stop *1 a *1 b *1 c *1 d"}}}}, ErrPattern, "more than 3 wildcards"},
		{"unknown class", Options{Lists: []List{{Lang: "en", Intent: []string{"@optin now"}}}}, ErrPattern, "unknown class"},
		{"stray caret", Options{Lists: []List{{Lang: "en", Intent: []string{"stop ^ now"}}}}, ErrPattern, "only at the start"},
		{"stray bracket", Options{Lists: []List{{Lang: "en", Intent: []string{"stop ] now"}}}}, ErrPattern, "unexpected ']'"},
		{"word of punctuation", Options{Lists: []List{{Lang: "en", Intent: []string{"stop ?"}}}}, ErrNormalizes, `word "?"`},
		{"too long", Options{Lists: []List{{Lang: "en", OptOut: []string{strings.Repeat("ab", 40)}}}}, ErrTooLong, "too long"},
	} {
		_, err := Compile(tc.o)
		var ee *EntryError
		if !errors.Is(err, tc.err) || !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Compile = %v, want %v containing %q", tc.name, err, tc.err, tc.want)
		}
	}
}

func TestEntryErrorFields(t *testing.T) {
	_, err := Compile(Options{Lists: []List{{Lang: "es", OptOut: []string{"ALTO", ""}}}})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Lang != "es" || ee.List != "opt_out" || ee.Index != 1 || ee.Entry != "" || ee.Err != ErrEmptyEntry {
		t.Fatalf("Compile = %#v", err)
	}
}

// TestFCCWordsAlwaysRevoke: lists that leave the FCC words out still opt out
// on them; Compile adds them to "en".
func TestFCCWordsAlwaysRevoke(t *testing.T) {
	m, err := Compile(Options{Lists: Merge(Defaults(), []List{{Lang: "en", OptOut: []string{"HALT"}}}, true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range AlwaysOptOut() {
		r := m.ClassifyString(strings.ToUpper(w) + "!")
		if r.Class != OptOut || r.Rule != RuleKeyword || r.Lang != "en" || r.Keyword != strings.ToUpper(w) {
			t.Errorf("%q: %+v", w, r)
		}
	}
	if r := m.ClassifyString("halt"); r.Class != OptOut || r.Keyword != "HALT" {
		t.Errorf("halt: %+v", r)
	}
	// The replaced English list lost its patterns and seed 001's words...
	if r := m.ClassifyString("go away"); r.Class != None {
		t.Errorf("go away after replacing en: %+v", r)
	}
	// ...while the other languages kept theirs.
	if r := m.ClassifyString("no más mensajes"); r.Class != OptOut || r.Lang != "es" {
		t.Errorf("es intent after replacing en: %+v", r)
	}
	// An empty configuration still honours the FCC words.
	empty, err := Compile(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := empty.ClassifyString("Unsubscribe."); r.Class != OptOut || r.Keyword != "UNSUBSCRIBE" {
		t.Errorf("empty options: %+v", r)
	}
}

func TestMerge(t *testing.T) {
	base := Defaults()
	add := []List{{Lang: "en", OptOut: []string{"NO MAS"}, OptIn: []string{"SUBSCRIBE"}}, {Lang: "de", OptOut: []string{"STOPP"}, Help: []string{"HILFE"}}}
	merged := Merge(base, add, false)
	if len(merged) != 4 || merged[3].Lang != "de" {
		t.Fatalf("Merge langs: %v", merged)
	}
	if en := merged[0]; en.OptOut[len(en.OptOut)-1] != "NO MAS" || len(en.OptOut) != len(base[0].OptOut)+1 || en.OptIn[len(en.OptIn)-1] != "SUBSCRIBE" {
		t.Errorf("Merge en: %v", en.OptOut)
	}
	merged[0].OptOut[0] = "changed"
	if base[0].OptOut[0] != "STOP" || Defaults()[0].OptOut[0] != "STOP" {
		t.Error("Merge or Defaults share slices with their inputs")
	}
	m, err := Compile(Options{Lists: Merge(Defaults(), add, false)})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]Result{
		"no mas":    {OptOut, RuleKeyword, "en", "NO MAS"},
		"subscribe": {OptIn, RuleKeyword, "en", "SUBSCRIBE"},
		"hilfe":     {Help, RuleKeyword, "de", "HILFE"},
		"STOP":      {OptOut, RuleKeyword, "en", "STOP"},
		"stopp":     {OptOut, RuleKeyword, "en", "STOP"}, // doubled letters share a key: the first list wins
	} {
		if got := m.ClassifyString(s); got != want {
			t.Errorf("%q: %+v, want %+v", s, got, want)
		}
	}
	replaced := Merge(base, add[:1], true)
	if len(replaced) != 3 || len(replaced[0].OptOut) != 1 || replaced[0].Intent != nil || len(replaced[1].OptOut) != len(base[1].OptOut) {
		t.Errorf("Merge replace: %+v", replaced[0])
	}
}

func TestNumeric(t *testing.T) {
	on, err := Compile(Options{Lists: Defaults(), Numeric: true})
	if err != nil {
		t.Fatal(err)
	}
	off, err := Compile(Options{Lists: Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in      string
		on, off Class
	}{
		{"1", OptIn, None}, {" 2. ", OptOut, None}, {"２", OptOut, None}, {"#1", OptIn, None},
		{"12", None, None}, {"1 2", None, None}, {"22", None, None}, {"3", None, None},
	} {
		if got := on.ClassifyString(tc.in); got.Class != tc.on || (tc.on != None && got.Rule != RuleNumeric) {
			t.Errorf("numeric on, %q: %+v, want %v", tc.in, got, tc.on)
		}
		if got := off.ClassifyString(tc.in); got.Class != tc.off {
			t.Errorf("numeric off, %q: %+v, want %v", tc.in, got, tc.off)
		}
	}
}

func TestEmoji(t *testing.T) {
	m, err := Compile(Options{Lists: Defaults(), Emoji: append(DefaultEmoji(), "🙅‍♂️")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want Result
	}{
		{"🛑", Result{OptOut, RuleEmoji, "", "🛑"}},
		{"⛔️", Result{OptOut, RuleEmoji, "", "⛔"}},
		{" 🚫 🚫 ", Result{OptOut, RuleEmoji, "", "🚫"}},
		{"🖕🏿", Result{OptOut, RuleEmoji, "", "🖕"}},
		{"❌\u200b!", Result{OptOut, RuleEmoji, "", "❌"}},
		{"🙅‍♂️", Result{OptOut, RuleEmoji, "", "🙅‍♂️"}},
		{"🙅\u200d♂", Result{OptOut, RuleEmoji, "", "🙅‍♂️"}},
		{"🔕📴", Result{OptOut, RuleEmoji, "", "🔕"}},
		{"🛑 STOP", Result{OptOut, RuleKeyword, "en", "STOP"}},
		{"YES 🛑", Result{PossibleOptOut, RuleContains, "", "🛑"}},
		{"the ❌ was a typo", Result{PossibleOptOut, RuleContains, "", "❌"}},
		{"🙂", Result{}},
		{"🛑🙂", Result{PossibleOptOut, RuleContains, "", "🛑"}},
	} {
		if got := m.ClassifyString(tc.in); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
	}
	noEmoji, err := Compile(Options{Lists: Defaults()})
	if err != nil {
		t.Fatal(err)
	}
	if got := noEmoji.ClassifyString("🛑"); got.Class != None {
		t.Errorf("no emoji list: %+v", got)
	}
}

// TestPatternLanguage checks the pattern operators on lists of their own.
func TestPatternLanguage(t *testing.T) {
	m, err := Compile(Options{Lists: []List{{
		Lang:   "en",
		OptOut: []string{"HALT", "GO AWAY"},
		Intent: []string{
			"^ [please] @optout $",
			"no (more|further) (texts|sms)",
			"drop *2 list",
			"(remove|take) me (off|from) [your] list",
		},
		Negative: []string{"don't @optout", "stop (by|in)"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want Class
		kw   string
	}{
		{"please halt", OptOut, "^ [please] @optout $"},
		{"please go away", OptOut, "^ [please] @optout $"},
		{"Hi there. Please stop!", OptOut, "^ [please] @optout $"},  // ^ and $ are sentence edges
		{"please stop now", PossibleOptOut, "STOP"},                 // "now" is not in the pattern
		{"no further sms", OptOut, "no (more|further) (texts|sms)"}, // alternatives
		{"no more of these sms", PossibleOptOut, ""},                // not the phrase; "no" is no opt-out word
		{"drop me from list", OptOut, "drop *2 list"},               // up to two words
		{"drop me from the list", None, ""},                         // three
		{"take me off list", OptOut, "(remove|take) me (off|from) [your] list"},
		{"remove me from your list", OptOut, "(remove|take) me (off|from) [your] list"},
		{"no more. texts", None, ""}, // a match stays in one sentence
		{"don't stop", None, "don't @optout"},
		{"stop by later", None, "stop (by|in)"},
		{"don't stop. stop.", OptOut, "^ [please] @optout $"},
	} {
		got := m.ClassifyString(tc.in)
		if tc.want == PossibleOptOut && tc.kw == "" {
			tc.want = None
		}
		if got.Class != tc.want || (tc.kw != "" && got.Keyword != tc.kw) {
			t.Errorf("%q: %+v, want %v %q", tc.in, got, tc.want, tc.kw)
		}
	}
}

// TestNegativePrecedence: a negative match blocks the intents it overlaps,
// except one that holds it whole; an opt-out word outside every negative
// match is a review item.
func TestNegativePrecedence(t *testing.T) {
	m := mustDefault(t)
	for _, tc := range []struct {
		in   string
		want Class
		rule Rule
	}{
		{"please don't stop texting me", None, RuleNegative},
		{"you won't stop texting me", OptOut, RuleIntent},
		{"I can't stop laughing, but stop texting me", OptOut, RuleIntent},
		{"I can't stop laughing, you should stop", PossibleOptOut, RuleContains},
		{"meet me at the bus stop", None, RuleNegative},
	} {
		if got := m.ClassifyString(tc.in); got.Class != tc.want || got.Rule != tc.rule {
			t.Errorf("%q: %+v, want %v %v", tc.in, got, tc.want, tc.rule)
		}
	}
}

func TestStrings(t *testing.T) {
	for c, want := range map[Class]string{None: "none", OptOut: "opt_out", OptIn: "opt_in", Help: "help", PossibleOptOut: "possible_opt_out", 9: "class(9)"} {
		if c.String() != want {
			t.Errorf("Class(%d) = %q, want %q", c, c.String(), want)
		}
	}
	for r, want := range map[Rule]string{RuleNone: "none", RuleKeyword: "keyword", RuleEmoji: "emoji", RuleNumeric: "numeric", RuleIntent: "intent", RuleContains: "contains", RuleNegative: "negative", 200: "rule(200)"} {
		if r.String() != want {
			t.Errorf("Rule(%d) = %q, want %q", r, r.String(), want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	m := mustDefault(t)
	rows := readLabelled(t)
	want := make([]Result, len(rows))
	for i, r := range rows {
		want[i] = m.ClassifyString(r.text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, r := range rows {
				if got := m.ClassifyString(r.text); got != want[i] {
					t.Errorf("%q: %+v concurrently, %+v alone", r.text, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}

// TestLongMessages: more words than the stack buffers hold, and a message
// that exhausts the step budget, classify without panicking.
func TestLongMessages(t *testing.T) {
	m := mustDefault(t)
	long := strings.Repeat("stop by the end of the day, ", 200) + "please stop texting me"
	if got := m.ClassifyString(long); got.Class != OptOut || got.Rule != RuleIntent {
		t.Errorf("long: %+v", got)
	}
	neg := strings.Repeat("don't stop ", 300)
	if got := m.ClassifyString(neg); got.Class != None {
		t.Errorf("many negatives: %+v", got)
	}
}
