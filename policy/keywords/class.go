package keywords

// Class is what a mobile-originated message asks for.
type Class uint8

// The classes Classify returns.
const (
	None           Class = iota // no consent meaning
	OptOut                      // revokes consent
	OptIn                       // gives consent
	Help                        // asks for the help reply
	PossibleOptOut              // contains an opt-out word but matched nothing: a person reviews it
)

var classNames = [...]string{"none", "opt_out", "opt_in", "help", "possible_opt_out"}

// String returns the snake_case name used in logs, metrics and the ledger.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + itoa(int(c)) + ")"
}

// Rule is how a message matched its class.
type Rule uint8

// The rules Classify reports.
const (
	RuleNone     Rule = iota // nothing matched (Class None)
	RuleKeyword              // the whole message is a keyword, or a run of keywords of one class
	RuleEmoji                // the message is only opt-out emoji
	RuleNumeric              // the whole message is "1" or "2" and numeric replies are on
	RuleIntent               // an intent pattern matched
	RuleContains             // an opt-out word or emoji occurs but nothing else matched (PossibleOptOut)
	RuleNegative             // an opt-out word occurs only inside a negative pattern (Class None)
)

var ruleNames = [...]string{"none", "keyword", "emoji", "numeric", "intent", "contains", "negative"}

// String returns the snake_case name of the rule.
func (r Rule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return "rule(" + itoa(int(r)) + ")"
}

// Result is the classification of one message. Its strings are owned by the
// Matcher, so returning a Result allocates nothing.
type Result struct {
	Class Class
	Rule  Rule
	// Lang is the language of the list that matched: "en", "es", "fr" or an
	// organization's own tag; "" for emoji, numeric and no match.
	Lang string
	// Keyword is the keyword, emoji or pattern that matched, as written in
	// its list ("OPT OUT", "stop (texting|messaging) me").
	Keyword string
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
