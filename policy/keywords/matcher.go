package keywords

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// List is one language's detection data. Keywords match the whole message
// (or, for opt-out, a whole sentence of it through the default intent
// patterns); Intent and Negative are patterns in the language described in
// the package documentation.
type List struct {
	Lang     string   // "en", "es", "fr" or an organization's own tag
	OptOut   []string // whole-message opt-out keywords, written as people write them ("OPT OUT", "STOP ALL")
	OptIn    []string
	Help     []string
	Intent   []string // revocation patterns: a match opts out
	Negative []string // patterns of sentences that contain an opt-out word but do not revoke
}

// Options configure Compile.
type Options struct {
	Lists   []List   // normally Defaults(), possibly merged with an organization's lists (see Merge)
	Emoji   []string // opt-out emoji; nil means none (pass DefaultEmoji() for the defaults)
	Numeric bool     // "1" opts in and "2" opts out (seed 002); off by default
}

// Matcher classifies mobile-originated text. It is immutable after Compile
// and safe for concurrent use.
type Matcher struct {
	vocab    map[string]int32 // token key → id (ids start at 1; 0 is any other word)
	table    vocabTable       // vocab for Classify
	kws      []keyword
	pats     []pattern
	kwFirst  [][]int32 // token id → keywords that begin with it
	intFirst [][]int32 // token id → intent patterns whose match can begin with it
	negFirst [][]int32 // token id → negative patterns whose match can begin with it
	reqBy    [][]int32 // token id → patterns that need it (see pattern.required)
	always   []int32   // patterns with no required word, tried on every message
	idFlags  []uint8   // token id → flagOptOut, flagRequired, flagNegFirst, flagIntFirst
	patKind  []uint8   // pattern → candNegative or candIntent
	emoji    []emojiEntry
	numeric  bool

	commonIDs map[int32]bool // Compile only: ids of commonWords
}

type keyword struct {
	ids   []int32
	class Class
	lang  string
	text  string
}

// Compile checks o and builds a Matcher. Errors are *EntryError values that
// name the language, list and entry. The FCC words (AlwaysOptOut) are opt-out
// keywords of every Matcher: when o's lists lack one, Compile adds it to the
// "en" opt-out list; a list that puts one in another class is refused.
func Compile(o Options) (*Matcher, error) {
	m := &Matcher{vocab: make(map[string]int32), numeric: o.Numeric, commonIDs: make(map[int32]bool)}
	for _, w := range commonWords {
		ids, _ := m.words(w)
		m.commonIDs[ids[0]] = true
	}
	defer func() { m.commonIDs = nil }()
	type where struct {
		class Class
		desc  string
	}
	seen := make(map[string]where) // keyword ids as a string → first definition
	langs := make(map[string]bool)
	for li, l := range o.Lists {
		if !validLang(l.Lang) {
			return nil, &EntryError{List: "lists", Index: li, Entry: l.Lang, Err: ErrLang}
		}
		if langs[l.Lang] {
			return nil, &EntryError{List: "lists", Index: li, Entry: l.Lang, Err: ErrLang, Detail: "language listed twice"}
		}
		langs[l.Lang] = true
		for _, cl := range [...]struct {
			name  string
			class Class
			words []string
		}{{"opt_out", OptOut, l.OptOut}, {"opt_in", OptIn, l.OptIn}, {"help", Help, l.Help}} {
			for i, w := range cl.words {
				e := &EntryError{Lang: l.Lang, List: cl.name, Index: i, Entry: w}
				ids, err := m.words(w)
				if err != nil {
					e.Err = err
					return nil, e
				}
				key := idKey(ids)
				if prev, ok := seen[key]; ok {
					if prev.class != cl.class {
						e.Err, e.Other = ErrConflict, prev.desc
						return nil, e
					}
					continue // the same keyword twice in one class: keep the first
				}
				seen[key] = where{cl.class, l.Lang + " " + cl.name + "[" + itoa(i) + "] " + w}
				m.kws = append(m.kws, keyword{ids: ids, class: cl.class, lang: l.Lang, text: w})
			}
		}
	}
	for _, w := range fccWords {
		ids, _ := m.words(w)
		if prev, ok := seen[idKey(ids)]; ok {
			if prev.class != OptOut {
				return nil, &EntryError{List: "fcc", Entry: w, Err: ErrConflict, Other: prev.desc,
					Detail: "an FCC revocation word is always opt-out"}
			}
			continue
		}
		m.kws = append(m.kws, keyword{ids: ids, class: OptOut, lang: "en", text: strings.ToUpper(w)})
	}
	for i, e := range o.Emoji {
		ent, err := compileEmoji(e)
		if err != nil {
			return nil, &EntryError{List: "emoji", Index: i, Entry: e, Err: err}
		}
		m.emoji = append(m.emoji, ent)
	}
	for _, l := range o.Lists {
		for _, pl := range [...]struct {
			name     string
			negative bool
			pats     []string
		}{{"intent", false, l.Intent}, {"negative", true, l.Negative}} {
			for i, src := range pl.pats {
				pt, err := m.compilePattern(src)
				if err != nil {
					e := &EntryError{Lang: l.Lang, List: pl.name, Index: i, Entry: src, Err: ErrPattern}
					switch err := err.(type) {
					case wordError:
						e.Err, e.Detail = err.err, "word "+strconv.Quote(err.word)
					case patternError:
						e.Detail = string(err)
					default:
						e.Err = err
					}
					return nil, e
				}
				pt.negative, pt.lang, pt.text = pl.negative, l.Lang, src
				m.pats = append(m.pats, pt)
			}
		}
	}
	m.index()
	return m, nil
}

func validLang(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func idKey(ids []int32) string {
	b := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		b = append(b, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
	}
	return string(b)
}

// words turns a keyword or a pattern word into token ids, adding new words to
// the vocabulary.
func (m *Matcher) words(w string) ([]int32, error) {
	if strings.TrimSpace(w) == "" {
		return nil, ErrEmptyEntry
	}
	normed := Normalize(nil, []byte(w))
	var ids []int32
	var key [maxKey]byte
	for _, sp := range tokenize(nil, normed) {
		tok := normed[sp.start:sp.end]
		if len(tok) > maxKey {
			return nil, ErrTooLong
		}
		k := appendKey(key[:0], tok)
		if len(k) == 0 {
			continue
		}
		id, ok := m.vocab[string(k)]
		if !ok {
			id = int32(len(m.vocab) + 1)
			m.vocab[string(k)] = id
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, ErrNormalizes
	}
	return ids, nil
}

func (m *Matcher) compilePattern(src string) (pattern, error) {
	if strings.TrimSpace(src) == "" {
		return pattern{}, ErrEmptyEntry
	}
	pp := patternParser{src: src, word: m.words}
	seq, start, end, err := pp.parse()
	if err != nil {
		return pattern{}, err
	}
	pt := pattern{anchorStart: start, anchorEnd: end}
	pt.required, pt.requiredOptOut, _ = requiredOf(seq, m.common)
	pt.prog = append(pt.emit(nil, seq), inst{op: opMatch})
	if len(pt.prog) > maxPatternOps {
		return pattern{}, patternError("pattern too large")
	}
	if err := pt.firstSet(); err != nil {
		return pattern{}, err
	}
	return pt, nil
}

// index builds the first-token tables that let Classify try only the
// keywords and patterns that can begin at a word.
func (m *Matcher) index() {
	n := len(m.vocab) + 1
	m.table = newVocabTable(m.vocab)
	m.kwFirst = make([][]int32, n)
	m.reqBy = make([][]int32, n)
	m.intFirst = make([][]int32, n)
	m.negFirst = make([][]int32, n)
	var optOutFirst []int32
	for i, k := range m.kws {
		m.kwFirst[k.ids[0]] = append(m.kwFirst[k.ids[0]], int32(i))
		if k.class == OptOut {
			optOutFirst = appendUnique(optOutFirst, k.ids[0])
		}
	}
	for i := range m.pats {
		pt := &m.pats[i]
		first := pt.first
		if pt.firstOptOut {
			for _, id := range optOutFirst {
				first = appendUnique(first, id)
			}
		}
		table := m.intFirst
		if pt.negative {
			table = m.negFirst
		}
		for _, id := range first {
			table[id] = append(table[id], int32(i))
		}
		req := pt.required
		if pt.requiredOptOut {
			for _, k := range m.kws {
				if k.class == OptOut {
					req = appendUnique(req, k.ids[0])
				}
			}
		}
		if len(req) == 0 {
			m.always = append(m.always, int32(i))
		}
		for _, id := range req {
			m.reqBy[id] = appendUnique(m.reqBy[id], int32(i))
		}
	}
	m.patKind = make([]uint8, len(m.pats))
	for i := range m.pats {
		m.patKind[i] = candIntent
		if m.pats[i].negative {
			m.patKind[i] = candNegative
		}
	}
	m.idFlags = make([]uint8, n)
	for _, id := range optOutFirst {
		m.idFlags[id] |= flagOptOut
	}
	for id := range n {
		if len(m.reqBy[id]) > 0 {
			m.idFlags[id] |= flagRequired
		}
		if len(m.negFirst[id]) > 0 {
			m.idFlags[id] |= flagNegFirst
		}
		if len(m.intFirst[id]) > 0 {
			m.idFlags[id] |= flagIntFirst
		}
	}
}

// commonWords are frequent words that make poor required words.
var commonWords = []string{
	"a", "an", "the", "to", "of", "in", "on", "at", "by", "for", "and", "or", "i", "you", "u", "me", "my",
	"we", "us", "it", "is", "this", "that", "your", "our", "be", "do", "not", "no", "so", "just", "please",
	"de", "la", "le", "les", "el", "los", "las", "un", "une", "una", "mi", "me", "te", "se", "ne", "pas",
	"que", "y", "et", "en", "por", "favor", "ya", "l", "d", "m", "n", "s", "plus", "mas", "moi",
}

func (m *Matcher) common(id int32) bool { return m.commonIDs[id] }

func appendUnique(s []int32, id int32) []int32 {
	for _, v := range s {
		if v == id {
			return s
		}
	}
	return append(s, id)
}

// ClassifyString is Classify for a string.
func (m *Matcher) ClassifyString(s string) Result {
	// The bytes are only read, never kept.
	return m.Classify(unsafeBytes(s))
}

// stepBudget bounds the pattern work for one message. A message that
// exhausts it (only a pathological one can) is judged without the patterns
// that did not finish, which errs towards PossibleOptOut.
const stepBudget = 1 << 16

// buffers is the scratch space of one classifyGeneral call; it lives on the
// stack. Only classifyGeneral, whose frame holds it, stores slices of it: a
// store through a pointer would move it to the heap.
type buffers struct {
	norm     [512]byte
	key      [maxKey]byte
	spans    [256]span // a 512-byte message has at most 256 words
	ids      [256]int32
	neg      [4]uint64
	boundary [4]uint64
	negSpans [8]span
	cand     [4]uint64
}

// state is what the matching steps read; they write only into the
// elements of its slices.
type state struct {
	ids      []int32
	neg      []uint64 // token positions inside a negative match
	boundary []uint64 // token positions that begin a sentence (after . ! ? ; or a line break)
	negSpans []span   // the negative matches, up to len(negSpans)
	nNeg     int      // negative matches found; beyond len(negSpans) only neg records them
	cand     []uint64 // patterns whose required words the message has
	kinds    uint8    // candNegative, candIntent: the kinds of the candidates
	flags    uint8    // idFlags of the message's words, ORed
	start    int      // where the current pattern match began
	steps    int
}

func (st *state) negated(pos int) bool { return st.neg[pos>>6]&(1<<(pos&63)) != 0 }
func (st *state) sentenceStart(pos int) bool {
	return pos == 0 || st.boundary[pos>>6]&(1<<(pos&63)) != 0
}
func (st *state) sentenceEnd(pos int) bool {
	return pos == len(st.ids) || st.boundary[pos>>6]&(1<<(pos&63)) != 0
}

// Classify says what the UTF-8 text of one mobile-originated message asks
// for. Invalid UTF-8 is read as U+FFFD. The order of the checks is in the
// package documentation. An ASCII message of up to 512 bytes is classified
// without allocating.
func (m *Matcher) Classify(text []byte) Result {
	if len(text) <= maxScan {
		if r, ok := m.classifyASCII(text); ok {
			return r
		}
	}
	return m.classifyGeneral(text)
}

// maxScan is the longest message the ASCII scan takes: its stack buffers
// hold the words of 512 bytes.
const maxScan = 512

// classifyASCII classifies text from scanASCII's words; ok is false when the
// scan gave up or when every word's key is one character: the message may
// be spelled out ("S T O P") or a numeric reply, which the general path
// decides.
func (m *Matcher) classifyASCII(text []byte) (r Result, ok bool) {
	var ids [maxWords]int32
	var boundary, neg, cand [maxWords / 64]uint64
	var negSpans [8]span
	sc := m.scanASCII(text, &ids, &boundary)
	if !sc.ok || sc.n > 0 && !sc.multi {
		return Result{}, false
	}
	if sc.n == 0 {
		return Result{}, true
	}
	words := (sc.n + 63) >> 6
	st := state{ids: ids[:sc.n], neg: neg[:words], boundary: boundary[:words], negSpans: negSpans[:], flags: sc.flags}
	if sc.flags&flagRequired != 0 || len(m.always) > 0 {
		if n := (len(m.pats) + 63) >> 6; n <= len(cand) {
			st.cand = cand[:n]
		} else {
			st.cand = make([]uint64, n)
		}
		m.candidates(&st)
	}
	return m.classifyWords(&st, nil, nil, false), true
}

// candidates marks the patterns whose required words st.ids holds, and the
// patterns that need none.
func (m *Matcher) candidates(st *state) {
	for _, p := range m.always {
		st.cand[p>>6] |= 1 << (p & 63)
		st.kinds |= m.patKind[p]
	}
	for _, id := range st.ids {
		if m.idFlags[id]&flagRequired == 0 {
			continue
		}
		for _, p := range m.reqBy[id] {
			st.cand[p>>6] |= 1 << (p & 63)
			st.kinds |= m.patKind[p]
		}
	}
}

// Pattern kinds, as bits of state.kinds.
const (
	candNegative = 1 << iota
	candIntent
)

// classifyGeneral is Classify by way of Normalize's output: the path of
// every message the ASCII scan does not take.
func (m *Matcher) classifyGeneral(text []byte) Result {
	var buf buffers
	var normed []byte
	ascii := isASCII(text)
	if ascii {
		normed = normalizeASCII(buf.norm[:0], text)
	} else {
		normed = normalizeUnicode(nil, text)
	}
	emojiHit := -1
	if !ascii && len(m.emoji) > 0 {
		var only bool
		if only, emojiHit = m.scanEmoji(text); only {
			return Result{Class: OptOut, Rule: RuleEmoji, Keyword: m.emoji[emojiHit].text}
		}
	}
	if m.numeric && len(normed) == 1 {
		switch normed[0] {
		case '1':
			return Result{Class: OptIn, Rule: RuleNumeric, Keyword: "1"}
		case '2':
			return Result{Class: OptOut, Rule: RuleNumeric, Keyword: "2"}
		}
	}

	spans := tokenize(buf.spans[:0], normed)
	st := state{negSpans: buf.negSpans[:]}
	if words := (len(spans) + 63) >> 6; words <= len(buf.neg) {
		st.neg, st.boundary = buf.neg[:words], buf.boundary[:words]
	} else {
		st.neg, st.boundary = make([]uint64, words), make([]uint64, words)
	}
	ids := buf.ids[:0]
	if len(spans) > len(buf.ids) {
		ids = make([]int32, 0, len(spans))
	}
	singles := len(spans) >= 2 // "s t o p": every word one character
	prevEnd := int32(0)
	for _, sp := range spans {
		tok := normed[sp.start:sp.end]
		var id int32
		if len(tok) <= maxKey {
			k := appendKey(buf.key[:0], tok)
			if len(k) == 0 {
				continue // a word of apostrophes or asterisks only
			}
			id = m.table.lookup(k)
		}
		if singles && utf8.RuneCount(tok) != 1 {
			singles = false
		}
		if pos := len(ids); pos > 0 && sentenceGap(normed[prevEnd:sp.start]) {
			st.boundary[pos>>6] |= 1 << (pos & 63)
		}
		prevEnd = sp.end
		ids = append(ids, id)
		st.flags |= m.idFlags[id]
	}
	st.ids = ids
	if n := (len(m.pats) + 63) >> 6; n <= len(buf.cand) {
		st.cand = buf.cand[:n]
	} else {
		st.cand = make([]uint64, n)
	}
	m.candidates(&st)

	r := Result{}
	if len(ids) > 0 {
		r = m.classifyWords(&st, normed, spans, singles)
	}
	if emojiHit >= 0 && r.Class != OptOut {
		// An opt-out emoji next to words that do not revoke: a person decides.
		return Result{Class: PossibleOptOut, Rule: RuleContains, Keyword: m.emoji[emojiHit].text}
	}
	return r
}

func (m *Matcher) classifyWords(st *state, normed []byte, spans []span, singles bool) Result {
	ids := st.ids
	// 1. The whole message is a keyword or a run of keywords of one class.
	if k := m.wholeMessage(ids); k >= 0 {
		kw := &m.kws[k]
		return Result{Class: kw.class, Rule: RuleKeyword, Lang: kw.lang, Keyword: kw.text}
	}
	if singles && len(spans) <= maxKey {
		if k := m.spelled(normed, spans); k >= 0 {
			kw := &m.kws[k]
			return Result{Class: kw.class, Rule: RuleKeyword, Lang: kw.lang, Keyword: kw.text}
		}
	}

	// 2. Negative patterns mark the words they cover.
	neg := -1
	for pos, id := range ids {
		if st.kinds&candNegative == 0 || st.flags&flagNegFirst == 0 {
			break
		}
		if m.idFlags[id]&flagNegFirst == 0 {
			continue // the common case: no negative pattern begins with this word
		}
		for _, p := range m.negFirst[id] {
			if st.cand[p>>6]&(1<<(p&63)) == 0 {
				continue
			}
			pt := &m.pats[p]
			if end := m.match(st, pt, pos, false); end > pos {
				for i := pos; i < end; i++ {
					st.neg[i>>6] |= 1 << (i & 63)
				}
				if st.nNeg < len(st.negSpans) {
					st.negSpans[st.nNeg] = span{int32(pos), int32(end)}
				}
				st.nNeg++
				if neg < 0 {
					neg = int(p)
				}
				break
			}
		}
	}

	// 3. An intent pattern that overlaps no negative match, or holds a
	// whole one ("you won't stop texting me" holds "won't stop").
	for pos, id := range ids {
		if st.kinds&candIntent == 0 || st.flags&flagIntFirst == 0 {
			break
		}
		if m.idFlags[id]&flagIntFirst == 0 {
			continue
		}
		for _, p := range m.intFirst[id] {
			if st.cand[p>>6]&(1<<(p&63)) == 0 {
				continue
			}
			pt := &m.pats[p]
			if m.match(st, pt, pos, true) >= 0 {
				return Result{Class: OptOut, Rule: RuleIntent, Lang: pt.lang, Keyword: pt.text}
			}
		}
	}

	// 4. An opt-out word outside every negative match: a person reviews it.
	for pos, id := range ids {
		if st.flags&flagOptOut == 0 {
			break // no word of the message begins an opt-out keyword
		}
		if st.negated(pos) {
			continue
		}
		for _, k := range m.kwFirst[id] {
			kw := &m.kws[k]
			if kw.class == OptOut && m.keywordAt(st, kw, pos) && !m.insideNegated(st, kw, pos) {
				return Result{Class: PossibleOptOut, Rule: RuleContains, Lang: kw.lang, Keyword: kw.text}
			}
		}
	}
	if neg >= 0 {
		pt := &m.pats[neg]
		return Result{Rule: RuleNegative, Lang: pt.lang, Keyword: pt.text}
	}
	return Result{}
}

// sentenceGap reports whether the text between two words ends a sentence.
func sentenceGap(gap []byte) bool {
	for i := 0; i < len(gap); i++ {
		switch gap[i] {
		case '.', '!', '?', ';', '\n':
			return true
		case 0xC2: // ¡ U+00A1, ¿ U+00BF
			if i+1 < len(gap) && (gap[i+1] == 0xA1 || gap[i+1] == 0xBF) {
				return true
			}
		case 0xE2: // … U+2026
			if i+2 < len(gap) && gap[i+1] == 0x80 && gap[i+2] == 0xA6 {
				return true
			}
		}
	}
	return false
}

// wholeMessage returns the keyword that the ids are, or the first of a run
// of keywords of one class that covers them all ("STOP STOP", "stop.
// unsubscribe"); -1 if none.
func (m *Matcher) wholeMessage(ids []int32) int {
	for _, k := range m.kwFirst[ids[0]] {
		if kw := &m.kws[k]; len(kw.ids) == len(ids) && equalIDs(kw.ids, ids) {
			return int(k)
		}
	}
	if len(ids) > 16 {
		return -1
	}
	for _, class := range [...]Class{OptOut, OptIn, Help} {
		var failed uint32 // positions from which no cover exists
		if k := m.cover(ids, 0, class, &failed); k >= 0 {
			return k
		}
	}
	return -1
}

func (m *Matcher) cover(ids []int32, pos int, class Class, failed *uint32) int {
	for _, k := range m.kwFirst[ids[pos]] {
		kw := &m.kws[k]
		end := pos + len(kw.ids)
		if kw.class != class || end > len(ids) || !equalIDs(kw.ids, ids[pos:end]) {
			continue
		}
		if end == len(ids) {
			return int(k)
		}
		if *failed&(1<<end) == 0 {
			if m.cover(ids, end, class, failed) >= 0 {
				return int(k)
			}
			*failed |= 1 << end
		}
	}
	return -1
}

// spelled looks up a message written one character per word ("S T O P",
// "s.t.o.p") as the word they spell.
func (m *Matcher) spelled(normed []byte, spans []span) int {
	var buf [maxKey * utf8.UTFMax]byte
	var key [maxKey]byte
	w := buf[:0]
	for _, sp := range spans {
		w = append(w, normed[sp.start:sp.end]...)
	}
	if len(w) > maxKey {
		return -1
	}
	id := m.table.lookup(appendKey(key[:0], w))
	for _, k := range m.kwFirst[id] {
		if len(m.kws[k].ids) == 1 {
			return int(k)
		}
	}
	return -1
}

func equalIDs(a, b []int32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// keywordAt reports whether kw occurs at pos within one sentence.
func (m *Matcher) keywordAt(st *state, kw *keyword, pos int) bool {
	if pos+len(kw.ids) > len(st.ids) {
		return false
	}
	for i, id := range kw.ids {
		p := pos + i
		if st.ids[p] != id || i > 0 && st.boundary[p>>6]&(1<<(p&63)) != 0 {
			return false
		}
	}
	return true
}

// insideNegated reports whether a word of the keyword at pos is covered by
// a negative match.
func (m *Matcher) insideNegated(st *state, kw *keyword, pos int) bool {
	for i := range kw.ids {
		if st.negated(pos + i) {
			return true
		}
	}
	return false
}

// clearOfNegatives reports whether the intent match [start, end) overlaps
// no negative match except ones it holds entirely.
func (st *state) clearOfNegatives(start, end int) bool {
	if st.nNeg > len(st.negSpans) {
		// Too many to hold: be strict and refuse any negated word.
		for i := start; i < end; i++ {
			if st.negated(i) {
				return false
			}
		}
		return true
	}
	for _, n := range st.negSpans[:st.nNeg] {
		s, e := int(n.start), int(n.end)
		if s < end && start < e && (s < start || e > end) {
			return false
		}
	}
	return true
}

// match runs pattern pt from token pos and returns where the match ends,
// or -1.
func (m *Matcher) match(st *state, pt *pattern, pos int, intent bool) int {
	if pt.anchorStart && !st.sentenceStart(pos) {
		return -1
	}
	st.start = pos
	return m.run(st, pt, 0, pos, intent)
}

// usable reports whether the word at pos may be consumed by the current
// match: it exists and stays in the sentence the match began in.
func (st *state) usable(pos int) bool {
	return pos < len(st.ids) && (pos == st.start || st.boundary[pos>>6]&(1<<(pos&63)) == 0)
}

func (m *Matcher) run(st *state, pt *pattern, pc int32, pos int, intent bool) int {
	for {
		if st.steps++; st.steps > stepBudget {
			return -1
		}
		in := &pt.prog[pc]
		switch in.op {
		case opTok:
			if !st.usable(pos) || st.ids[pos] != in.arg {
				return -1
			}
			pos++
			pc++
		case opSet:
			if !st.usable(pos) {
				return -1
			}
			if _, found := slices.BinarySearch(pt.sets[in.arg], st.ids[pos]); !found {
				return -1
			}
			pos++
			pc++
		case opAny:
			if !st.usable(pos) {
				return -1
			}
			pos++
			pc++
		case opSplit:
			if end := m.run(st, pt, in.x, pos, intent); end >= 0 {
				return end
			}
			pc = in.y
		case opJmp:
			pc = in.x
		case opOptOut:
			if !st.usable(pos) {
				return -1
			}
			for _, k := range m.kwFirst[st.ids[pos]] {
				kw := &m.kws[k]
				if kw.class != OptOut || !m.keywordAt(st, kw, pos) {
					continue
				}
				if end := m.run(st, pt, pc+1, pos+len(kw.ids), intent); end >= 0 {
					return end
				}
			}
			return -1
		case opMatch:
			if pt.anchorEnd && !st.sentenceEnd(pos) || intent && !st.clearOfNegatives(st.start, pos) {
				return -1
			}
			return pos
		}
	}
}
