package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/smpp/pdu"
)

type templateItem struct {
	Name, To, Text, Rendered, Encoding string
	Default                            bool
	Version                            uint32
	UCS2Char                           string `json:"ucs2_char"`
	UCS2At                             *int   `json:"ucs2_at"`
	Characters, Units, Parts           int
	Error                              string
}

type templatesReply struct {
	Organization   string
	Main           string
	DisplayName    string `json:"display_name"`
	Mode, Scope    string
	NumericReplies bool `json:"numeric_replies"`
	Emoji          []string
	Keywords       map[string]struct {
		OptOut []string `json:"opt_out"`
		OptIn  []string `json:"opt_in"`
		Help   []string
	}
	Sample struct {
		SenderName   string `json:"sender_name"`
		SenderNumber string `json:"sender_number"`
		PIN          string
	}
	Templates []templateItem
}

func (r templatesReply) template(t *testing.T, name string) templateItem {
	t.Helper()
	i := slices.IndexFunc(r.Templates, func(x templateItem) bool { return x.Name == name })
	if i < 0 {
		t.Fatalf("no template %s in %s", name, mustJSON(r))
	}
	return r.Templates[i]
}

// The running configuration's templates, rendered for the organization's
// first sender, with the default keywords merged in; the answer is what
// the OpenAPI document describes.
func TestTemplatesOfAnOrganization(t *testing.T) {
	e := newEnv(t)
	doc, _ := openAPIDoc(t, e)
	r := e.ok("auditor", "GET", "/api/v1/organizations/acme/templates", nil)
	conforms(t, doc, "#/components/schemas/OrganizationTemplates", r.Body)
	var got templatesReply
	r.json(t, &got)
	if got.Organization != "acme" || got.Main != "acme" || got.DisplayName != "Acme" || got.Mode != "consent" || got.Scope != "organization" {
		t.Fatalf("organization: %s", mustJSON(got))
	}
	en := got.Keywords["en"]
	if !slices.Contains(en.OptOut, "STOP") || !slices.Contains(en.OptIn, "YES") || !slices.Contains(en.Help, "HELP") || got.Keywords["es"].OptOut == nil {
		t.Errorf("keywords: %s", mustJSON(got.Keywords))
	}
	if !slices.Contains(got.Emoji, "🛑") {
		t.Errorf("emoji: %q", got.Emoji)
	}
	if got.Sample.SenderNumber != "15550001000" || got.Sample.SenderName != "Acme Billing" || got.Sample.PIN != "123456" {
		t.Errorf("sample values: %+v", got.Sample)
	}
	if len(got.Templates) != len(policy.DefaultTemplates) {
		t.Fatalf("%d templates, want the %d there are", len(got.Templates), len(policy.DefaultTemplates))
	}
	req := got.template(t, policy.TplSenderFirstRequest)
	if !req.Default || req.To != "handset" || req.Text != policy.DefaultTemplates[policy.TplSenderFirstRequest] ||
		!strings.HasPrefix(req.Rendered, "[Auto Message] Acme Billing is trying to reach you.") || strings.Contains(req.Rendered, "{") {
		t.Errorf("sender_first_request: %s", mustJSON(req))
	}
	// 175 GSM-7 characters, [ and ] of two septets each: two parts.
	if req.Encoding != "gsm7" || req.UCS2At != nil || req.UCS2Char != "" || req.Characters != utf8.RuneCountInString(req.Rendered) ||
		req.Units != req.Characters+2 || req.Parts != 2 || req.Version == 0 {
		t.Errorf("sender_first_request's encoding: %s", mustJSON(req))
	}
	if n := got.template(t, policy.TplSenderFirstRequestedNotice); n.To != "sender" {
		t.Errorf("a notice goes to %q", n.To)
	}
	if pin := got.template(t, policy.TplPIN); !strings.Contains(pin.Rendered, "your authorization code is 123456") {
		t.Errorf("pin: %q", pin.Rendered)
	}
}

// A template with an emoji is sent in UCS2, and the answer names the
// emoji and where it is; a long one counts its parts as they are sent;
// an extension character takes two septets. What the handset is sent
// matches the preview: the same text, coding and parts.
func TestTemplateEncodingAndParts(t *testing.T) {
	e := newEnv(t)
	orgs := testOrgs()
	long := "{organization}: you have been opted out and will receive no further messages from us, not today, not tomorrow, " +
		"not ever, unless you write back. Reply {opt_in_keyword} to opt back in. Cost: 0 €."
	orgs[0].Templates = map[string]string{
		policy.TplHelp:        "{organization} 😀 help: {help_contact}",
		policy.TplAgentOptOut: long,
	}
	if err := e.eng.Reload(orgs, policy.Settings{}); err != nil {
		t.Fatal(err)
	}
	var got templatesReply
	e.ok("acme-admin", "GET", "/api/v1/organizations/acme/templates", nil).json(t, &got)

	help := got.template(t, policy.TplHelp)
	if help.Default || help.Encoding != "ucs2" || help.UCS2Char != "😀" || help.UCS2At == nil || *help.UCS2At != len("Acme ") {
		t.Fatalf("the emoji template: %s", mustJSON(help))
	}
	if help.Characters != utf8.RuneCountInString(help.Rendered) || help.Units != help.Characters+1 || help.Parts != 1 {
		t.Errorf("the emoji template's counts (the emoji is two UTF-16 units): %s", mustJSON(help))
	}

	out := got.template(t, policy.TplAgentOptOut)
	if out.Encoding != "gsm7" || out.Parts != 2 || out.Units != out.Characters+1 || out.Characters <= 160 {
		t.Fatalf("the long template (€ is two septets): %s", mustJSON(out))
	}
	e.ok("agent", "POST", "/api/v1/numbers/+15551230301/opt-out", map[string]any{"organization": "acme", "sender": "15550001000"})
	sent := e.out.to("+15551230301")
	if len(sent) != 1 || sent[0].Text != out.Rendered || sent[0].Parts != out.Parts || sent[0].DataCoding != pdu.CodingDefault {
		t.Fatalf("sent %+v\npreview %s", sent, mustJSON(out))
	}
}

// A token sees the templates of the organizations it sees; any other
// organization, or one that does not exist, is not found.
func TestTemplatesTenancy(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		token, org string
		ok         bool
	}{
		{"acme-admin", "acme", true},
		{"acme-admin", "acme-sales", true},
		{"acme-sales-agent", "acme-sales", true},
		{"acme-sales-agent", "acme", false},
		{"globex-auditor", "acme", false},
		{"globex-auditor", "globex", true},
		{"auditor", "default", true},
		{"auditor", "nope", false},
	} {
		r := e.call(c.token, "GET", "/api/v1/organizations/"+c.org+"/templates", nil)
		if !c.ok {
			r.wantError(t, http.StatusNotFound, "unknown_organization", "organization")
			continue
		}
		var got templatesReply
		r.json(t, &got)
		if r.Status != http.StatusOK || got.Organization != c.org {
			t.Errorf("%s reading %s: %d %s", c.token, c.org, r.Status, r.Body)
		}
	}
	// A sub-organization renders with what it inherits: acme's sender is
	// not its own, so its preview uses the sample number and its name.
	var sales templatesReply
	e.ok("acme-admin", "GET", "/api/v1/organizations/acme-sales/templates", nil).json(t, &sales)
	if sales.Mode != "consent" || sales.Main != "acme" || sales.Sample.SenderNumber != policy.SampleSenderNumber || sales.Sample.SenderName != "acme-sales" {
		t.Errorf("acme-sales: %s %s %+v", sales.Mode, sales.Main, sales.Sample)
	}
	e.call("auditor", "GET", "/api/v1/organizations/acme/templates?lang=en", nil).wantError(t, http.StatusBadRequest, "unknown_parameter", "lang")
}
