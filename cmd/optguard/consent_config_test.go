package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optguard/optguard/config"
)

// A keyword list entry the matcher refuses (one that normalizes to nothing,
// a malformed intent pattern) stops serve before anything starts, exit 2,
// with the file, line and key of the entry.
func TestServeRefusesBadKeywordEntries(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "empty-keyword.yaml",
			yaml: "organizations:\n  - name: acme\n    system_ids: [acme]\n    keywords:\n      languages:\n        en:\n          opt_out: [\"stop now\", \"!!!\"]\n",
			want: []string{"empty-keyword.yaml:7", "organizations[0].keywords.languages.en.opt_out[1]", "!!!"},
		},
		{
			name: "bad-pattern.yaml",
			yaml: "organizations:\n  - name: acme\n    system_ids: [acme]\n    keywords:\n      languages:\n        en:\n          intent:\n            - \"stop (texting\"\n",
			want: []string{"bad-pattern.yaml:8", "organizations[0].keywords.languages.en.intent[0]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := runServe([]string{"-config", path, "-listen", "127.0.0.1:0", "-admin", "off", "-data", t.TempDir()}, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d; want 2 (stderr %q)", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
		})
	}
}

// A SIGHUP applies the policy sections only; the others are named so the
// operator knows a restart is needed.
func TestRestartSections(t *testing.T) {
	a := config.Default()
	b := config.Default()
	b.Session.Window = 5
	b.Organizations = []config.Organization{{Name: "acme", Mode: config.ModeConsent}}
	if got := restartSections(a, b); strings.Join(got, ",") != "session" {
		t.Fatalf("restartSections = %q; want [session]", got)
	}
	if got := restartSections(a, config.Default()); len(got) != 0 {
		t.Fatalf("restartSections of equal configs = %q", got)
	}
}
