package keywords

import (
	"slices"
	"strconv"
)

// Pattern programs: a pattern compiles to a short list of instructions run
// by a backtracking matcher over the message's token ids (the shape of
// regexp/syntax's backtracker, over words instead of bytes).
type opcode uint8

const (
	opTok    opcode = iota // the token arg
	opAny                  // any one token (a wildcard step)
	opSplit                // try x, then y
	opJmp                  // continue at x
	opOptOut               // any opt-out keyword, however many tokens it has
	opSet                  // any token of sets[arg] (an alternation of single words)
	opMatch                // success
)

type inst struct {
	op   opcode
	arg  int32
	x, y int32
}

// Limits that keep the worst case of a pattern small: the backtracker's work
// per start position is bounded by the product of the wildcard widths.
const (
	maxWildcards  = 3
	maxWildcardN  = 9
	maxPatternOps = 512
	maxDepth      = 8
)

// node is one parsed item of a pattern.
type node struct {
	kind     uint8 // nLit, nAny, nOptOut, nGroup
	id       int32 // nLit
	n        int   // nAny: up to n tokens
	alts     [][]node
	optional bool
}

const (
	nLit = iota
	nAny
	nOptOut
	nGroup
	nSet // emitted only: id indexes pattern.sets
)

type pattern struct {
	prog        []inst
	sets        [][]int32 // sorted token ids of the opSet instructions
	first       []int32   // token ids a match can begin with
	firstOptOut bool      // a match can begin with any opt-out keyword
	anchorStart bool      // ^: the match begins a sentence
	anchorEnd   bool      // $: the match ends a sentence
	negative    bool
	lang, text  string
	// required holds words of which every match contains at least one
	// (requiredOptOut: an opt-out keyword). Classify tries the pattern only
	// when the message has one, so most messages try no pattern at all.
	required       []int32
	requiredOptOut bool
}

// requiredOf picks, among the items every match of seq must contain, the
// one whose words are rarest in ordinary text, and returns those words
// (optOut: the item is @optout). ok is false when seq has no such item.
func requiredOf(seq []node, common func(int32) bool) (ids []int32, optOut, ok bool) {
	best := -1
	for _, n := range seq {
		var cand []int32
		var candOptOut bool
		switch n.kind {
		case nLit:
			cand = []int32{n.id}
		case nOptOut:
			candOptOut = true
		case nGroup:
			if n.optional {
				continue
			}
			good := true
			for _, alt := range n.alts {
				a, o, k := requiredOf(alt, common)
				if !k {
					good = false
					break
				}
				cand = append(cand, a...)
				candOptOut = candOptOut || o
			}
			if !good {
				continue
			}
		default:
			continue
		}
		cost := len(cand)
		if candOptOut {
			cost += 8
		}
		for _, id := range cand {
			if common(id) {
				cost += 100
			}
		}
		if best < 0 || cost < best {
			best, ids, optOut = cost, cand, candOptOut
		}
	}
	return ids, optOut, best >= 0
}

// patternParser turns the text of one pattern into nodes. Words go through
// the same normalization and tokenization as messages, so a pattern is
// written the way people write ("don't", "m'envoyez", "opt-out").
type patternParser struct {
	src       string
	pos       int
	wildcards int
	word      func(string) ([]int32, error)
}

type patternError string

func (e patternError) Error() string { return string(e) }

// wordError is a pattern word that is no keyword word (it normalizes to
// nothing, or is too long).
type wordError struct {
	word string
	err  error
}

func (e wordError) Error() string { return "word " + strconv.Quote(e.word) + ": " + e.err.Error() }

func (p *patternParser) parse() (seq []node, anchorStart, anchorEnd bool, err error) {
	defer func() {
		if err == nil && len(seq) == 0 {
			err = patternError("no words")
		}
	}()
	p.skipSpace()
	if p.peek() == '^' {
		anchorStart = true
		p.pos++
	}
	seq, err = p.parseSeq(0)
	if err != nil {
		return nil, false, false, err
	}
	p.skipSpace()
	if p.peek() == '$' {
		anchorEnd = true
		p.pos++
		p.skipSpace()
	}
	if p.pos < len(p.src) {
		return nil, false, false, patternError("unexpected " + strconv.QuoteRune(rune(p.src[p.pos])) + " at offset " + strconv.Itoa(p.pos))
	}
	if len(seq) == 0 {
		return nil, false, false, patternError("no words")
	}
	return seq, anchorStart, anchorEnd, nil
}

func (p *patternParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *patternParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func isSpecial(c byte) bool {
	switch c {
	case '(', ')', '[', ']', '|', ' ', '\t', '$':
		return true
	}
	return false
}

// parseSeq reads items until ')', ']', '|', '$' or the end.
func (p *patternParser) parseSeq(depth int) ([]node, error) {
	if depth > maxDepth {
		return nil, patternError("groups nested deeper than " + strconv.Itoa(maxDepth))
	}
	var seq []node
	for {
		p.skipSpace()
		switch c := p.peek(); c {
		case 0, ')', ']', '|', '$':
			return seq, nil
		case '^':
			return nil, patternError("^ is allowed only at the start")
		case '(', '[':
			p.pos++
			closer := byte(')')
			if c == '[' {
				closer = ']'
			}
			g := node{kind: nGroup, optional: c == '['}
			for {
				alt, err := p.parseSeq(depth + 1)
				if err != nil {
					return nil, err
				}
				if len(alt) == 0 {
					return nil, patternError("empty alternative in a group (write [a|b] for an optional group)")
				}
				g.alts = append(g.alts, alt)
				switch p.peek() {
				case '|':
					p.pos++
					continue
				case closer:
					p.pos++
				default:
					return nil, patternError("unclosed " + string(c))
				}
				break
			}
			seq = append(seq, g)
		default:
			start := p.pos
			for p.pos < len(p.src) && !isSpecial(p.src[p.pos]) {
				p.pos++
			}
			w := p.src[start:p.pos]
			switch {
			case w == "@optout":
				seq = append(seq, node{kind: nOptOut})
			case len(w) == 2 && w[0] == '*' && w[1] >= '0' && w[1] <= '9':
				n := int(w[1] - '0')
				if n < 1 || n > maxWildcardN {
					return nil, patternError("wildcard " + w + ": N must be 1.." + strconv.Itoa(maxWildcardN))
				}
				if p.wildcards++; p.wildcards > maxWildcards {
					return nil, patternError("more than " + strconv.Itoa(maxWildcards) + " wildcards")
				}
				seq = append(seq, node{kind: nAny, n: n})
			case w[0] == '@':
				return nil, patternError("unknown class " + w + " (only @optout)")
			default:
				ids, err := p.word(w)
				if err != nil {
					return nil, wordError{w, err}
				}
				for _, id := range ids {
					seq = append(seq, node{kind: nLit, id: id})
				}
			}
		}
	}
}

// emit appends the program of seq to prog.
func (pt *pattern) emit(prog []inst, seq []node) []inst {
	for _, n := range seq {
		switch n.kind {
		case nLit:
			prog = append(prog, inst{op: opTok, arg: n.id})
		case nOptOut:
			prog = append(prog, inst{op: opOptOut})
		case nSet:
			prog = append(prog, inst{op: opSet, arg: n.id})
		case nAny:
			// Lazy: each step first tries to skip the rest of the wildcard.
			first := len(prog)
			for range n.n {
				prog = append(prog, inst{op: opSplit, y: int32(len(prog) + 1)}, inst{op: opAny})
			}
			for i := first; i < len(prog); i += 2 {
				prog[i].x = int32(len(prog))
			}
		case nGroup:
			// The alternatives that are one word each become one set
			// instruction: one step instead of one per word.
			var set []int32
			var rest [][]node
			for _, alt := range n.alts {
				if len(alt) == 1 && alt[0].kind == nLit {
					set = append(set, alt[0].id)
				} else {
					rest = append(rest, alt)
				}
			}
			if len(set) > 1 {
				slices.Sort(set)
				set = slices.Compact(set)
				pt.sets = append(pt.sets, set)
				n.alts = append([][]node{{{kind: nSet, id: int32(len(pt.sets) - 1)}}}, rest...)
			}
			var fix []int // jumps and splits to point past the group
			if n.optional {
				fix = append(fix, len(prog))
				prog = append(prog, inst{op: opSplit, x: int32(len(prog) + 1)})
			}
			for i, alt := range n.alts {
				split := -1
				if i < len(n.alts)-1 {
					split = len(prog)
					prog = append(prog, inst{op: opSplit, x: int32(len(prog) + 1)})
				}
				prog = pt.emit(prog, alt)
				if i < len(n.alts)-1 {
					fix = append(fix, len(prog))
					prog = append(prog, inst{op: opJmp})
					prog[split].y = int32(len(prog))
				}
			}
			end := int32(len(prog))
			for _, i := range fix {
				if prog[i].op == opSplit {
					prog[i].y = end
				} else {
					prog[i].x = end
				}
			}
		}
	}
	return prog
}

// firstSet walks the program from its start without consuming a token and
// records which tokens a match can begin with. A pattern that can match
// nothing, or that begins with a wildcard, is refused: it would have to be
// tried at every word of every message.
func (pt *pattern) firstSet() error {
	seen := make([]bool, len(pt.prog))
	var walk func(pc int32) error
	walk = func(pc int32) error {
		if seen[pc] {
			return nil
		}
		seen[pc] = true
		in := pt.prog[pc]
		switch in.op {
		case opTok:
			for _, id := range pt.first {
				if id == in.arg {
					return nil
				}
			}
			pt.first = append(pt.first, in.arg)
		case opOptOut:
			pt.firstOptOut = true
		case opSet:
			for _, id := range pt.sets[in.arg] {
				pt.first = appendUnique(pt.first, id)
			}
		case opAny:
			return patternError("a pattern may not begin with a wildcard")
		case opMatch:
			return patternError("the pattern can match no words at all")
		case opJmp:
			return walk(in.x)
		case opSplit:
			if err := walk(in.x); err != nil {
				return err
			}
			return walk(in.y)
		}
		return nil
	}
	return walk(0)
}
