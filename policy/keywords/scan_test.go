package keywords

import (
	"slices"
	"strings"
	"testing"
)

// referenceWords derives a message's word ids and sentence starts the long
// way: Normalize, tokenize, appendKey, a table lookup per word and
// sentenceGap, as the general path of Classify does.
func referenceWords(m *Matcher, text []byte) (ids []int32, starts []int) {
	normed := Normalize(nil, text)
	prevEnd := int32(0)
	for _, sp := range tokenize(nil, normed) {
		tok := normed[sp.start:sp.end]
		var id int32
		if len(tok) <= maxKey {
			k := appendKey(nil, tok)
			if len(k) == 0 {
				continue
			}
			id = m.table.lookup(k)
		}
		if len(ids) > 0 && sentenceGap(normed[prevEnd:sp.start]) {
			starts = append(starts, len(ids))
		}
		prevEnd = sp.end
		ids = append(ids, id)
	}
	return ids, starts
}

// checkScan fails t when the ASCII scan, where it does not give up, finds
// other words or sentence starts than the reference, or when Classify
// differs from its general path. It reports whether Classify took the scan.
func checkScan(t *testing.T, m *Matcher, text []byte) (scanned bool) {
	t.Helper()
	var ids [maxWords]int32
	var boundary [maxWords / 64]uint64
	sc := m.scanASCII(text, &ids, &boundary)
	if sc.ok {
		wantIDs, wantStarts := referenceWords(m, text)
		var starts []int
		for pos := range sc.n {
			if boundary[pos>>6]&(1<<(pos&63)) != 0 {
				starts = append(starts, pos)
			}
		}
		if !slices.Equal(ids[:sc.n], wantIDs) || !slices.Equal(starts, wantStarts) {
			t.Fatalf("scanASCII(%q): ids %v starts %v, want %v %v", text, ids[:sc.n], starts, wantIDs, wantStarts)
		}
		var flags uint8
		for _, id := range wantIDs {
			flags |= m.idFlags[id]
		}
		if sc.flags != flags {
			t.Fatalf("scanASCII(%q): flags %b, want %b", text, sc.flags, flags)
		}
	}
	// Where the scan is not taken, Classify is the general path itself.
	r, scanned := m.classifyASCII(text)
	if scanned && !sc.ok {
		t.Fatalf("classifyASCII(%q) took a message scanASCII gave up on", text)
	}
	if scanned {
		if want := m.classifyGeneral(text); r != want || m.Classify(text) != want {
			t.Fatalf("Classify(%q) = %+v, general path %+v", text, r, want)
		}
	}
	return scanned
}

func TestScanASCII(t *testing.T) {
	m := mustDefault(t)
	long := strings.Repeat("x", maxKey)
	for _, tc := range []struct {
		text    string
		scanned bool // the scan takes it; false: it gives up
	}{
		{"STOP", true},
		{"Stop texting me.", true},
		{"please don't stop texting me", true},
		{"I can't stop laughing, but stop texting me", true},
		{"stop. unsubscribe", true},
		{"Not interested.\r\nSTOP", true},
		{"Not interested;STOP", true},
		{"wait... STOP!!!", true},
		{"stoooop texting me", true},  // a run of letters: normalized away, squeezed in the key
		{"Sss ok", true},              // the run is case folded
		{"lll'appel", true},           // normalized "l'appel": the elision splits
		{"ll'appel", true},            // "ll" is no elision
		{"QQQU'il arrete", true},      // normalized "qu'il"
		{"qu'il m'envoie plus", true}, // elisions
		{"l''a ok", true},             // an elision followed by an apostrophe
		{"l' xy", true},               // an elision before a separator
		{"ok l'", true},               // an elision at the end
		{"'stop ok", true},            // a leading apostrophe is trimmed
		{"ok 'l'a", true},             // an inner one is not: no elision
		{"**stop texting me", true},   // leading asterisks are trimmed
		{"f**k off", true},            // inner asterisks are kept
		{"f*'*k you", true},           // apostrophes drop out of the key between them
		{"ok f** off", true},          // trailing asterisks are not
		{"fuck off*", true},           // the last word's trailing asterisk
		{"stop **", true},             // a word of asterisks only
		{"don't stop'", true},         // the last word's trailing apostrophe
		{"1111 2222", true},           // digits are never squeezed
		{"opt-out", true},             // dashes separate
		{"opt__out now", true},        // underscores separate
		{long + " stop", true},        // a word of maxKey bytes
		{long + "x stop", false},      // one longer
		{long + "' stop", false},      // one longer with its apostrophe
		{"stop!" + "\x00", false},     // a control normalization drops
		{"don`t stop", false},         // '`' becomes an apostrophe
		{"stop ***", false},           // a run of three asterisks
		{"don'''t stop", false},       // a run of three apostrophes
		{"stop \u00e9", false},        // not ASCII
		{"s t o p", false},            // maybe spelled out
		{"sss t o p", false},          // "s t o p" after normalization
		{"x", false},                  // one word of one letter
		{"2", false},                  // a numeric reply
		{" 2. ", false},               // also
		{"22", true},                  // not one
		{strings.Repeat("ab ", 256), true},
		{strings.Repeat("a b ", 100), false}, // all one-letter words
		{"ab " + strings.Repeat("l'", maxWords-2) + "x", true}, // maxWords words in maxScan bytes
		{"", true},
		{"?!", true},
	} {
		if got := checkScan(t, m, []byte(tc.text)); got != tc.scanned {
			t.Errorf("scanASCII(%q) ok = %v, want %v", tc.text, got, tc.scanned)
		}
	}
	if n := len("ab " + strings.Repeat("l'", maxWords-2) + "x"); n != maxScan {
		t.Fatalf("the maxWords case is %d bytes, want %d", n, maxScan)
	}
	if checkScan(t, m, []byte(strings.Repeat("ab ", maxScan))) {
		t.Error("Classify scanned a message longer than maxScan")
	}
}

// TestScanLabelled runs every labelled message through both paths and
// requires the scan to take the ordinary ones.
func TestScanLabelled(t *testing.T) {
	m := mustDefault(t)
	ascii, scanned := 0, 0
	for _, r := range readLabelled(t) {
		text := []byte(r.text)
		if !isASCII(text) {
			continue
		}
		ascii++
		if checkScan(t, m, text) {
			scanned++
		}
	}
	t.Logf("%d ASCII messages, %d taken by the scan", ascii, scanned)
	if scanned < ascii*9/10 {
		t.Errorf("the scan took %d of %d ASCII messages, want 90%%", scanned, ascii)
	}
}

// FuzzScanASCII holds the ASCII scan to the general path: the same words,
// sentence starts and result. Inputs are folded to 7 bits so that most
// take the scan.
func FuzzScanASCII(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("lll'appel QQQU'il f*'*k stoooop. don't stop texting me"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > maxScan+1 {
			text = text[:maxScan+1] // longer messages take the general path whole
		}
		checkScan(t, fuzzMatcher, text)
		ascii := make([]byte, len(text))
		for i, c := range text {
			ascii[i] = c & 0x7f
		}
		checkScan(t, fuzzMatcher, ascii)
	})
}
