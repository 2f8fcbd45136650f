package policy

import "testing"

// SenderOf names a ledger scope's sender as the templates did: by the
// organization an MT from that number goes to (a sub-organization's sender
// prefix wins on the account's binds), with that organization's names.
func TestSenderOf(t *testing.T) {
	tab, err := compile([]Organization{
		{Name: "acme", DisplayName: "Acme", SystemIDs: []string{"acme"}, DefaultSenderName: "Acme desk",
			SenderNames: map[string]string{"15550001000": "Acme Billing", "15559990001": "Night line"}},
		{Name: "acme-sales", Main: "acme", DisplayName: "Acme Sales", SystemIDs: []string{"acme"}, SenderPrefixes: []string{"1555000"},
			SenderNames: map[string]string{"15550002000": "Sales line"}},
		{Name: "globex", SystemIDs: nil},
	}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		acct, sender string
		want         Sender
		ok           bool
	}{
		{"acme", "15550002000", Sender{"acme-sales", "Acme Sales", "Sales line"}, true},
		{"acme", "+15550002000", Sender{"acme-sales", "Acme Sales", "Sales line"}, true},
		{"acme", "15550001000", Sender{"acme-sales", "Acme Sales", "Acme Sales"}, true}, // the prefix decides; acme's own names are acme's
		{"acme", "15559990001", Sender{"acme", "Acme", "Night line"}, true},
		{"acme", "15559990002", Sender{"acme", "Acme", "Acme desk"}, true},
		{"acme", "ACME", Sender{"acme", "Acme", "Acme desk"}, true},
		{"acme", "", Sender{"acme", "Acme", ""}, true},
		{"globex", "15550002000", Sender{"globex", "globex", "globex"}, true}, // no binds: the main organization
		{"acme-sales", "15550002000", Sender{}, false},                        // not an account
		{"gone", "", Sender{}, false},
	} {
		got, ok := tab.senderOf(tc.acct, tc.sender)
		if got != tc.want || ok != tc.ok {
			t.Errorf("senderOf(%q, %q) = %+v, %v; want %+v, %v", tc.acct, tc.sender, got, ok, tc.want, tc.ok)
		}
	}
}
