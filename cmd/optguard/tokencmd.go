package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/optguard/optguard/config"
	"go.yaml.in/yaml/v3"
)

const tokenUsage = `Usage:
  optguard token create -name NAME -role ROLE [-org ORG]... [-json]
        make a new operator API token and print it once, with the entry to
        paste under admin.tokens: in the config file. optguard keeps only the
        token's SHA-256, so a lost token cannot be shown again: make a new
        one and remove the old entry.

-name is who the token belongs to (1 to 64 letters, digits, '.', '_', '@' or
'-'), recorded as the actor of every change made with it. -role is auditor
(reads), agent (reads and consent actions) or admin (everything). -org, which
may repeat, limits the token to those organizations (names from the config's
organizations, or "default"); without it the token sees them all. -json
prints {"token","name","role","organizations","sha256"} instead.

The token is a bearer secret: send it as "Authorization: Bearer TOKEN", over
HTTPS (admin.tls) when the admin listener is not on loopback.

Examples:
  optguard token create -name ops@example.com -role admin
  optguard token create -name desk-1 -role agent -org acme -org acme-sales
  optguard token create -name audit -role auditor -json
`

// newToken is what token create prints: the token, once, and its
// admin.tokens entry (which leaves the token out).
type newToken struct {
	Token         string      `json:"token" yaml:"-"`
	Name          string      `json:"name" yaml:"name"`
	Role          config.Role `json:"role" yaml:"role"`
	Organizations []string    `json:"organizations" yaml:"organizations,omitempty"`
	SHA256        string      `json:"sha256" yaml:"sha256"`
}

// runToken implements `optguard token …`; it returns the exit code:
// 0 ok, 1 failure, 2 usage.
func runToken(args []string, stdout, stderr io.Writer) int {
	cmd, fs, args, code, done := subcommand("token", tokenUsage, args, stdout, stderr)
	if done {
		return code
	}
	name := fs.String("name", "", "who the token belongs to; the actor of its changes")
	role := fs.String("role", "", "auditor, agent or admin")
	orgs := []string{}
	fs.Func("org", "an organization the token may see (repeat for more; none: all)", func(s string) error {
		orgs = append(orgs, s)
		return nil
	})
	asJSON := fs.Bool("json", false, "print the token and its entry as JSON")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if cmd != "create" {
		fmt.Fprintf(stderr, "optguard token: unknown command %q\n\n%s", cmd, tokenUsage)
		return 2
	}
	if len(pos) != 0 {
		fmt.Fprintf(stderr, "optguard token create: unexpected argument %q (the flags are -name, -role, -org and -json)\n\n", pos[0])
		fs.Usage()
		return 2
	}
	if err := config.CheckTokenName(*name); err != nil {
		fmt.Fprintf(stderr, "optguard token create: -name: %v\n", err)
		return 2
	}
	r, err := config.ParseRole(*role)
	if err != nil {
		fmt.Fprintf(stderr, "optguard token create: -role: %v\n", err)
		return 2
	}
	t := newToken{Token: makeToken(), Name: *name, Role: r, Organizations: orgs}
	t.SHA256 = config.TokenHash(t.Token)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(t); err != nil {
			fmt.Fprintf(stderr, "optguard token create: %v\n", err)
			return 1
		}
		return 0
	}
	entry, err := yaml.Marshal([]newToken{t})
	if err != nil {
		fmt.Fprintf(stderr, "optguard token create: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "The token is shown only now (optguard keeps its SHA-256 only); store it safely:\n%s\n\n", t.Token)
	fmt.Fprintln(stdout, "Paste under admin.tokens: in the config file, then reload optguard serve (SIGHUP):")
	// Indented to sit under "  tokens:" in "admin:", as in optguard.example.yaml.
	for line := range strings.Lines(string(entry)) {
		fmt.Fprint(stdout, "    "+line)
	}
	return 0
}

// makeToken returns a new random token: "og_" (so that a leaked one is easy
// to recognize, by people and secret scanners) and 32 random bytes in
// base64url without padding.
func makeToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: it crashes the program if the system cannot give randomness
	return "og_" + base64.RawURLEncoding.EncodeToString(b[:])
}
