package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// Template names. "handset first" is the flow where the handset wrote
// first (its MO is held until it consents; seed 000's "MT case"), "sender
// first" the flow where the sender wrote first (its MT is held; seed 000's
// "MO case"). Requests and confirmations go to the handset, notices to the
// sender.
const (
	TplHandsetFirstRequest              = "handset_first_request"
	TplHandsetFirstRequestedNotice      = "handset_first_requested_notice"
	TplHandsetFirstAcceptedNotice       = "handset_first_accepted_notice"
	TplHandsetFirstConfirmation         = "handset_first_confirmation"
	TplHandsetFirstRejectedNotice       = "handset_first_rejected_notice"
	TplHandsetFirstRejectedConfirmation = "handset_first_rejected_confirmation"
	TplSenderFirstRequest               = "sender_first_request"
	TplSenderFirstRequestedNotice       = "sender_first_requested_notice"
	TplSenderFirstAcceptedNotice        = "sender_first_accepted_notice"
	TplSenderFirstConfirmation          = "sender_first_confirmation"
	TplSenderFirstRejectedNotice        = "sender_first_rejected_notice"
	TplSenderFirstRejectedConfirmation  = "sender_first_rejected_confirmation"
	TplDisclaimer                       = "disclaimer"
	TplHelp                             = "help"
	TplOptInConfirmation                = "opt_in_confirmation"
	TplOptOutConfirmation               = "opt_out_confirmation"
	TplPIN                              = "pin"
	TplAgentOptOut                      = "agent_opt_out"
)

// DefaultTemplates are the built-in texts, from seed 000's defaults where it
// has one, written to the CTIA handbook: an opt-in confirmation names the
// program, says how to get help and how to stop and that message and data
// rates may apply; an opt-out confirmation carries no marketing and says
// only how to come back.
var DefaultTemplates = map[string]string{
	TplHandsetFirstRequest: "[Auto Message] You are trying to reach {sender_name}. As per company policy, you must provide your consent in order for your message to be delivered. " +
		"To opt in, reply {opt_in_keyword}. To opt out, reply {opt_out_keyword}.",
	TplHandsetFirstRequestedNotice: "[Auto Message] A contact has attempted to send you a message. As per company policy, they have been sent a request to opt in. " +
		"Once confirmed, you will be able to send/receive messages.",
	TplHandsetFirstAcceptedNotice: "[Auto Message] Your contact has opted in. You may continue to send/receive messages.",
	TplHandsetFirstConfirmation: "[Auto Message] {organization}: opt in confirmed for messages with {sender_name}. Msg & data rates may apply. " +
		"Reply HELP for help. To opt out at any time, reply {opt_out_keyword}.",
	TplHandsetFirstRejectedNotice: "[Auto Message] Your contact has opted out. No further messages can be sent to this contact until they have provided their consent again.",
	TplHandsetFirstRejectedConfirmation: "[Auto Message] Opt out confirmed. You will receive no further messages from {organization}. " +
		"If you change your mind, reply {opt_in_keyword}.",
	TplSenderFirstRequest: "[Auto Message] {sender_name} is trying to reach you. As per company policy, you must provide your consent to continue messaging. " +
		"To opt in, reply {opt_in_keyword}. To opt out, reply {opt_out_keyword}.",
	TplSenderFirstRequestedNotice: "[Auto Message] Your contact has been sent a request to opt in. Once they accept, you will be able to message with your contact.",
	TplSenderFirstAcceptedNotice:  "[Auto Message] Your contact has opted in. You may continue to send/receive messages.",
	TplSenderFirstConfirmation: "[Auto Message] {organization}: opt in confirmed for messages from {sender_name}. Msg & data rates may apply. " +
		"Reply HELP for help. To opt out at any time, reply {opt_out_keyword}.",
	TplSenderFirstRejectedNotice: "[Auto Message] Your contact has opted out. No further messages can be sent to this contact until they have provided their consent again.",
	TplSenderFirstRejectedConfirmation: "[Auto Message] Opt out confirmed. You will receive no further messages from {organization}. " +
		"If you change your mind, reply {opt_in_keyword}.",
	TplDisclaimer: "[Auto Message] You are receiving messages from {sender_name} of {organization}. Msg & data rates may apply. " +
		"Reply HELP for help, {opt_out_keyword} to opt out.",
	TplHelp: "{organization}: messages from {sender_name}. Help: {help_contact}. Msg & data rates may apply. Reply {opt_out_keyword} to opt out.",
	TplOptInConfirmation: "{organization}: you are opted in to messages from {sender_name}. Msg & data rates may apply. " +
		"Reply HELP for help, {opt_out_keyword} to opt out.",
	TplOptOutConfirmation: "{organization}: you are opted out and will receive no further messages. Reply {opt_in_keyword} to opt back in.",
	TplPIN:                "{organization}: your authorization code is {pin}. Give it to the agent to confirm your opt-in. Reply {opt_out_keyword} to opt out.",
	TplAgentOptOut:        "{organization}: you have been opted out and will receive no further messages. Reply {opt_in_keyword} to opt back in.",
}

// defaultHelpContact fills {help_contact} when an organization sets none.
const defaultHelpContact = "reply to this message or contact the sender"

// Vars are the values a template is rendered with.
type Vars struct {
	SenderName, SenderNumber, Organization string
	OptInKeyword, OptOutKeyword            string
	HelpContact, PIN                       string
}

func (v *Vars) get(name string) (string, bool) {
	switch name {
	case "sender_name":
		return v.SenderName, true
	case "sender_number":
		return v.SenderNumber, true
	case "organization":
		return v.Organization, true
	case "opt_in_keyword":
		return v.OptInKeyword, true
	case "opt_out_keyword":
		return v.OptOutKeyword, true
	case "help_contact":
		return v.HelpContact, true
	case "pin":
		return v.PIN, true
	}
	return "", false
}

// Template is a parsed template text with its version: the first 32 bits
// of SHA-256 over the text, recorded in the ledger with every message sent
// from it, so that the exact wording of any message can be proven from the
// configuration history without numbering versions by hand.
type Template struct {
	Name    string
	Text    string
	Version uint32
	parts   []tplPart
}

type tplPart struct {
	lit string
	v   string // variable name; lit is empty
}

// ParseTemplate parses text: {name} is a variable, {{ and }} are braces.
func ParseTemplate(name, text string) (*Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("policy: template %s is empty", name)
	}
	t := &Template{Name: name, Text: text}
	sum := sha256.Sum256([]byte(text))
	t.Version = binary.BigEndian.Uint32(sum[:4])
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	var probe Vars
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(text) && text[i+1] == c:
			lit.WriteByte(c)
			i++
		case c == '}':
			return nil, fmt.Errorf("policy: template %s: stray } at byte %d", name, i)
		case c == '{':
			end := strings.IndexAny(text[i+1:], "{}")
			if end < 0 || text[i+1+end] != '}' {
				return nil, fmt.Errorf("policy: template %s: unclosed { at byte %d", name, i)
			}
			v := text[i+1 : i+1+end]
			if _, ok := probe.get(v); !ok {
				return nil, fmt.Errorf("policy: template %s: unknown variable {%s}", name, v)
			}
			if v == "pin" && name != TplPIN {
				return nil, fmt.Errorf("policy: template %s: {pin} belongs in the pin template only", name)
			}
			flush()
			t.parts = append(t.parts, tplPart{v: v})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// Render returns the text with vars filled in.
func (t *Template) Render(vars *Vars) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.v == "" {
			b.WriteString(p.lit)
			continue
		}
		s, _ := vars.get(p.v)
		b.WriteString(s)
	}
	return b.String()
}

// templateSet is an organization's templates: the defaults with its
// overrides.
type templateSet map[string]*Template

func compileTemplates(overrides map[string]string) (templateSet, error) {
	set := make(templateSet, len(DefaultTemplates))
	names := make([]string, 0, len(DefaultTemplates))
	for n := range DefaultTemplates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		text := DefaultTemplates[n]
		if o, ok := overrides[n]; ok {
			text = o
		}
		t, err := ParseTemplate(n, text)
		if err != nil {
			return nil, err
		}
		set[n] = t
	}
	for n := range overrides {
		if _, ok := DefaultTemplates[n]; !ok {
			return nil, fmt.Errorf("policy: unknown template %s", n)
		}
	}
	return set, nil
}
