package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/optguard/optguard/config"
)

func tokenCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	return cliCmd(runToken, args...)
}

// printedToken is what token create printed as text: the token, and the
// admin.tokens entry (still indented to sit under "  tokens:").
type printedToken struct {
	token string
	entry string
}

var tokenLine = regexp.MustCompile(`(?m)^(og_\S+)$`)

// parseTokenOutput splits the text output of token create.
func parseTokenOutput(t *testing.T, out string) printedToken {
	t.Helper()
	m := tokenLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("want one og_ token line in the output, got %d:\n%s", len(m), out)
	}
	var entry strings.Builder
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "    ") {
			entry.WriteString(line)
		}
	}
	if entry.Len() == 0 {
		t.Fatalf("no indented admin.tokens entry in the output:\n%s", out)
	}
	return printedToken{token: m[0][1], entry: entry.String()}
}

// unindent removes the 4 spaces token create puts before each entry line.
func unindent(t *testing.T, entry string) string {
	t.Helper()
	var b strings.Builder
	for line := range strings.Lines(entry) {
		rest, ok := strings.CutPrefix(line, "    ")
		if !ok {
			t.Fatalf("entry line %q is not indented by 4 spaces", line)
		}
		b.WriteString(rest)
	}
	return b.String()
}

// TestTokenCreate: the printed token has the og_ prefix and hashes to the
// printed sha256; the entry names the token's name, role and organizations.
func TestTokenCreate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		name string
		role config.Role
		orgs []string
	}{
		{[]string{"create", "-name", "ops@example.com", "-role", "admin"}, "ops@example.com", config.RoleAdmin, nil},
		{[]string{"create", "-role", "agent", "-name", "desk-1", "-org", "acme", "-org", "acme-sales"}, "desk-1", config.RoleAgent, []string{"acme", "acme-sales"}},
		{[]string{"create", "-name", "audit", "-role", "auditor"}, "audit", config.RoleAuditor, nil},
	} {
		code, out, errOut := tokenCmd(t, tc.args...)
		if code != 0 {
			t.Fatalf("token %v = %d, stderr %q", tc.args, code, errOut)
		}
		p := parseTokenOutput(t, out)
		if !strings.HasPrefix(p.token, "og_") || len(p.token) != len("og_")+43 {
			t.Errorf("token %q: want og_ and 43 base64url characters", p.token)
		}
		var entries []config.APIToken
		if err := yaml.Unmarshal([]byte(unindent(t, p.entry)), &entries); err != nil {
			t.Fatalf("entry does not parse: %v\n%s", err, p.entry)
		}
		if len(entries) != 1 {
			t.Fatalf("got %d entries, want 1:\n%s", len(entries), p.entry)
		}
		e := entries[0]
		if e.Name != tc.name || e.Role != tc.role || !slices.Equal(e.Organizations, tc.orgs) {
			t.Errorf("entry = %+v, want name %q role %q organizations %q", e, tc.name, tc.role, tc.orgs)
		}
		if e.SHA256 != config.TokenHash(p.token) {
			t.Errorf("entry sha256 %q, want TokenHash of the token %q", e.SHA256, config.TokenHash(p.token))
		}
		if strings.Contains(p.entry, p.token) {
			t.Error("the entry contains the token itself")
		}
	}
}

func TestTokenCreateJSON(t *testing.T) {
	code, out, errOut := tokenCmd(t, "create", "-name", "desk-2", "-role", "agent", "-org", "acme", "-json")
	if code != 0 {
		t.Fatalf("token create -json = %d, stderr %q", code, errOut)
	}
	var got struct {
		Token         string   `json:"token"`
		Name          string   `json:"name"`
		Role          string   `json:"role"`
		Organizations []string `json:"organizations"`
		SHA256        string   `json:"sha256"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("output is not the JSON object: %v\n%s", err, out)
	}
	if !strings.HasPrefix(got.Token, "og_") || got.Name != "desk-2" || got.Role != "agent" || !slices.Equal(got.Organizations, []string{"acme"}) {
		t.Errorf("json = %+v", got)
	}
	if got.SHA256 != config.TokenHash(got.Token) {
		t.Errorf("sha256 %q, want %q", got.SHA256, config.TokenHash(got.Token))
	}

	// Without -org, organizations is an empty list, not null.
	_, out, _ = tokenCmd(t, "create", "-name", "audit", "-role", "auditor", "-json")
	if !strings.Contains(out, `"organizations": []`) {
		t.Errorf("no -org: want \"organizations\": [], got\n%s", out)
	}
}

// TestTokenCreateUnique: each run makes a new token.
func TestTokenCreateUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		code, out, errOut := tokenCmd(t, "create", "-name", "ops", "-role", "admin")
		if code != 0 {
			t.Fatalf("token create = %d, stderr %q", code, errOut)
		}
		p := parseTokenOutput(t, out)
		if seen[p.token] {
			t.Fatalf("token %q printed twice", p.token)
		}
		seen[p.token] = true
	}
}

func TestTokenUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"create", "-role", "admin"}, "-name:"},
		{[]string{"create", "-name", "has space", "-role", "admin"}, "-name:"},
		{[]string{"create", "-name", strings.Repeat("a", 65), "-role", "admin"}, "-name:"},
		{[]string{"create", "-name", "ops"}, "-role:"},
		{[]string{"create", "-name", "ops", "-role", "root"}, "-role:"},
		{[]string{"create", "-name", "ops", "-role", "admin", "extra"}, `unexpected argument "extra"`},
		{[]string{"create", "-name", "ops", "-role", "admin", "-nope"}, "-nope"},
	} {
		code, out, errOut := tokenCmd(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("token %q = %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("token %q printed on stdout: %q", tc.args, out)
		}
	}
	for _, args := range [][]string{{"-h"}, {"help"}, {"create", "-h"}} {
		code, out, errOut := tokenCmd(t, args...)
		if code != 0 || !strings.Contains(out+errOut, "optguard token create -name NAME") {
			t.Errorf("token %q = %d, stdout %q stderr %q; want 0 and the usage", args, code, out, errOut)
		}
	}
	// Through the top-level dispatch as well.
	if code, out, _ := cliCmd(run, "help"); code != 0 || !strings.Contains(out, "optguard token") {
		t.Errorf("optguard help = %d, does not list token:\n%s", code, out)
	}
	if code, _, errOut := cliCmd(run, "token", "create", "-name", "ops", "-role", "admin"); code != 0 {
		t.Errorf("optguard token create = %d, stderr %q", code, errOut)
	}
}

// TestTokenEntryLoads: the entry token create prints, pasted under
// admin.tokens: of a config file, loads.
func TestTokenEntryLoads(t *testing.T) {
	var entries []string
	var hashes []string
	for _, args := range [][]string{
		{"create", "-name", "ops@example.com", "-role", "admin"},
		{"create", "-name", "desk-1", "-role", "agent", "-org", "acme"},
		{"create", "-name", "audit", "-role", "auditor", "-org", "default"},
	} {
		code, out, errOut := tokenCmd(t, args...)
		if code != 0 {
			t.Fatalf("token %q = %d, stderr %q", args, code, errOut)
		}
		p := parseTokenOutput(t, out)
		entries = append(entries, p.entry)
		hashes = append(hashes, config.TokenHash(p.token))
	}
	file := filepath.Join(t.TempDir(), "optguard.yaml")
	data := "admin:\n  address: 127.0.0.1:9775\n  tokens:\n" + strings.Join(entries, "") +
		"organizations:\n  - name: acme\n    system_ids: [acme]\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("config with the pasted entries: %v\n%s", err, data)
	}
	want := []config.APIToken{
		{Name: "ops@example.com", Role: config.RoleAdmin, SHA256: hashes[0]},
		{Name: "desk-1", Role: config.RoleAgent, Organizations: []string{"acme"}, SHA256: hashes[1]},
		{Name: "audit", Role: config.RoleAuditor, Organizations: []string{"default"}, SHA256: hashes[2]},
	}
	if len(cfg.Admin.Tokens) != len(want) {
		t.Fatalf("admin.tokens = %+v, want %+v", cfg.Admin.Tokens, want)
	}
	for i, got := range cfg.Admin.Tokens {
		w := want[i]
		if got.Name != w.Name || got.Role != w.Role || !slices.Equal(got.Organizations, w.Organizations) || got.SHA256 != w.SHA256 {
			t.Errorf("admin.tokens[%d] = %+v, want %+v", i, got, w)
		}
	}

	// The entry of an organization the file does not declare is refused,
	// naming the key: the check the pasted entry goes through is real.
	bad := strings.Replace(data, "- name: acme\n", "- name: globex\n", 1)
	bad = strings.Replace(bad, "system_ids: [acme]", "system_ids: [globex]", 1)
	if _, err := config.Parse([]byte(bad), "optguard.yaml"); err == nil || !strings.Contains(err.Error(), "admin.tokens[1].organizations[0]") {
		t.Errorf("entry with an undeclared organization: err = %v", err)
	}
}
