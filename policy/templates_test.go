package policy

import (
	"strings"
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
)

func TestTemplates(t *testing.T) {
	set, err := compileTemplates(map[string]string{TplHelp: "{organization} help: {help_contact} {{literal}}"})
	if err != nil {
		t.Fatal(err)
	}
	vars := Vars{SenderName: "Aaron Almaraz", Organization: "ACME Bank", OptInKeyword: "YES", OptOutKeyword: "STOP", HelpContact: "800-555-0100"}
	if got := set[TplHelp].Render(&vars); got != "ACME Bank help: 800-555-0100 {literal}" {
		t.Errorf("help renders %q", got)
	}
	if got := set[TplSenderFirstRequest].Render(&vars); got != "[Auto Message] Aaron Almaraz is trying to reach you. As per company policy, you must provide your consent to continue messaging. To opt in, reply YES. To opt out, reply STOP." {
		t.Errorf("sender_first_request renders %q", got)
	}
	// Versions follow the text: an override changes it, the default keeps it.
	def, _ := compileTemplates(nil)
	if def[TplHelp].Version == set[TplHelp].Version || def[TplDisclaimer].Version != set[TplDisclaimer].Version {
		t.Error("template versions do not follow the text")
	}
	for _, bad := range []map[string]string{
		{TplHelp: "{nope}"},
		{TplHelp: "open {organization"},
		{TplHelp: "stray } brace"},
		{TplHelp: "{pin}"},
		{TplHelp: "  "},
		{"no_such_template": "x"},
	} {
		if _, err := compileTemplates(bad); err == nil {
			t.Errorf("compileTemplates(%q) accepted it", bad)
		}
	}
}

// The default texts meet the CTIA handbook: opt-in confirmations name the
// program, help and how to stop, and that rates may apply; opt-out
// confirmations carry no marketing and say how to come back. Every text
// the handset gets fits the GSM-7 alphabet.
func TestDefaultTextsCTIA(t *testing.T) {
	set, err := compileTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := Vars{SenderName: "Aaron", Organization: "ACME", OptInKeyword: "YES", OptOutKeyword: "STOP", HelpContact: "help@acme.example", PIN: "123456"}
	for _, name := range []string{TplHandsetFirstConfirmation, TplSenderFirstConfirmation, TplOptInConfirmation} {
		s := set[name].Render(&vars)
		for _, want := range []string{"ACME", "HELP", "STOP", "Msg & data rates may apply"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q: %s", name, want, s)
			}
		}
	}
	for _, name := range []string{TplHandsetFirstRejectedConfirmation, TplSenderFirstRejectedConfirmation, TplOptOutConfirmation, TplAgentOptOut} {
		s := set[name].Render(&vars)
		if !strings.Contains(s, "YES") || strings.Contains(strings.ToLower(s), "offer") || len(s) > 160 {
			t.Errorf("%s is not a plain opt-out confirmation in one SMS: %s", name, s)
		}
	}
	for name, tpl := range set {
		if _, _, ok := pdu.GSM7Fit(tpl.Render(&vars)); !ok {
			t.Errorf("%s does not fit GSM-7", name)
		}
	}
	if s := set[TplPIN].Render(&vars); !strings.Contains(s, "123456") {
		t.Errorf("pin lacks the PIN: %s", s)
	}
}

func TestIDVariants(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"00001A2B", []string{"6699", "1a2b"}},
		{"6699", []string{"1a2b", "26265", "6699"}},
		{"msg-xyz", []string{"msg-xyz"}},
	} {
		got := idVariants(tt.in)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("idVariants(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	var buf [72]byte
	if got := string(canonicalID(buf[:0], []byte("000ABCdef"))); got != "abcdef" {
		t.Errorf("canonicalID = %q", got)
	}
	if got := string(canonicalID(buf[:0], []byte("0000"))); got != "0" {
		t.Errorf("canonicalID(0000) = %q", got)
	}
}
