package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretFile writes a secret file with mode perm and returns its path.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

const goodSecret = "0123456789abcdef0123456789abcdef"

// endpointFile is a config with one endpoint of the given fields (YAML
// lines under the list entry), after organizations acme and its
// sub-organization acme-sales; the entry's name is on line 8.
func endpointFile(fields string) string {
	return `organizations:
  - name: acme
  - name: acme-sales
    parent: acme
webhooks:
  endpoints:
    # the endpoint
    - name: crm
` + fields
}

func TestWebhookRules(t *testing.T) {
	good := secretFile(t, goodSecret+"\n", 0o600)
	open := secretFile(t, goodSecret, 0o644)
	short := secretFile(t, "short\n", 0o600)
	tests := []struct {
		fields string
		line   int
		key    string
		msg    string
	}{
		{"      secret: " + goodSecret + "\n", 8, "url", "is required"},
		{"      url: ftp://crm.example/x\n      secret: " + goodSecret + "\n", 9, "url", `must start with https:// (or http://), got "ftp://crm.example/x"`},
		{"      url: https:///x\n      secret: " + goodSecret + "\n", 9, "url", `must name a host, got "https:///x"`},
		{"      url: 'https://u:pw@crm.example/x#top'\n      secret: " + goodSecret + "\n", 9, "url", `must have no #fragment, got "https://u:xxxxx@crm.example/x#top"`},
		{"      url: https://crm.example/x\n", 8, "secret_file", "is required (or secret): receivers check each request's signature with it"},
		{"      url: https://crm.example/x\n      secret_file: " + good + "\n      secret: " + goodSecret + "\n", 11, "secret", "must be empty when secret_file is set; keep the secret in one place"},
		{"      url: https://crm.example/x\n      secret_file: " + open + "\n", 10, "secret_file", fmt.Sprintf("%q has mode 0644, so others than its owner may read it; run chmod 600 %s", open, open)},
		{"      url: https://crm.example/x\n      secret_file: " + short + "\n", 10, "secret_file", "the secret has 5 bytes; use at least 16 (openssl rand -hex 32 makes one)"},
		{"      url: https://crm.example/x\n      secret_file: /nonexistent/x\n", 10, "secret_file", `cannot read "/nonexistent/x": no such file or directory`},
		{"      url: https://crm.example/x\n      secret: tooshort\n", 10, "secret", "the secret has 8 bytes; use at least 16 (openssl rand -hex 32 makes one)"},
		{"      url: https://crm.example/x\n      secret: " + goodSecret + "\n      organizations: [acme-sales]\n", 11, "organizations[0]", `"acme-sales" is a sub-organization of "acme"; events are kept per account, so write "acme"`},
		{"      url: https://crm.example/x\n      secret: " + goodSecret + "\n      organizations: [globex]\n", 11, "organizations[0]", `"globex" is not an organization of this file (list it under organizations, or write "default")`},
		{"      url: https://crm.example/x\n      secret: " + goodSecret + "\n      timeout: 6m\n", 11, "timeout", "must be more than 0s and at most 5m, got 6m"},
	}
	for _, tt := range tests {
		got := parseErr(t, endpointFile(tt.fields))
		want := fmt.Sprintf("%s:%d: webhooks.endpoints[0].%s: %s", testFile, tt.line, tt.key, tt.msg)
		if got != want {
			t.Errorf("error:\n got: %s\nwant: %s", got, want)
		}
		if strings.Contains(got, goodSecret) {
			t.Errorf("the error quotes the secret: %s", got)
		}
	}

	c := mustParse(t, endpointFile("      url: https://crm.example/x\n      secret_file: "+good+"\n      organizations: [acme, default]\n      events: [opted_out]\n"))
	ep := c.Webhooks.Endpoints[0]
	if s, err := ep.LoadSecret(); err != nil || string(s) != goodSecret {
		t.Errorf("LoadSecret = %q, %v; want the file's content without its newline", s, err)
	}
	if ep.Timeout != 0 || ep.FromStart || len(ep.Events) != 1 {
		t.Errorf("endpoint decoded as %+v", ep)
	}
}

func TestWebhookSectionRules(t *testing.T) {
	for _, tt := range []struct{ key, value, msg string }{
		{"webhooks.timeout", "0s", "must be more than 0s and at most 5m, got 0s"},
		{"webhooks.retry_min", "2h", "must be more than 0s and at most 1h, got 2h"},
		{"webhooks.retry_max", "25h", "must be more than 0s and at most 24h, got 25h"},
		{"webhooks.retry_max", "500ms", "must be at least webhooks.retry_min (1s), got 500ms"},
		{"webhooks.batch_size", "1001", "must be between 1 and 1000, got 1001"},
		{"webhooks.delivery_log", "0", "must be between 1 and 100000, got 0"},
	} {
		want := fmt.Sprintf("%s:2: %s: %s", testFile, tt.key, tt.msg)
		if got := parseErr(t, nested(tt.key, tt.value)); got != want {
			t.Errorf("error:\n got: %s\nwant: %s", got, want)
		}
	}
	two := "webhooks:\n  endpoints:\n    - name: a\n      url: http://10.0.0.1:8080/h\n      secret: " + goodSecret + "\n    - name: a\n      url: https://b.example/\n      secret: " + goodSecret + "\n    - name: 'no spaces'\n      url: https://c.example/\n      secret: " + goodSecret + "\n"
	want := strings.Join([]string{
		testFile + `:6: webhooks.endpoints[1].name: "a" is already the name of webhooks.endpoints[0]`,
		testFile + `:9: webhooks.endpoints[2].name: must be 1 to 64 letters, digits, '.', '_' or '-', got "no spaces"`,
	}, "\n")
	if got := parseErr(t, two); got != want {
		t.Errorf("error:\n got: %s\nwant: %s", got, want)
	}
}
