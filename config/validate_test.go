package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nested writes key (dotted) = value as nested YAML mappings; the value is
// on the line numbered by the key's depth.
func nested(key, value string) string {
	var b strings.Builder
	parts := strings.Split(key, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + value)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestValidateEachRule(t *testing.T) {
	tests := []struct {
		key, value, msg string
	}{
		{"listen.address", `""`, "is required"},
		{"listen.address", "'2775'", `must be host:port, got "2775"`},
		{"listen.address", "':99999'", `port must be a number between 0 and 65535, got "99999"`},
		{"listen.address", "':smpp'", `port must be a number between 0 and 65535, got "smpp"`},
		{"listen.max_connections", "0", "must be between 1 and 1000000, got 0"},
		{"listen.max_connections", "1000001", "must be between 1 and 1000000, got 1000001"},
		{"listen.max_binds_per_system_id", "-1", "must be 0 (unlimited) or between 1 and 100000, got -1"},
		{"listen.max_binds_per_system_id", "100001", "must be 0 (unlimited) or between 1 and 100000, got 100001"},
		{"listen.bind_timeout", "0s", "must be more than 0s and at most 10m, got 0s"},
		{"listen.bind_timeout", "11m", "must be more than 0s and at most 10m, got 11m"},
		{"session.window", "0", "must be between 1 and 100000, got 0"},
		{"session.window", "100001", "must be between 1 and 100000, got 100001"},
		{"session.response_timeout", "-1s", "must be more than 0s and at most 10m, got -1s"},
		{"session.response_timeout", "10m1s", "must be more than 0s and at most 10m, got 10m1s"},
		{"session.timeout_status", "ESME_ROK", "must be an error status, not ESME_ROK: the message was not delivered"},
		{"session.timeout_status", "0", "must be an error status, not ESME_ROK: the message was not delivered"},
		{"session.enquire_link_interval", "500ms", "must be 0s (never) or at least 1s, got 500ms"},
		{"session.enquire_link_interval", "-1s", "must be 0s (never) or at least 1s, got -1s"},
		{"session.unbind_timeout", "0s", "must be more than 0s and at most 1m, got 0s"},
		{"session.unbind_timeout", "2m", "must be more than 0s and at most 1m, got 2m"},
		{"session.write_timeout", "0s", "must be more than 0s, got 0s"},
		{"session.max_pdu_size", "4095", "must be between 4096 and 16777216, got 4095"},
		{"session.max_pdu_size", "16777217", "must be between 4096 and 16777216, got 16777217"},
		{"session.unknown_commands", "drop", `must be one of relay, refuse, got "drop"`},
		{"session.unknown_commands", "Relay", `must be one of relay, refuse, got "Relay"`},
		{"upstream.default.address", "smsc", `must be host:port, got "smsc"`},
		{"upstream.default.address", "':2775'", `must name a host, got ":2775"`},
		{"upstream.default.address", "'smsc:0'", `port must be a number between 1 and 65535, got "0"`},
		{"upstream.default.connect_timeout", "0s", "must be more than 0s and at most 1m, got 0s"},
		{"upstream.default.connect_timeout", "61s", "must be more than 0s and at most 1m, got 1m1s"},
		{"admin.address", "localhost", `must be host:port, got "localhost"`},
		{"admin.address", "':2775'", `":2775" uses the same port as listen.address`},
		{"admin.max_body_bytes", "1023", "must be between 1KiB and 64MiB, got 1023"},
		{"admin.max_body_bytes", "65MiB", "must be between 1KiB and 64MiB, got 65MiB"},
		{"admin.max_upload_bytes", "0", "must be between 1KiB and 4GiB, got 0"},
		{"admin.max_upload_bytes", "5GiB", "must be between 1KiB and 4GiB, got 5GiB"},
		{"data.dir", `""`, "is required"},
		{"store.hold_max_per_scope", "0", "must be between 1 and 100000, got 0"},
		{"store.hold_max_per_scope", "100001", "must be between 1 and 100000, got 100001"},
		{"store.id_map_ttl", "59m", "must be at least 1h, got 59m"},
		{"store.gc_interval", "30s", "must be at least 1m, got 30s"},
		{"store.min_free_bytes", "512KiB", "must be at least 1MiB (the store needs room to write its memtables out), got 512KiB"},
		{"store.min_free_bytes", "0", "must be at least 1MiB (the store needs room to write its memtables out), got 0"},
		{"store.min_free_percent", "-1", "must be between 0 and 50, got -1"},
		{"store.min_free_percent", "51", "must be between 0 and 50, got 51"},
		{"store.message_log.mode", "sometimes", `must be one of full, sampled, off, got "sometimes"`},
		{"store.message_log.retention", "30m", "must be at least 1h, got 30m"},
		{"store.message_log.queue_size", "0", "must be between 1 and 10000000, got 0"},
		{"store.message_log.queue_size", "10000001", "must be between 1 and 10000000, got 10000001"},
		{"log.level", "verbose", `must be one of debug, info, warn, error, got "verbose"`},
		{"log.format", "xml", `must be one of auto, json, console, got "xml"`},
		{"log.warn_interval", "0s", "must be more than 0s and at most 1h, got 0s"},
		{"log.warn_interval", "2h", "must be more than 0s and at most 1h, got 2h"},
		{"log.warn_burst", "0", "must be between 1 and 10000, got 0"},
		{"shutdown.drain_timeout", "0s", "must be more than 0s and at most 10m, got 0s"},
		{"shutdown.drain_timeout", "1h", "must be more than 0s and at most 10m, got 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			in := nested(tt.key, tt.value)
			want := fmt.Sprintf("%s:%d: %s: %s", testFile, strings.Count(tt.key, ".")+1, tt.key, tt.msg)
			if got := parseErr(t, in); got != want {
				t.Errorf("error:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	for _, in := range []string{
		nested("listen.address", "'127.0.0.1:0'"),
		nested("listen.address", "'[::1]:65535'"),
		nested("listen.max_binds_per_system_id", "100000"),
		nested("listen.bind_timeout", "10m"),
		nested("session.window", "1"),
		nested("session.window", "100000"),
		nested("session.enquire_link_interval", "0s"),
		nested("session.enquire_link_interval", "1s"),
		nested("session.unbind_timeout", "1m"),
		nested("session.max_pdu_size", "4096"),
		nested("session.max_pdu_size", "16777216"),
		nested("session.unknown_commands", "refuse"),
		nested("session.timeout_status", "0x58"),
		nested("upstream.default.address", "'smsc.example.net:2775'"),
		nested("admin.address", `""`),
		nested("admin.address", "'127.0.0.1:2775'") + nested("listen.address", "'127.0.0.2:2775'"),
		nested("admin.max_body_bytes", "1KiB"),
		nested("admin.max_body_bytes", "64MiB"),
		nested("admin.max_upload_bytes", "4GiB"),
		nested("store.id_map_ttl", "1h"),
		nested("store.message_log.mode", "off"),
		nested("log.format", "json"),
		"store:\n  message_log:\n    mode: full\n    sample_rate: 0\n", // only checked when sampled
		"store:\n  message_log:\n    mode: sampled\n    sample_rate: 1\n",
	} {
		mustParse(t, in)
	}
}

func TestValidateSampleRate(t *testing.T) {
	for _, rate := range []string{"0", "-0.5", "1.01", ".nan"} {
		in := "store:\n  message_log:\n    mode: sampled\n    sample_rate: " + rate + "\n"
		got := parseErr(t, in)
		want := "optguard.yaml:4: store.message_log.sample_rate: must be more than 0 and at most 1 when store.message_log.mode is sampled, got "
		if !strings.HasPrefix(got, want) {
			t.Errorf("rate %s: error %q, want prefix %q", rate, got, want)
		}
	}
}

func TestValidateReportsAllAtOnce(t *testing.T) {
	in := "session:\n  window: 0\n  max_pdu_size: 1\nlog:\n  level: loud\n"
	want := strings.Join([]string{
		"optguard.yaml:2: session.window: must be between 1 and 100000, got 0",
		"optguard.yaml:3: session.max_pdu_size: must be between 4096 and 16777216, got 1",
		`optguard.yaml:5: log.level: must be one of debug, info, warn, error, got "loud"`,
	}, "\n")
	if got := parseErr(t, in); got != want {
		t.Errorf("error:\n got: %s\nwant: %s", got, want)
	}
}

func TestValidateInCode(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	c := Default()
	c.Session.Window = 0
	c.Upstream.Routes = []Route{{Name: "a", Address: "a:1"}}
	err := c.Validate()
	want := "session.window: must be between 1 and 100000, got 0\n" +
		"upstream.routes[0].system_ids: must list at least one system_id"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want:\n%s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != "" || ce.Line != 0 || ce.Key != "session.window" {
		t.Errorf("first error = %+v, want key session.window with no file or line", ce)
	}
}

func TestValidateAfterOverride(t *testing.T) {
	c := mustParse(t, "log:\n  level: debug\nsession:\n  window: 5\n")
	c.Session.Window = -1 // as a command-line override would
	c.Store.HoldMaxPerScope = 0
	want := "optguard.yaml:4: session.window: must be between 1 and 100000, got -1\n" +
		"optguard.yaml: store.hold_max_per_scope: must be between 1 and 100000, got 0"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want:\n%s", err, want)
	}
}

func TestValidateRoutes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"duplicate system_id", `
upstream:
  routes:
    - name: a
      system_ids: [acme, beta]
      address: "a:2775"
    - name: b
      system_ids:
        - gamma
        - acme
      address: "b:2775"
`, `optguard.yaml:10: upstream.routes[1].system_ids[1]: "acme" is already routed by upstream.routes[0] (name "a"); a system_id may appear in one route only`},
		{"system_id twice in one route", `
upstream:
  routes:
    - name: a
      system_ids: [acme, acme]
      address: "a:2775"
`, `optguard.yaml:5: upstream.routes[0].system_ids[1]: "acme" is already routed by upstream.routes[0] (name "a"); a system_id may appear in one route only`},
		{"duplicate name", `
upstream:
  routes:
    - name: a
      system_ids: [acme]
      address: "a:2775"
    - name: a
      system_ids: [beta]
      address: "b:2775"
`, `optguard.yaml:7: upstream.routes[1].name: "a" is already the name of upstream.routes[0]`},
		{"missing name, ids and address", `
upstream:
  routes:
    - connect_timeout: 1s
`, "optguard.yaml:4: upstream.routes[0].name: is required\n" +
			"optguard.yaml:4: upstream.routes[0].system_ids: must list at least one system_id\n" +
			"optguard.yaml:4: upstream.routes[0].address: is required"},
		{"empty system_id", `
upstream:
  routes:
    - name: a
      system_ids: [""]
      address: "a:2775"
`, `optguard.yaml:5: upstream.routes[0].system_ids[0]: must not be empty`},
		{"bad address and timeout", `
upstream:
  routes:
    - name: a
      system_ids: [acme]
      address: "a"
      connect_timeout: 2m
`, "optguard.yaml:6: upstream.routes[0].address: must be host:port, got \"a\"\n" +
			"optguard.yaml:7: upstream.routes[0].connect_timeout: must be more than 0s and at most 1m, got 2m"},
		{"route tls key without cert", `
upstream:
  routes:
    - name: a
      system_ids: [acme]
      address: "a:2775"
      tls:
        enabled: true
        key_file: /nonexistent/key.pem
`, "optguard.yaml:7: upstream.routes[0].tls.cert_file: is required when upstream.routes[0].tls.key_file is set\n" +
			`optguard.yaml:9: upstream.routes[0].tls.key_file: cannot read "/nonexistent/key.pem": no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.in); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestValidateTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	key := filepath.Join(dir, "key.pem")
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")

	listenTLS := func(lines ...string) string {
		return "listen:\n  tls:\n    address: ':3550'\n" + strings.Join(lines, "")
	}
	upstreamTLS := func(lines ...string) string {
		return "upstream:\n  default:\n    tls:\n      enabled: true\n" + strings.Join(lines, "")
	}
	tests := []struct {
		name, in, want string // want "" = valid
	}{
		{"listener with files", listenTLS("    cert_file: "+cert+"\n", "    key_file: "+key+"\n", "    client_ca_file: "+cert+"\n"), ""},
		{"listener without files", listenTLS(),
			"optguard.yaml:2: listen.tls.cert_file: is required when listen.tls.address is set\n" +
				"optguard.yaml:2: listen.tls.key_file: is required when listen.tls.address is set"},
		{"listener cert missing", listenTLS("    cert_file: "+missing+"\n", "    key_file: "+key+"\n"),
			fmt.Sprintf("optguard.yaml:4: listen.tls.cert_file: cannot read %q: no such file or directory", missing)},
		{"listener key is a directory", listenTLS("    cert_file: "+cert+"\n", "    key_file: "+dir+"\n"),
			fmt.Sprintf("optguard.yaml:5: listen.tls.key_file: %q is a directory, not a file", dir)},
		{"listener client CA missing", listenTLS("    cert_file: "+cert+"\n", "    key_file: "+key+"\n", "    client_ca_file: "+missing+"\n"),
			fmt.Sprintf("optguard.yaml:6: listen.tls.client_ca_file: cannot read %q: no such file or directory", missing)},
		{"listener bad address", "listen:\n  tls:\n    address: nope\n    cert_file: " + cert + "\n    key_file: " + key + "\n",
			`optguard.yaml:3: listen.tls.address: must be host:port, got "nope"`},
		{"listener same port as plain", "listen:\n  address: ':3550'\n  tls:\n    address: '0.0.0.0:3550'\n    cert_file: " + cert + "\n    key_file: " + key + "\n",
			`optguard.yaml:4: listen.tls.address: "0.0.0.0:3550" uses the same port as listen.address`},
		{"files unchecked without listener", "listen:\n  tls:\n    cert_file: " + missing + "\n", ""},
		{"upstream with files", upstreamTLS("      ca_file: "+cert+"\n", "      cert_file: "+cert+"\n", "      key_file: "+key+"\n"), ""},
		{"upstream CA missing", upstreamTLS("      ca_file: " + missing + "\n"),
			fmt.Sprintf("optguard.yaml:5: upstream.default.tls.ca_file: cannot read %q: no such file or directory", missing)},
		{"upstream cert without key", upstreamTLS("      cert_file: " + cert + "\n"),
			"optguard.yaml:3: upstream.default.tls.key_file: is required when upstream.default.tls.cert_file is set"},
		{"upstream key missing", upstreamTLS("      cert_file: "+cert+"\n", "      key_file: "+missing+"\n"),
			fmt.Sprintf("optguard.yaml:6: upstream.default.tls.key_file: cannot read %q: no such file or directory", missing)},
		{"route CA missing", "upstream:\n  routes:\n    - name: a\n      system_ids: [acme]\n      address: 'a:1'\n      tls:\n        ca_file: " + missing + "\n",
			fmt.Sprintf("optguard.yaml:7: upstream.routes[0].tls.ca_file: cannot read %q: no such file or directory", missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				mustParse(t, tt.in)
				return
			}
			if got := parseErr(t, tt.in); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestDurationValidationUsesDurationForm(t *testing.T) {
	c := Default()
	c.Store.IDMapTTL = Duration(30 * time.Minute)
	if err := c.Validate(); err == nil || err.Error() != "store.id_map_ttl: must be at least 1h, got 30m" {
		t.Errorf("Validate() = %v", err)
	}
}

func TestValidateAdmin(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	hashA, hashB := TokenHash("og_a"), TokenHash("og_b")
	// token writes one admin.tokens entry; its keys are on the lines after
	// the "- name" line, in the order given.
	token := func(name, role, hash string, more ...string) string {
		return "    - name: " + name + "\n      role: " + role + "\n      sha256: " + hash + "\n" + strings.Join(more, "")
	}
	tokens := func(entries ...string) string { return "admin:\n  tokens:\n" + strings.Join(entries, "") }
	const acme = "organizations:\n  - name: acme\n    system_ids: [acme]\n"
	tests := []struct {
		name, in, want string // want "" = valid
	}{
		{"tokens", acme + tokens(
			token("ops@example.com", "admin", hashA),
			token("desk-1", "agent", hashB, "      organizations:\n        - acme\n        - default\n")), ""},
		{"auditor without organizations", tokens(token("audit.2025_q1", "auditor", hashA, "      organizations: []\n")), ""},
		{"bad role", tokens(token("ops", "root", hashA)),
			`optguard.yaml:4: admin.tokens[0].role: must be one of auditor, agent, admin, got "root"`},
		{"role in capitals", tokens(token("ops", "Admin", hashA)),
			`optguard.yaml:4: admin.tokens[0].role: must be one of auditor, agent, admin, got "Admin"`},
		{"bad name", tokens(token("ops desk", "agent", hashA)),
			`optguard.yaml:3: admin.tokens[0].name: must be 1 to 64 letters, digits, '.', '_', '@' or '-', got "ops desk"`},
		{"name too long", tokens(token(strings.Repeat("a", 65), "agent", hashA)),
			`optguard.yaml:3: admin.tokens[0].name: must be 1 to 64 letters, digits, '.', '_', '@' or '-', got "` + strings.Repeat("a", 65) + `"`},
		{"nothing but organizations", tokens("    - organizations: []\n"),
			"optguard.yaml:3: admin.tokens[0].name: must be 1 to 64 letters, digits, '.', '_', '@' or '-', got \"\"\n" +
				"optguard.yaml:3: admin.tokens[0].role: must be one of auditor, agent, admin, got \"\"\n" +
				"optguard.yaml:3: admin.tokens[0].sha256: must be the 64 hex digits of the token's SHA-256 (optguard token create prints it), got 0 characters"},
		{"token pasted as hash", tokens(token("ops", "admin", "og_c2VjcmV0")),
			"optguard.yaml:5: admin.tokens[0].sha256: must be the 64 hex digits of the token's SHA-256 (optguard token create prints it), got 11 characters"},
		{"hash too long", tokens(token("ops", "admin", hashA+"0")),
			"optguard.yaml:5: admin.tokens[0].sha256: must be the 64 hex digits of the token's SHA-256 (optguard token create prints it), got 65 characters"},
		{"hash not hex", tokens(token("ops", "admin", hashA[:63]+"g")),
			"optguard.yaml:5: admin.tokens[0].sha256: must be lower-case hex digits (0-9, a-f), got 'g' at position 64"},
		{"hash in capitals", tokens(token("ops", "admin", strings.ToUpper(hashA))),
			fmt.Sprintf("optguard.yaml:5: admin.tokens[0].sha256: must be lower-case hex digits (0-9, a-f), got %q at position %d",
				strings.ToUpper(hashA)[strings.IndexAny(hashA, "abcdef")], strings.IndexAny(hashA, "abcdef")+1)},
		{"duplicate names", tokens(token("ops", "admin", hashA), token("ops", "auditor", hashB)),
			`optguard.yaml:6: admin.tokens[1].name: "ops" is already the name of admin.tokens[0]`},
		{"duplicate hashes", tokens(token("ops", "admin", hashA), token("desk", "agent", hashA)),
			"optguard.yaml:8: admin.tokens[1].sha256: is the same as admin.tokens[0].sha256: each token needs its own (make one with optguard token create)"},
		{"unknown organization", acme + tokens(token("desk", "agent", hashA, "      organizations:\n        - acme\n        - globex\n")),
			`optguard.yaml:11: admin.tokens[0].organizations[1]: "globex" is not an organization of this file (list it under organizations, or write "default")`},
		{"tls", "admin:\n  tls:\n    cert_file: " + cert + "\n    key_file: " + cert + "\n", ""},
		{"tls cert without key", "admin:\n  tls:\n    cert_file: " + cert + "\n",
			"optguard.yaml:2: admin.tls.key_file: is required when admin.tls.cert_file is set"},
		{"tls key without cert", "admin:\n  tls:\n    key_file: " + cert + "\n",
			"optguard.yaml:2: admin.tls.cert_file: is required when admin.tls.key_file is set"},
		{"tls cert missing", "admin:\n  tls:\n    cert_file: " + missing + "\n    key_file: " + cert + "\n",
			fmt.Sprintf("optguard.yaml:3: admin.tls.cert_file: cannot read %q: no such file or directory", missing)},
		{"tls key is a directory", "admin:\n  tls:\n    cert_file: " + cert + "\n    key_file: " + dir + "\n",
			fmt.Sprintf("optguard.yaml:4: admin.tls.key_file: %q is a directory, not a file", dir)},
		{"tls without address", "admin:\n  address: \"\"\n  tls:\n    cert_file: " + cert + "\n    key_file: " + cert + "\n",
			`optguard.yaml:2: admin.address: is required when admin.tls is set ("" turns the admin listener off)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				mustParse(t, tt.in)
				return
			}
			if got := parseErr(t, tt.in); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestRoleAllows(t *testing.T) {
	roles := []Role{RoleAuditor, RoleAgent, RoleAdmin}
	for i, r := range roles {
		for j, need := range roles {
			if got := r.Allows(need); got != (i >= j) {
				t.Errorf("%s.Allows(%s) = %v", r, need, got)
			}
		}
		if r.Allows("root") || Role("root").Allows(r) || Role("").Allows(r) {
			t.Errorf("a string that is not a role allows or is allowed with %s", r)
		}
	}
}

func TestParseRoleAndTokenName(t *testing.T) {
	for _, s := range []string{"auditor", "agent", "admin"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	if _, err := ParseRole("ADMIN"); err == nil || err.Error() != `must be one of auditor, agent, admin, got "ADMIN"` {
		t.Errorf("ParseRole(ADMIN) error = %v", err)
	}
	for name, ok := range map[string]bool{"a": true, "ops@example.com": true, "A.b_c-9": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "ops desk": false, "ops:1": false, "é": false} {
		if err := CheckTokenName(name); (err == nil) != ok {
			t.Errorf("CheckTokenName(%q) = %v, want ok %v", name, err, ok)
		}
	}
	// The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
	if got := TokenHash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("TokenHash(abc) = %s", got)
	}
}
