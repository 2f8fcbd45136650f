package config

import (
	"reflect"
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
