package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullFile is a valid file that sets every organization key: a main
// organization, a sub-organization by sender prefix and one below that.
const fullFile = `
policy:
  notice_tlv_tag: 0x1500
  reassembly_timeout: 30s
  reassembly_max_messages: 500
  expiry_scan_interval: 5s
  confirmation_deadline: 1m
store:
  hold_max_per_scope: 50
organizations:
  - name: acme
    display_name: Acme Bank
    system_ids: [acme, acme-tx]
    mode: consent
    consent_scope: sender
    revoke_all: true
    possible_opt_out: hold
    relay_keyword_mo: false
    numeric_replies: true
    help_contact: "help@acme.example"
    default_sender_name: Acme
    sender_names:
      "+15550100001": Jane Roe
      "15550100002": John Doe
    keywords:
      replace_defaults: false
      languages:
        en:
          opt_out: [enough]
          opt_in: [sure]
          help: [support]
          intent: ["stop (texting|messaging) me"]
          negative: ["stop by"]
    templates:
      help: "{organization}: {help_contact}. Reply {opt_out_keyword} to stop."
      pin: "Your code is {pin}"
    hold:
      max_per_scope: 20
      expiry: 24h
    consent_requests:
      resend_interval: 1h
      max: 2
    refused_status: ESME_RX_R_APPN
    hold_full_status: 0x58
    countries:
      allowed: [US, CA]
      default: CA
    service_bind:
      system_id: optguard
      password: secret
      system_type: OG
    message_ids: hex
  - name: acme-sales
    parent: acme
    display_name: Acme Sales
    sender_prefixes: ["+1555010"]
    numeric_replies: false
    sender_names:
      "+15550100001": Jane R.
    keywords:
      languages:
        en:
          opt_out: [leave me be]
        es:
          opt_out: [basta]
    templates:
      help: "Sales: {help_contact}"
  - name: acme-sales-east
    parent: acme-sales
    system_ids: [east]
    keywords:
      replace_defaults: true
      languages:
        fr:
          opt_out: [assez]
`

func TestResolvedOrganizations(t *testing.T) {
	c := mustParse(t, fullFile)
	got := c.ResolvedOrganizations()
	main := ResolvedOrganization{
		Name: "acme", Main: "acme", Key: "organizations[0]",
		DisplayName:    "Acme Bank",
		SystemIDs:      []string{"acme", "acme-tx"},
		SenderPrefixes: []string{},
		Mode:           ModeConsent, ConsentScope: ScopeSender, RevokeAll: true,
		PossibleOptOut: PossibleOptOutHold, RelayKeywordMO: false, NumericReplies: true,
		HelpContact: "help@acme.example", DefaultSenderName: "Acme",
		SenderNames: map[string]string{"15550100001": "Jane Roe", "15550100002": "John Doe"},
		Keywords: Keywords{Languages: map[string]KeywordList{"en": {
			OptOut: []string{"enough"}, OptIn: []string{"sure"}, Help: []string{"support"},
			Intent: []string{"stop (texting|messaging) me"}, Negative: []string{"stop by"},
		}}},
		Templates: map[string]string{
			"help": "{organization}: {help_contact}. Reply {opt_out_keyword} to stop.",
			"pin":  "Your code is {pin}",
		},
		Hold:            Hold{MaxPerScope: 20, Expiry: Duration(24 * time.Hour)},
		ConsentRequests: ConsentRequests{ResendInterval: Duration(time.Hour), Max: 2},
		RefusedStatus:   0x66, HoldFullStatus: 0x58,
		Countries:   Countries{Allowed: []string{"US", "CA"}, Default: "CA"},
		ServiceBind: ServiceBind{SystemID: "optguard", Password: "secret", SystemType: "OG"},
		MessageIDs:  MessageIDsHex,
		Retention:   Retention{Proof: Duration(DefaultProofRetention), MessageLog: Duration(720 * time.Hour)},
	}
	sales := main
	sales.Name, sales.Parent, sales.Key = "acme-sales", "acme", "organizations[1]"
	sales.DisplayName = "Acme Sales"
	sales.SenderPrefixes = []string{"1555010"}
	sales.NumericReplies = false
	sales.SenderNames = map[string]string{"15550100001": "Jane R.", "15550100002": "John Doe"}
	sales.Keywords = Keywords{Languages: map[string]KeywordList{
		"en": {
			OptOut: []string{"enough", "leave me be"}, OptIn: []string{"sure"}, Help: []string{"support"},
			Intent: []string{"stop (texting|messaging) me"}, Negative: []string{"stop by"},
		},
		"es": {OptOut: []string{"basta"}},
	}}
	sales.Templates = map[string]string{"help": "Sales: {help_contact}", "pin": "Your code is {pin}"}
	east := sales
	east.Name, east.Parent, east.Key = "acme-sales-east", "acme-sales", "organizations[2]"
	east.SystemIDs = []string{"east"}
	east.SenderPrefixes = []string{}
	east.Keywords = Keywords{ReplaceDefaults: true, Languages: map[string]KeywordList{"fr": {OptOut: []string{"assez"}}}}
	def := ResolvedOrganization{
		Name: "default", Main: "default",
		DisplayName: "default", DefaultSenderName: "default",
		SystemIDs: []string{}, SenderPrefixes: []string{},
		Mode: ModeOff, ConsentScope: ScopeOrganization, PossibleOptOut: PossibleOptOutRelay, RelayKeywordMO: true,
		SenderNames: map[string]string{}, Templates: map[string]string{},
		Keywords:        Keywords{Languages: map[string]KeywordList{}},
		Hold:            Hold{MaxPerScope: 50, Expiry: Duration(72 * time.Hour)},
		ConsentRequests: ConsentRequests{ResendInterval: Duration(24 * time.Hour), Max: 3},
		RefusedStatus:   0x65, HoldFullStatus: 0x14,
		Countries:  Countries{Allowed: []string{}, Default: "US"},
		MessageIDs: MessageIDsAuto,
		Retention:  Retention{Proof: Duration(DefaultProofRetention), MessageLog: Duration(720 * time.Hour)},
	}
	want := []ResolvedOrganization{main, sales, east, def}
	if len(got) != len(want) {
		t.Fatalf("got %d organizations, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("organization %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestOrganizationErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad name", "organizations:\n  - name: 'a b'\n",
			`optguard.yaml:2: organizations[0].name: must be 1 to 64 letters, digits, '.', '_' or '-', got "a b"`},
		{"missing name", "organizations:\n  - display_name: X\n",
			`optguard.yaml:2: organizations[0].name: must be 1 to 64 letters, digits, '.', '_' or '-', got ""`},
		{"duplicate name", "organizations:\n  - name: a\n  - name: b\n  - name: a\n",
			`optguard.yaml:4: organizations[2].name: "a" is already the name of organizations[0]`},
		{"unknown parent", "organizations:\n  - name: acme\n  - name: sales\n    parent: acmee\n",
			`optguard.yaml:4: organizations[1].parent: no organization is named "acmee" (did you mean "acme"?)`},
		{"own parent", "organizations:\n  - name: a\n    parent: a\n",
			`optguard.yaml:3: organizations[0].parent: parents form a cycle: a → a`},
		{"cycle", "organizations:\n  - name: a\n    parent: b\n  - name: b\n    parent: a\n  - name: c\n    parent: a\n",
			"optguard.yaml:3: organizations[0].parent: parents form a cycle: a → b → a\n" +
				"optguard.yaml:5: organizations[1].parent: parents form a cycle: b → a → b"},
		{"default with a parent", "organizations:\n  - name: acme\n  - name: default\n    parent: acme\n",
			`optguard.yaml:4: organizations[1].parent: the "default" organization cannot have a parent: it covers the binds no organization claims`},
		{"main-only keys on a sub-organization", `organizations:
  - name: acme
  - name: sales
    parent: acme
    mode: off
    revoke_all: false
    hold:
      expiry: 1h
    refused_status: ESME_RX_P_APPN
`, "optguard.yaml:5: organizations[1].mode: set on the main organization \"acme\"; it applies to the whole account\n" +
			"optguard.yaml:6: organizations[1].revoke_all: set on the main organization \"acme\"; it applies to the whole account\n" +
			"optguard.yaml:7: organizations[1].hold: set on the main organization \"acme\"; it applies to the whole account\n" +
			"optguard.yaml:9: organizations[1].refused_status: set on the main organization \"acme\"; it applies to the whole account"},
		{"main-only key two levels down", "organizations:\n  - name: acme\n  - name: sales\n    parent: acme\n  - name: east\n    parent: sales\n    message_ids: hex\n",
			`optguard.yaml:7: organizations[2].message_ids: set on the main organization "acme"; it applies to the whole account`},
		{"bad enums", "organizations:\n  - name: acme\n    mode: on\n    consent_scope: handset\n    possible_opt_out: drop\n    message_ids: \"\"\n",
			"optguard.yaml:3: organizations[0].mode: must be one of consent, disclaimer, off, got \"on\"\n" +
				"optguard.yaml:4: organizations[0].consent_scope: must be one of organization, sender, got \"handset\"\n" +
				"optguard.yaml:5: organizations[0].possible_opt_out: must be one of relay, hold, got \"drop\"\n" +
				"optguard.yaml:6: organizations[0].message_ids: must be one of auto, hex, decimal, got \"\""},
		{"hold and requests ranges", `store:
  hold_max_per_scope: 10
organizations:
  - name: acme
    hold:
      max_per_scope: 11
      expiry: 30s
    consent_requests:
      resend_interval: 59s
      max: 0
`, "optguard.yaml:6: organizations[0].hold.max_per_scope: must be between 1 and 10 (store.hold_max_per_scope), got 11\n" +
			"optguard.yaml:7: organizations[0].hold.expiry: must be between 1m and 720h, got 30s\n" +
			"optguard.yaml:9: organizations[0].consent_requests.resend_interval: must be at least 1m, got 59s\n" +
			"optguard.yaml:10: organizations[0].consent_requests.max: must be between 1 and 100, got 0"},
		{"retention ranges", "organizations:\n  - name: acme\n    retention:\n      proof: 1h\n      message_log: 30m\n  - name: acme-sub\n    parent: acme\n    retention:\n      proof: 48h\n",
			"optguard.yaml:4: organizations[0].retention.proof: must be between 24h and 876000h, got 1h\n" +
				"optguard.yaml:5: organizations[0].retention.message_log: must be at least 1h, got 30m\n" +
				"optguard.yaml:8: organizations[1].retention: set on the main organization \"acme\"; it applies to the whole account"},
		{"hold limit written as 0", "organizations:\n  - name: acme\n    hold:\n      max_per_scope: 0\n",
			`optguard.yaml:4: organizations[0].hold.max_per_scope: must be between 1 and 100 (store.hold_max_per_scope), got 0`},
		{"statuses", "organizations:\n  - name: acme\n    refused_status: ESME_RMSGQFUL\n    hold_full_status: 0\n",
			"optguard.yaml:3: organizations[0].refused_status: ESME_RMSGQFUL is a transient error that ESMEs resend without end; use a permanent one such as ESME_RX_P_APPN\n" +
				"optguard.yaml:4: organizations[0].hold_full_status: must be an error status, not ESME_ROK: the message is not accepted"},
		{"refused status OK", "organizations:\n  - name: acme\n    refused_status: 0\n",
			`optguard.yaml:3: organizations[0].refused_status: must be an error status, not ESME_ROK: the message is not delivered`},
		{"countries", "organizations:\n  - name: acme\n    countries:\n      allowed: [US, us, USA, US]\n      default: GB\n",
			"optguard.yaml:4: organizations[0].countries.allowed[1]: must be an ISO 3166 alpha-2 code in capitals, like US, got \"us\"\n" +
				"optguard.yaml:4: organizations[0].countries.allowed[2]: must be an ISO 3166 alpha-2 code in capitals, like US, got \"USA\"\n" +
				"optguard.yaml:4: organizations[0].countries.allowed[3]: \"US\" is listed twice\n" +
				"optguard.yaml:5: organizations[0].countries.default: \"GB\" must be one of countries.allowed (US, us, USA, US)"},
		{"default country not allowed", "organizations:\n  - name: acme\n    countries:\n      allowed: [CA]\n",
			`optguard.yaml:3: organizations[0].countries.default: "US" must be one of countries.allowed (CA)`},
		{"bad default country", "organizations:\n  - name: acme\n    countries:\n      default: usa\n",
			`optguard.yaml:4: organizations[0].countries.default: must be an ISO 3166 alpha-2 code in capitals, like US, got "usa"`},
		{"service bind", "organizations:\n  - name: acme\n    service_bind:\n      password: toolongpassword\n      system_type: x\n",
			"optguard.yaml:4: organizations[0].service_bind.password: is set without organizations[0].service_bind.system_id\n" +
				"optguard.yaml:5: organizations[0].service_bind.system_type: is set without organizations[0].service_bind.system_id\n" +
				"optguard.yaml:4: organizations[0].service_bind.password: must be at most 8 characters (SMPP's limit), got 15"},
		{"system_ids", "organizations:\n  - name: acme\n    system_ids: ['', a, a, abcdefghijklmnop]\n",
			"optguard.yaml:3: organizations[0].system_ids[0]: must not be empty\n" +
				"optguard.yaml:3: organizations[0].system_ids[2]: \"a\" is listed twice\n" +
				"optguard.yaml:3: organizations[0].system_ids[3]: must be at most 15 characters: a longer system_id cannot bind"},
		{"system_id of two accounts", "organizations:\n  - name: acme\n    system_ids: [acme]\n  - name: beta\n    system_ids:\n      - beta\n      - acme\n",
			`optguard.yaml:7: organizations[1].system_ids[1]: "acme" is already a system_id of organization "acme" of account "acme"; a system_id belongs to one account`},
		{"system_id shared without prefixes", "organizations:\n  - name: acme\n    system_ids: [acme]\n  - name: sales\n    parent: acme\n    system_ids: [acme]\n",
			`optguard.yaml:6: organizations[1].system_ids[0]: "acme" is already listed by organization "acme" without sender_prefixes; organizations of one account that share a system_id must tell their senders apart with sender_prefixes`},
		{"same prefix twice for a system_id", "organizations:\n  - name: acme\n    system_ids: [acme]\n  - name: sales\n    parent: acme\n    sender_prefixes: ['+1555']\n  - name: east\n    parent: acme\n    sender_prefixes: ['1555']\n",
			`optguard.yaml:9: organizations[2].sender_prefixes[0]: "1555" is already a sender prefix of organization "sales" for system_id "acme"`},
		{"sender prefixes", "organizations:\n  - name: acme\n    sender_prefixes: ['+', '1-555', '+1555', '1555', '123456789012345678901']\n",
			"optguard.yaml:3: organizations[0].sender_prefixes[0]: must be 1 to 20 digits with an optional leading +, got \"+\"\n" +
				"optguard.yaml:3: organizations[0].sender_prefixes[1]: must be 1 to 20 digits with an optional leading +, got \"1-555\"\n" +
				"optguard.yaml:3: organizations[0].sender_prefixes[3]: \"1555\" is listed twice (a leading + does not count)\n" +
				"optguard.yaml:3: organizations[0].sender_prefixes[4]: must be 1 to 20 digits with an optional leading +, got \"123456789012345678901\""},
		{"sender names", "organizations:\n  - name: acme\n    sender_names:\n      '+1555': Jane\n      '1555': June\n      jane: Jane\n      '1666': ' '\n",
			"optguard.yaml:5: organizations[0].sender_names.1555: \"1555\" is the same number as \"+1555\"\n" +
				"optguard.yaml:6: organizations[0].sender_names.jane: the key must be a sender number of 1 to 20 digits with an optional leading +, got \"jane\"\n" +
				"optguard.yaml:7: organizations[0].sender_names.1666: must not be empty"},
		{"keyword entries", `organizations:
  - name: acme
    keywords:
      languages:
        EN:
          opt_out: [basta]
        en:
          opt_out: ["", enough]
          opt_in: [" Enough", yes]
          help: [yes]
          intent: ["` + strings.Repeat("x", 161) + `"]
`, "optguard.yaml:5: organizations[0].keywords.languages.EN: the language tag must be 2 or 3 lower-case letters (ISO 639), got \"EN\"\n" +
			"optguard.yaml:8: organizations[0].keywords.languages.en.opt_out[0]: must not be empty\n" +
			"optguard.yaml:11: organizations[0].keywords.languages.en.intent[0]: must be at most 160 bytes, got 161\n" +
			"optguard.yaml:9: organizations[0].keywords.languages.en.opt_in[0]: \" Enough\" is also in opt_out of language en; an entry may be in one of opt_out, opt_in and help\n" +
			"optguard.yaml:10: organizations[0].keywords.languages.en.help[0]: \"yes\" is also in opt_in of language en; an entry may be in one of opt_out, opt_in and help"},
		{"keyword clash with an inherited entry", `organizations:
  - name: acme
    keywords:
      languages:
        es:
          opt_out: [basta]
  - name: sales
    parent: acme
    keywords:
      languages:
        es:
          opt_in: [basta]
`, `optguard.yaml:12: organizations[1].keywords.languages.es.opt_in[0]: "basta" is also in opt_out (inherited) of language es; an entry may be in one of opt_out, opt_in and help`},
		{"unknown template", "organizations:\n  - name: acme\n    templates:\n      helpp: x\n      disclaimer: hi\n",
			`optguard.yaml:4: organizations[0].templates.helpp: unknown template "helpp" (did you mean "help"?)`},
		{"bad templates", `organizations:
  - name: acme
    templates:
      help: "Hi {sendername}"
      disclaimer: "{organization"
      opt_in_confirmation: "ok }"
      opt_out_confirmation: "   "
      pin: "no code"
      agent_opt_out: "code {pin}"
`, "optguard.yaml:4: organizations[0].templates.help: unknown variable {sendername} (did you mean {sender_name}?); the variables are {sender_name}, {sender_number}, {organization}, {opt_in_keyword}, {opt_out_keyword}, {help_contact}, {pin}\n" +
			"optguard.yaml:5: organizations[0].templates.disclaimer: unclosed \"{\" at byte 0; write \"{{\" for a literal brace\n" +
			"optguard.yaml:6: organizations[0].templates.opt_in_confirmation: stray \"}\" at byte 3; write \"}}\" for a literal brace\n" +
			"optguard.yaml:7: organizations[0].templates.opt_out_confirmation: must not be empty (an auto-message cannot be switched off by emptying its text)\n" +
			"optguard.yaml:8: organizations[0].templates.pin: must contain {pin}, the code the handset replies with\n" +
			"optguard.yaml:9: organizations[0].templates.agent_opt_out: {pin} may be used only in the pin template"},
		{"unknown organization key", "organizations:\n  - name: acme\n    sender_name: {}\n",
			`optguard.yaml:3: unknown key "organizations[0].sender_name" (did you mean "organizations[0].sender_names"?)`},
		{"unknown nested organization key", "organizations:\n  - name: acme\n    keywords:\n      languages:\n        en:\n          optout: [x]\n",
			`optguard.yaml:6: unknown key "organizations[0].keywords.languages.en.optout" (did you mean "organizations[0].keywords.languages.en.opt_out"?)`},
		{"template as a list", "organizations:\n  - name: acme\n    templates:\n      help: [a]\n",
			`optguard.yaml:4: organizations[0].templates.help: cannot use a list as text`},
		{"templates as a list", "organizations:\n  - name: acme\n    templates: [a]\n",
			`optguard.yaml:3: organizations[0].templates: must be a mapping, got a list`},
		{"duplicate template", "organizations:\n  - name: acme\n    templates:\n      help: a\n      help: b\n",
			`optguard.yaml:5: organizations[0].templates.help: duplicate key (first set at line 4)`},
		{"policy ranges", `policy:
  notice_tlv_tag: 0x0210
  reassembly_timeout: 0s
  reassembly_max_messages: 0
  expiry_scan_interval: 11m
  confirmation_deadline: 6m
  pin:
    digits: 3
    expiry: 30s
    attempts: 101
`, "optguard.yaml:2: policy.notice_tlv_tag: must be a vendor-specific tag between 0x1400 and 0x3FFF, got 0x0210\n" +
			"optguard.yaml:3: policy.reassembly_timeout: must be between 1s and 10m, got 0s\n" +
			"optguard.yaml:4: policy.reassembly_max_messages: must be between 1 and 10000000, got 0\n" +
			"optguard.yaml:5: policy.expiry_scan_interval: must be between 1s and 10m, got 11m\n" +
			"optguard.yaml:6: policy.confirmation_deadline: must be between 1s and 5m, got 6m\n" +
			"optguard.yaml:8: policy.pin.digits: must be between 4 and 10, got 3\n" +
			"optguard.yaml:9: policy.pin.expiry: must be between 1m and 24h, got 30s\n" +
			"optguard.yaml:10: policy.pin.attempts: must be between 1 and 100, got 101"},
		{"tlv tag above the vendor range", "policy:\n  notice_tlv_tag: 16384\n",
			`optguard.yaml:2: policy.notice_tlv_tag: must be a vendor-specific tag between 0x1400 and 0x3FFF, got 0x4000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.in); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestCheckTemplate(t *testing.T) {
	tests := []struct {
		name, text, want string // want "" = valid
	}{
		{"help", "{sender_name} {sender_number} {organization} {opt_in_keyword} {opt_out_keyword} {help_contact}", ""},
		{"pin", "Code {pin} for {organization}", ""},
		{"help", "literal {{braces}} and {{{organization}}}", ""},
		{"help", "}}{{", ""},
		{"help", "no variables at all", ""},
		{"help", "{}", "unknown variable {}; the variables are {sender_name}, {sender_number}, {organization}, {opt_in_keyword}, {opt_out_keyword}, {help_contact}, {pin}"},
		{"help", "{Organization}", "unknown variable {Organization} (did you mean {organization}?); the variables are {sender_name}, {sender_number}, {organization}, {opt_in_keyword}, {opt_out_keyword}, {help_contact}, {pin}"},
		{"help", "a {b {organization}", `unclosed "{" at byte 2; write "{{" for a literal brace`},
		{"help", "{organization", `unclosed "{" at byte 0; write "{{" for a literal brace`},
		{"help", "x {{{", `unclosed "{" at byte 4; write "{{" for a literal brace`},
		{"help", "a}b", `stray "}" at byte 1; write "}}" for a literal brace`},
		{"help", "{organization}}}}", `stray "}" at byte 16; write "}}" for a literal brace`},
		{"help", "{pin}", "{pin} may be used only in the pin template"},
		{"pin", "{organization}", "must contain {pin}, the code the handset replies with"},
		{"pin", "{{pin}}", "must contain {pin}, the code the handset replies with"},
		{"disclaimer", "", "must not be empty (an auto-message cannot be switched off by emptying its text)"},
		{"disclaimer", " \n\t", "must not be empty (an auto-message cannot be switched off by emptying its text)"},
	}
	for _, tt := range tests {
		err := CheckTemplate(tt.name, tt.text)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckTemplate(%q, %q) = %v, want nil", tt.name, tt.text, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("CheckTemplate(%q, %q) = %v, want %s", tt.name, tt.text, err, tt.want)
		}
	}
}

func TestTemplateNames(t *testing.T) {
	if !slices.IsSorted(TemplateNames) || len(TemplateNames) != 18 {
		t.Errorf("TemplateNames must be the 18 names, sorted: %v", TemplateNames)
	}
	if !slices.Contains(TemplateNames, PINTemplate) {
		t.Errorf("TemplateNames lacks %q", PINTemplate)
	}
	// Every template name and variable is accepted in a file.
	var b strings.Builder
	b.WriteString("organizations:\n  - name: acme\n    templates:\n")
	for _, name := range TemplateNames {
		fmt.Fprintf(&b, "      %s: \"{%s}\"\n", name, strings.Join(TemplateVariables[:len(TemplateVariables)-1], "} {"))
	}
	in := strings.Replace(b.String(), "      pin: \"", "      pin: \"{pin} ", 1)
	c := mustParse(t, in)
	if got := len(c.ResolvedOrganizations()[0].Templates); got != len(TemplateNames) {
		t.Errorf("resolved %d templates, want %d", got, len(TemplateNames))
	}
}

func TestImplicitDefault(t *testing.T) {
	for _, c := range []*Config{Default(), mustParse(t, ""), mustParse(t, "organizations: []\n")} {
		got := c.ResolvedOrganizations()
		if len(got) != 1 || got[0].Name != DefaultOrganization || got[0].Mode != ModeOff || got[0].Key != "" || got[0].Main != DefaultOrganization {
			t.Errorf("ResolvedOrganizations() = %+v, want the implicit default in mode off", got)
		}
	}
	// A file that lists default has no second one.
	c := mustParse(t, "organizations:\n  - name: acme\n    system_ids: [acme]\n  - name: default\n    mode: disclaimer\n")
	got := c.ResolvedOrganizations()
	if len(got) != 2 || got[1].Name != DefaultOrganization || got[1].Mode != ModeDisclaimer || got[1].Key != "organizations[1]" {
		t.Errorf("ResolvedOrganizations() = %+v, want acme and the listed default", got)
	}
}

func TestSetDefaultMode(t *testing.T) {
	tests := []struct {
		name, in string
		mode     Mode
		want     []string // name:mode of each resolved organization
	}{
		{"no organizations", "", ModeConsent, []string{"default:consent"}},
		{"default not listed", "organizations:\n  - name: acme\n    mode: disclaimer\n", ModeConsent, []string{"acme:disclaimer", "default:consent"}},
		{"default listed", "organizations:\n  - name: default\n    mode: disclaimer\n  - name: acme\n", ModeOff, []string{"default:off", "acme:off"}},
		{"sub-organizations follow", "organizations:\n  - name: default\n  - name: d2\n    parent: default\n", ModeDisclaimer, []string{"default:disclaimer", "d2:disclaimer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.in)
			c.SetDefaultMode(tt.mode)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.ResolvedOrganizations() {
				got = append(got, r.Name+":"+string(r.Mode))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	c := Default()
	c.SetDefaultMode("loud")
	if err := c.Validate(); err == nil || err.Error() != `organizations[0].mode: must be one of consent, disclaimer, off, got "loud"` {
		t.Errorf("Validate() after SetDefaultMode(loud) = %v", err)
	}
}

func TestInheritanceDefaults(t *testing.T) {
	c := mustParse(t, `organizations:
  - name: acme
    system_ids: [acme]
  - name: west
    parent: acme
    display_name: Acme West
  - name: west-sales
    parent: west
    sender_prefixes: ['+1999']
  - name: quiet
    parent: acme
    numeric_replies: true
    default_sender_name: Quiet
`)
	got := c.ResolvedOrganizations()
	type view struct {
		name, main, display, senderName string
		ids                             []string
		numeric                         bool
	}
	want := []view{
		{"acme", "acme", "acme", "acme", []string{"acme"}, false},
		{"west", "acme", "Acme West", "Acme West", []string{}, false}, // display name inherited down, sender name follows it
		{"west-sales", "acme", "Acme West", "Acme West", []string{"acme"}, false},
		{"quiet", "acme", "acme", "Quiet", []string{}, true},
	}
	for i, w := range want {
		r := got[i]
		g := view{r.Name, r.Main, r.DisplayName, r.DefaultSenderName, r.SystemIDs, r.NumericReplies}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("organization %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestResolvedDoesNotAlias(t *testing.T) {
	c := mustParse(t, fullFile)
	r := c.ResolvedOrganizations()
	r[0].SystemIDs[0] = "x"
	r[0].SenderNames["15550100001"] = "x"
	r[0].Templates["help"] = "x"
	r[0].Keywords.Languages["en"].OptOut[0] = "x"
	r[0].Countries.Allowed[0] = "x"
	again := c.ResolvedOrganizations()
	if !reflect.DeepEqual(again[0], mustParse(t, fullFile).ResolvedOrganizations()[0]) {
		t.Error("changing a ResolvedOrganization changed the Config")
	}
}

// TestMainOnlyInCode checks that main-only keys set in code (no file lines)
// on a sub-organization are still refused.
func TestMainOnlyInCode(t *testing.T) {
	yes := true
	c := Default()
	c.Organizations = []Organization{
		{Name: "acme"},
		{Name: "sales", Parent: "acme", RevokeAll: true, RelayKeywordMO: &yes, Countries: Countries{Default: "CA"}},
	}
	want := "organizations[1].revoke_all: set on the main organization \"acme\"; it applies to the whole account\n" +
		"organizations[1].relay_keyword_mo: set on the main organization \"acme\"; it applies to the whole account\n" +
		"organizations[1].countries: set on the main organization \"acme\"; it applies to the whole account"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want:\n%s", err, want)
	}
}

func TestKeyError(t *testing.T) {
	c := mustParse(t, fullFile)
	cause := errors.New("keywords: en: \"enough\" normalizes to nothing")
	err := c.KeyError(c.KeywordKey("acme-sales", "en", "enough"), cause)
	want := `optguard.yaml:29: organizations[0].keywords.languages.en.opt_out[0]: keywords: en: "enough" normalizes to nothing`
	if err.Error() != want {
		t.Errorf("KeyError = %s, want %s", err, want)
	}
	if !errors.Is(err, cause) {
		t.Error("KeyError does not wrap its error")
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 29 {
		t.Errorf("KeyError is not an *Error with line 29: %#v", err)
	}
	keys := []struct{ org, lang, entry, want string }{
		{"acme-sales", "en", "leave me be", "organizations[1].keywords.languages.en.opt_out[0]"},
		{"acme-sales-east", "fr", "assez", "organizations[2].keywords.languages.fr.opt_out[0]"},
		{"acme-sales-east", "es", "basta", "organizations[1].keywords.languages.es.opt_out[0]"},
		{"acme", "en", "stop by", "organizations[0].keywords.languages.en.negative[0]"},
		{"acme", "en", "STOP", "organizations[0].keywords"}, // a built-in keyword
		{"nobody", "en", "stop", ""},
	}
	for _, k := range keys {
		if got := c.KeywordKey(k.org, k.lang, k.entry); got != k.want {
			t.Errorf("KeywordKey(%q, %q, %q) = %q, want %q", k.org, k.lang, k.entry, got, k.want)
		}
	}
	if got := c.KeyError("organizations[2].keywords", cause).Error(); !strings.HasPrefix(got, "optguard.yaml:71: organizations[2].keywords: ") {
		t.Errorf("KeyError for a key the file sets = %s", got)
	}
	if got := Default().KeyError("organizations[0].templates", cause).Error(); got != "organizations[0].templates: "+cause.Error() {
		t.Errorf("KeyError in code = %s", got)
	}
}

func TestExampleOrganizationsAreValid(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(exampleOrganizations(t, string(data))), "example organizations")
	if err != nil {
		t.Fatal(err)
	}
	got := c.ResolvedOrganizations()
	if len(got) != 3 || got[0].Name != "acme" || got[1].Name != "acme-sales" || got[2].Name != DefaultOrganization {
		t.Fatalf("example organizations resolved to %+v", got)
	}
	sales := got[1]
	if sales.Main != "acme" || !slices.Equal(sales.SystemIDs, []string{"acme", "acme-bulk"}) || sales.DisplayName != "Acme Bank" ||
		!slices.Equal(sales.SenderPrefixes, []string{"1555010"}) || sales.SenderNames["15550100001"] != "Jane Roe" {
		t.Errorf("acme-sales resolved to %+v", sales)
	}
}
