package httpapi

import (
	"net/http"

	"github.com/optguard/optguard/policy"
)

// An organization's keywords and templates as the running configuration
// has them (issue 11's templates page): the policy renders and encodes
// them (Engine.TemplatePreviews); this shapes the JSON.

type keywordsView struct {
	OptOut   []string `json:"opt_out"`
	OptIn    []string `json:"opt_in"`
	Help     []string `json:"help"`
	Intent   []string `json:"intent"`
	Negative []string `json:"negative"`
}

type sampleView struct {
	SenderName   string `json:"sender_name"`
	SenderNumber string `json:"sender_number"`
	PIN          string `json:"pin"`
	HelpContact  string `json:"help_contact"`
}

type templateView struct {
	Name       string `json:"name"`
	To         string `json:"to"`
	Default    bool   `json:"default"`
	Text       string `json:"text"`
	Version    uint32 `json:"version"`
	Rendered   string `json:"rendered"`
	Encoding   string `json:"encoding"`
	UCS2Char   string `json:"ucs2_char,omitempty"`
	UCS2At     *int   `json:"ucs2_at,omitempty"`
	Characters int    `json:"characters"`
	Units      int    `json:"units"`
	Parts      int    `json:"parts"`
	Error      string `json:"error,omitempty"`
}

type templatesView struct {
	Organization   string                  `json:"organization"`
	Main           string                  `json:"main"`
	DisplayName    string                  `json:"display_name"`
	Mode           string                  `json:"mode"`
	Scope          string                  `json:"scope"`
	NumericReplies bool                    `json:"numeric_replies"`
	Emoji          []string                `json:"emoji"`
	Keywords       map[string]keywordsView `json:"keywords"`
	Sample         sampleView              `json:"sample"`
	Templates      []templateView          `json:"templates"`
}

// getTemplates answers GET /api/v1/organizations/{name}/templates.
func (a *API) getTemplates(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	name := r.PathValue("name")
	o, err := c.org(name)
	if name == "" {
		err = notFound("name the organization: /api/v1/organizations/{name}/templates")
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	p, err := a.pol.TemplatePreviews(o.Name)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	v := templatesView{
		Organization: o.Name, Main: o.Main, DisplayName: o.DisplayName, Mode: o.Mode.String(), Scope: o.Scope.String(),
		NumericReplies: p.NumericReplies, Emoji: nonNil(p.Emoji), Keywords: map[string]keywordsView{},
		Sample:    sampleView{SenderName: p.Sample.SenderName, SenderNumber: p.Sample.SenderNumber, PIN: p.Sample.PIN, HelpContact: p.Sample.HelpContact},
		Templates: make([]templateView, 0, len(p.Templates)),
	}
	for lang, kl := range p.Keywords {
		v.Keywords[lang] = keywordsView{OptOut: nonNil(kl.OptOut), OptIn: nonNil(kl.OptIn), Help: nonNil(kl.Help),
			Intent: nonNil(kl.Intent), Negative: nonNil(kl.Negative)}
	}
	for _, tp := range p.Templates {
		v.Templates = append(v.Templates, viewTemplate(tp))
	}
	writeJSON(w, http.StatusOK, v)
}

func viewTemplate(tp policy.TemplatePreview) templateView {
	tv := templateView{Name: tp.Name, To: "sender", Default: tp.Default, Text: tp.Text, Version: tp.Version, Rendered: tp.Rendered,
		Encoding: "gsm7", Characters: tp.Characters, Units: tp.Units, Parts: tp.Parts}
	if tp.ToHandset {
		tv.To = "handset"
	}
	if tp.UCS2 {
		at := tp.UCS2At
		tv.Encoding, tv.UCS2Char, tv.UCS2At = "ucs2", string(tp.UCS2Char), &at
	}
	if tp.Err != nil {
		tv.Error = words(tp.Err)
	}
	return tv
}
