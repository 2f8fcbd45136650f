package config

import (
	"errors"
	"fmt"
	"strings"
)

// TemplateNames are the names of the auto-message templates an organization
// may override, sorted. The built-in texts live in policy. "handset_first"
// is the flow where the handset wrote first (its MO is held), "sender_first"
// the flow where the sender wrote first (its MT is held); in each, the
// request and the confirmations go to the handset and the notices to the
// sender:
//
//   - *_request: asks the handset for consent (YES or STOP)
//   - *_requested_notice: tells the sender a request went out
//   - *_accepted_notice: tells the sender the handset opted in
//   - *_confirmation: confirms the opt-in to the handset
//   - *_rejected_notice: tells the sender the handset opted out
//   - *_rejected_confirmation: confirms the opt-out to the handset
//   - disclaimer: first contact in disclaimer mode
//   - help: the reply to a help keyword
//   - opt_in_confirmation, opt_out_confirmation: a handset's keyword outside
//     a consent request
//   - pin: the double opt-in code; must contain {pin}
//   - agent_opt_out: the last text to a handset an agent opted out
var TemplateNames = []string{
	"agent_opt_out",
	"disclaimer",
	"handset_first_accepted_notice",
	"handset_first_confirmation",
	"handset_first_rejected_confirmation",
	"handset_first_rejected_notice",
	"handset_first_request",
	"handset_first_requested_notice",
	"help",
	"opt_in_confirmation",
	"opt_out_confirmation",
	"pin",
	"sender_first_accepted_notice",
	"sender_first_confirmation",
	"sender_first_rejected_confirmation",
	"sender_first_rejected_notice",
	"sender_first_request",
	"sender_first_requested_notice",
}

// TemplateVariables are the variables a template may use, written {name}:
// the sender's display name and number, the organization's display name,
// the first opt-in and opt-out keyword of the handset's language, the help
// contact, and the PIN (in the pin template only).
var TemplateVariables = []string{
	"sender_name",
	"sender_number",
	"organization",
	"opt_in_keyword",
	"opt_out_keyword",
	"help_contact",
	"pin",
}

// PINTemplate is the one template that carries {pin}.
const PINTemplate = "pin"

// CheckTemplate checks the text of the template called name: it must not
// be empty, every {variable} must be one of TemplateVariables, { and } must
// pair up ({{ and }} stand for literal braces), and {pin} must appear in
// the pin template and nowhere else. It does not check the name; see
// TemplateNames.
func CheckTemplate(name, text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("must not be empty (an auto-message cannot be switched off by emptying its text)")
	}
	hasPIN := false
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '}':
			if i+1 < len(text) && text[i+1] == '}' {
				i++
				continue
			}
			return fmt.Errorf(`stray "}" at byte %d; write "}}" for a literal brace`, i)
		case '{':
			if i+1 < len(text) && text[i+1] == '{' {
				i++
				continue
			}
			end := strings.IndexAny(text[i+1:], "{}")
			if end < 0 || text[i+1+end] == '{' {
				return fmt.Errorf(`unclosed "{" at byte %d; write "{{" for a literal brace`, i)
			}
			v := text[i+1 : i+1+end]
			switch {
			case v == "pin" && name != PINTemplate:
				return errors.New("{pin} may be used only in the pin template")
			case v == "pin":
				hasPIN = true
			case !isVariable(v):
				msg := fmt.Sprintf("unknown variable {%s}", v)
				if s := suggest(v, TemplateVariables); s != "" {
					msg += fmt.Sprintf(" (did you mean {%s}?)", s)
				}
				return fmt.Errorf("%s; the variables are {%s}", msg, strings.Join(TemplateVariables, "}, {"))
			}
			i += end + 1
		}
	}
	if name == PINTemplate && !hasPIN {
		return errors.New("must contain {pin}, the code the handset replies with")
	}
	return nil
}

func isVariable(v string) bool {
	for _, name := range TemplateVariables {
		if v == name {
			return true
		}
	}
	return false
}

// suggest returns the name in names within 2 edits of s (the closest, then
// the first in sort order), or "".
func suggest(s string, names []string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(s, name); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	return best
}
