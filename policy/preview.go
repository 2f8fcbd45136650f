package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp/pdu"
)

// The console's read-only view of an organization's texts: every template
// as the running configuration has it, rendered with sample values and
// encoded exactly as an auto-message is (splitAuto), so that what it says
// about encoding and parts is what the handset would get.

// SampleSenderNumber is the sender of a preview when the organization
// has no sender of its own: a 555 number, which no handset has.
const SampleSenderNumber = "15550000000"

// OrganizationPreview is one organization's keywords and templates.
type OrganizationPreview struct {
	Organization   Organization
	Keywords       map[string]KeywordList // by language: the defaults merged with the organization's own, as matched
	Emoji          []string               // opt-out emoji
	NumericReplies bool                   // "1" opts in and "2" opts out
	Sample         Vars                   // what the templates were rendered with
	Templates      []TemplatePreview      // by name
}

// TemplatePreview is one template, rendered and encoded.
type TemplatePreview struct {
	Name      string
	Text      string // as configured, variables and all
	Version   uint32 // recorded in the ledger with every message sent from it
	Default   bool   // the built-in text: the organization does not set one
	ToHandset bool   // sent to the handset; false for notices to the sender
	Rendered  string
	UCS2      bool // sent in UCS2: some character is not in the GSM 03.38 alphabet
	// UCS2Char is the first character of Rendered that GSM-7 lacks and
	// UCS2At its index in Rendered, in characters (from 0); when UCS2.
	UCS2Char   rune
	UCS2At     int
	Characters int // characters of Rendered
	// Units are what the SMS limits count: septets in GSM-7 (an extension
	// character such as € takes two), UTF-16 code units in UCS2 (a
	// character outside the BMP, such as an emoji, takes two).
	Units int
	Parts int // short_messages it is sent as
	// Err says why it could not be sent at all (longer than 255 parts);
	// Parts is then 0.
	Err error
}

// TemplatePreviews renders organization org's templates with the values
// of its first sender (by sender, as SenderNames lists them) and the name
// the templates give it, else with SampleSenderNumber and the name
// optguard gives a sender it has no name for (default_sender_name, or the
// display name); {pin} is a sample PIN of the configured length. The
// handset's language is taken as unknown, so the keywords are the English
// ones, as for a handset that has not written yet.
func (e *Engine) TemplatePreviews(org string) (OrganizationPreview, error) {
	t := e.tab.Load()
	o := t.orgs[org]
	if o == nil {
		return OrganizationPreview{}, fmt.Errorf("%w: %q", ErrUnknownOrganization, org)
	}
	names, err := e.SenderNames(org)
	if err != nil {
		return OrganizationPreview{}, err
	}
	sender := SampleSenderNumber
	if len(names) > 0 {
		sender = names[0].Sender
	}
	vars := e.vars(o, sender, "")
	vars.PIN = "1234567890"[:t.settings.PINDigits] // 4..10 digits
	p := OrganizationPreview{
		Organization: copySpec(o.spec), Keywords: map[string]KeywordList{},
		Emoji: keywords.DefaultEmoji(), NumericReplies: o.spec.NumericReplies, Sample: vars,
	}
	for _, l := range o.lists {
		p.Keywords[l.Lang] = KeywordList{OptOut: slices.Clone(l.OptOut), OptIn: slices.Clone(l.OptIn), Help: slices.Clone(l.Help),
			Intent: slices.Clone(l.Intent), Negative: slices.Clone(l.Negative)}
	}
	for _, name := range slices.Sorted(maps.Keys(o.templates)) {
		tpl := o.templates[name]
		_, overridden := o.spec.Templates[name]
		tp := TemplatePreview{Name: name, Text: tpl.Text, Version: tpl.Version, Default: !overridden, ToHandset: noticeNames[name] == ""}
		tp.Rendered = tpl.Render(&vars) // {pin} is only ever in the pin template
		tp.measure()
		p.Templates = append(p.Templates, tp)
	}
	return p, nil
}

// measure fills in the encoding, the counts and the parts of Rendered.
func (tp *TemplatePreview) measure() {
	s := tp.Rendered
	tp.Characters = utf8.RuneCountInString(s)
	dc, parts, err := splitAuto(s, 0)
	tp.Parts, tp.Err = len(parts), err
	septets, bad, fits := pdu.GSM7Fit(s) // what splitAuto chose the encoding by
	if fits && dc == pdu.CodingDefault {
		tp.Units = septets
		return
	}
	tp.UCS2, tp.UCS2Char = true, bad
	tp.UCS2At = utf8.RuneCountInString(s[:strings.IndexRune(s, bad)])
	for _, r := range s {
		tp.Units += utf16.RuneLen(r)
	}
}
