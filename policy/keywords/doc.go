// Package keywords decides what one mobile-originated SMS asks for: opt out,
// opt in, help, nothing, or "possibly opt out" (a person reviews it). It owns
// the normalization of MO text for detection, the default keyword, emoji and
// phrase lists for English, Spanish and French, the small pattern language
// the phrase lists are written in, and the matcher compiled from them.
//
// The package is pure: no I/O, no clock, no goroutines, no global state that
// changes. It imports only the standard library and golang.org/x/text, and
// no other optguard package. The caller (policy) decodes and reassembles the
// MO, builds Options from Defaults and the organization's configuration
// (Merge), and records what Classify returns. A Matcher is immutable and safe
// for concurrent use; an ASCII message of up to 512 bytes is classified
// without allocating.
//
// # Normalization
//
// Normalize, applied to messages and to every list entry alike:
//
//  1. Format characters (zero-width space, non-joiner, joiner, word joiner,
//     BOM, soft hyphen, bidi controls), controls other than whitespace and
//     variation selectors are removed; invalid UTF-8 reads as U+FFFD.
//  2. NFKC: fullwidth, circled and mathematical letters become plain letters.
//  3. Case folding (lower of upper; ß → ss), then NFD with the combining
//     diacritics U+0300–U+036F dropped (é → e, ñ → n, ç → c) and NFC again.
//     Marks of other scripts are kept. Typographic apostrophes (’ ‘ ʼ ´ `)
//     become '.
//  4. Punctuation and symbols (emoji included) are trimmed at both ends and
//     kept inside; runs of whitespace, underscores and dashes become one
//     space ("OPT-OUT", "opt_out", "opt   out" → "opt out"; "OPTOUT" stays
//     one word), or one line break when the run holds one (a sentence edge).
//  5. A run of three or more of the same character other than a digit
//     becomes one ("STOPPPP", "stooop" → "stop", "yesss" → "yes", "!!!" →
//     "!"); runs of two stay ("stopp"), digits are never touched ("2222").
//
// The result is valid UTF-8 and Normalize of it is itself (FuzzNormalize).
//
// Words are then split off: runs of letters, digits, marks, asterisks and
// apostrophes. An apostrophe after a French elided l' d' m' n' j' t' s' c'
// qu' splits ("m'envoyez" → m envoyez); any other is dropped ("don't" →
// dont, so both spellings match). Asterisks at a word's edges are dropped
// ("f***" → f) and inner ones kept ("f**k"). Words are compared by a key in
// which every run of a repeated non-digit character is squeezed to one, so
// "stopp" matches STOP and "offf" matches off; two list entries whose keys
// are equal are the same keyword.
//
// # Classification
//
// In this order:
//
//  1. A message that is only opt-out emoji (repeated, mixed, with spaces,
//     punctuation, skin tones or U+FE0F) opts out (RuleEmoji).
//  2. With Options.Numeric, a whole message "1" opts in and "2" opts out
//     (RuleNumeric; " 2. " and fullwidth "２" count).
//  3. The whole message is a keyword, or a run of keywords of one class
//     ("STOP STOP", "stop. unsubscribe"), or a keyword spelled one letter a
//     word ("S T O P") → that class (RuleKeyword). Opt-in and help are
//     recognised only this way: a false opt-in is the violation there.
//  4. Negative patterns mark the words they match ("don't stop", "bus stop",
//     "cancel the appointment").
//  5. An intent pattern opts out (RuleIntent) unless its match overlaps a
//     negative match without holding it whole: "please don't stop texting
//     me" is not a revocation, "you won't stop texting me" is, and "I can't
//     stop laughing, but stop texting me" is.
//  6. An opt-out keyword anywhere outside the negative matches →
//     PossibleOptOut (RuleContains), as is an opt-out emoji next to words
//     that matched nothing or matched opt-in/help ("YES 🛑").
//  7. Otherwise None (RuleNegative when a negative pattern explained an
//     opt-out word away, RuleNone when there was none).
//
// Where in doubt the matcher answers PossibleOptOut, never None: a missed
// opt-out is a violation of the FCC's "any reasonable means" rule, a review
// item costs a person a look. Negative patterns are therefore narrow (a
// specific following or preceding word), and a pattern that runs out of its
// step budget (only pathological input can) simply does not match, which
// leaves the opt-out word to step 6.
//
// The FCC's words stop, quit, end, revoke, opt out, cancel and unsubscribe
// (AlwaysOptOut) are opt-out keywords of every Matcher: Compile adds any the
// lists lack to "en", always, and refuses lists that put one in another
// class. An organization that replaces the defaults cannot remove them.
//
// # Lists and Merge
//
// Options.Lists holds one List per language tag. Organizations start from
// Defaults() and apply their configuration with Merge(base, add, replace):
// replace=false appends each language's entries to the defaults of that
// language; replace=true swaps that language's List whole (its patterns
// too), keeping the other languages. Compile refuses an empty entry, an
// entry that normalizes to nothing, the same keyword in two classes (in any
// languages), a malformed pattern and a bad language tag, with an
// *EntryError naming language, list, index and entry so that config can
// point at the file and line. The same keyword twice in one class is kept
// once (the first list's language and spelling are reported).
//
// # Pattern language
//
// Intent and Negative entries are patterns over words:
//
//	word          a word, normalized like message text ("don't", "m'envoyez", "opt-out" = opt out)
//	(a|b c|d)     one of the alternatives; each is a sequence of items
//	[a|b c]       optional: one of the alternatives, or nothing
//	*N            up to N (1–9) arbitrary words, at most 3 per pattern
//	@optout       any opt-out keyword of any list, however many words it has
//	^  …  $       at the start / end: the match begins / ends a sentence
//
// A pattern matches anywhere in the message unless anchored, but never
// across a sentence edge (. ! ? ; … ¡ ¿ or a line break), so "^ [please]
// @optout [now] $" is "STOP" as a sentence of its own: "Not interested.
// STOP." A pattern may not begin with a wildcard or match no words at all.
// Patterns compile to a few instructions for a backtracking matcher over
// word ids (alternations of single words become one set lookup); each
// pattern is indexed by the words a match can begin with and by the rarest
// words every match must contain, so that a message without those words
// tries no pattern at all. No regular expression runs per message.
//
// # Speed
//
// Classify reads an ASCII message of up to 512 bytes (a decoded GSM-7 MO is
// ASCII unless it holds one of GSM-7's accented or Greek letters or symbols
// such as £ and €) in one pass over its raw bytes (scan.go) instead of
// Normalize followed by the word split: a 256-entry table classifies and
// case-folds each byte; a word of up to 15 letters and digits is read eight
// bytes at a time, its key being the folded bytes themselves; other words
// are read a byte at a time, squeezed and hashed as they go; each key is
// looked up in an open-addressed table that is at most a quarter full. Messages the pass cannot read exactly
// (controls, '`', runs of three asterisks or apostrophes, words over 64
// bytes, messages whose words are all one character) take the general
// path; TestScanASCII and FuzzScanASCII hold the two to the same words and
// the same answer. Flags kept per word then skip every step that no word of
// the message can begin, so an ordinary reply tries almost no pattern.
//
// Figures from the shared 2-core development VM under load, in six rounds
// that each run every benchmark once (go test -c, then the test binary with
// -test.run '^$' -test.bench . -test.benchmem -test.count 1), old and new
// code alternating: Classify160ASCII (an ordinary 160-character reply)
// 0.88–1.09 µs and 0 allocations, 3.4–6.5 times (median 4.6) the plain
// lowercase copy of the same 160 bytes (BaselineLower160) in the same
// round, where the two-pass path took 2.4–3.9 µs (median 18 times the
// copy); ClassifyIntent 0.78–0.85 µs (was 1.2–2.1 µs); ClassifyKeyword
// ("STOP") 0.17–0.21 µs, as before. Non-ASCII messages take the general
// path, 9–15 µs and 8 allocations (ClassifyUnicode). Compare ratios measured
// side by side, not absolute numbers from different runs.
//
// # Precision and recall
//
// testdata/labelled.tsv holds 365 labelled messages (237 English, 64
// Spanish, 49 French, 15 emoji-only; mixed case, punctuation, zero-width and
// fullwidth characters, line breaks, messages up to 1,000 characters).
// TestLabelled prints precision and recall per class and fails on any
// mislabel; today every class is at precision 1.000 and recall 1.000
// (none 93, opt_out 219, opt_in 21, help 15, possible_opt_out 17). The table
// was written with the lists, so these figures say the lists do what the
// table documents, not how they fare on unseen traffic: add every
// misclassified MO found in review to the table.
package keywords
