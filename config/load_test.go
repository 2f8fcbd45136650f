package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testFile = "optguard.yaml"

// sameConfig reports whether a and b hold the same values, ignoring where
// they were read from and nil versus empty route lists.
func sameConfig(a, b *Config) bool {
	x, y := *a, *b
	x.src, y.src = nil, nil
	if len(x.Upstream.Routes) == 0 {
		x.Upstream.Routes = nil
	}
	if len(y.Upstream.Routes) == 0 {
		y.Upstream.Routes = nil
	}
	if len(x.Organizations) == 0 {
		x.Organizations = nil
	}
	if len(x.Admin.Tokens) == 0 {
		x.Admin.Tokens = nil
	}
	if len(y.Admin.Tokens) == 0 {
		y.Admin.Tokens = nil
	}
	if len(y.Organizations) == 0 {
		y.Organizations = nil
	}
	if len(x.Webhooks.Endpoints) == 0 {
		x.Webhooks.Endpoints = nil
	}
	if len(y.Webhooks.Endpoints) == 0 {
		y.Webhooks.Endpoints = nil
	}
	return reflect.DeepEqual(x, y)
}

// mustParse parses in as testFile and fails the test on error.
func mustParse(t *testing.T, in string) *Config {
	t.Helper()
	c, err := Parse([]byte(in), testFile)
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", in, err)
	}
	return c
}

// parseErr parses in as testFile and returns the error text, failing the
// test when there is none.
func parseErr(t *testing.T, in string) string {
	t.Helper()
	c, err := Parse([]byte(in), testFile)
	if err == nil {
		t.Fatalf("Parse:\n%s\ngave no error (config %+v)", in, c)
	}
	if c != nil {
		t.Errorf("Parse returned a Config along with error %v", err)
	}
	return err.Error()
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# nothing here\n", "---\n", "~\n", "listen:\nsession: # all defaults\n"} {
		c := mustParse(t, in)
		if !sameConfig(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", in, c)
		}
	}
}

func TestParseOverridesOnlyWhatIsSet(t *testing.T) {
	c := mustParse(t, "session:\n  window: 7\n  enquire_link_interval: 0s\nadmin:\n  address: \"\"\nlisten:\n  max_binds_per_system_id: 3\n")
	want := Default()
	want.Session.Window = 7
	want.Session.EnquireLinkInterval = 0
	want.Admin.Address = ""
	want.Listen.MaxBindsPerSystemID = 3
	if !sameConfig(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the whole error text
	}{
		{"unknown top-level key", "session:\n  window: 5\nsesion:\n  window: 5\n",
			`optguard.yaml:3: unknown key "sesion" (did you mean "session"?)`},
		{"unknown nested key", "session:\n  window: 5\n  windw: 5\n",
			`optguard.yaml:3: unknown key "session.windw" (did you mean "session.window"?)`},
		{"unknown key, no suggestion", "store:\n  message_log:\n    frobnicate: 1\n",
			`optguard.yaml:3: unknown key "store.message_log.frobnicate"`},
		{"unknown key in a route", "upstream:\n  routes:\n    - name: a\n      adress: \"a:1\"\n",
			`optguard.yaml:4: unknown key "upstream.routes[0].adress" (did you mean "upstream.routes[0].address"?)`},
		{"unknown key in a route's tls", "upstream:\n  routes:\n    - name: a\n      tls:\n        enable: true\n",
			`optguard.yaml:5: unknown key "upstream.routes[0].tls.enable" (did you mean "upstream.routes[0].tls.enabled"?)`},
		{"every unknown key reported", "lsten: {}\nlog:\n  lvl: info\n",
			"optguard.yaml:1: unknown key \"lsten\" (did you mean \"listen\"?)\noptguard.yaml:3: unknown key \"log.lvl\" (did you mean \"log.level\"?)"},
		{"duplicate key", "session:\n  window: 5\n  window: 6\n",
			`optguard.yaml:3: session.window: duplicate key (first set at line 2)`},
		{"integer as text", "session:\n  window: abc\n",
			`optguard.yaml:2: session.window: cannot use "abc" as an integer`},
		{"integer as a float", "session:\n  window: 1.5\n",
			`optguard.yaml:2: session.window: cannot use "1.5" as an integer`},
		{"integer as a list", "session:\n  window: [1]\n",
			`optguard.yaml:2: session.window: cannot use a list as an integer`},
		{"integer as quoted text", "session:\n  window: \"5\"\n",
			`optguard.yaml:2: session.window: cannot use "5" as an integer`},
		{"integer overflow", "listen:\n  max_connections: 99999999999999999999999\n",
			`optguard.yaml:2: listen.max_connections: cannot use "99999999999999999999999" as an integer`},
		{"boolean", "upstream:\n  default:\n    tls:\n      enabled: maybe\n",
			`optguard.yaml:4: upstream.default.tls.enabled: cannot use "maybe" as a boolean (true or false)`},
		{"number", "store:\n  message_log:\n    sample_rate: half\n",
			`optguard.yaml:3: store.message_log.sample_rate: cannot use "half" as a number`},
		{"text as a mapping", "listen:\n  address:\n    host: x\n",
			`optguard.yaml:3: listen.address: cannot use a mapping as text`},
		{"section as a scalar", "session: 5\n",
			`optguard.yaml:1: session: must be a mapping of keys, got "5"`},
		{"top level as a list", "- a\n- b\n",
			`optguard.yaml:1: the top level must be a mapping of keys, got a list`},
		{"list as a scalar", "upstream:\n  routes:\n    - name: a\n      system_ids: acme\n",
			`optguard.yaml:4: upstream.routes[0].system_ids: must be a list, got "acme"`},
		{"list as a mapping", "upstream:\n  routes:\n    name: a\n",
			`optguard.yaml:3: upstream.routes: must be a list, got a mapping`},
		{"key with no value", "admin:\n  address:\n",
			`optguard.yaml:2: admin.address: has no value (remove the key to keep its default; write "" for an empty value)`},
		{"number with no value", "session:\n  window: ~\n",
			`optguard.yaml:2: session.window: has no value (remove the key to keep its default)`},
		{"duration without unit", "session:\n  response_timeout: 30\n",
			`optguard.yaml:2: session.response_timeout: cannot use 30 as a duration: durations are written with a unit, like 30s`},
		{"quoted duration without unit", "session:\n  response_timeout: \"30\"\n",
			`optguard.yaml:2: session.response_timeout: cannot use 30 as a duration: durations are written with a unit, like 30s`},
		{"duration garbage", "shutdown:\n  drain_timeout: abc\n",
			`optguard.yaml:2: shutdown.drain_timeout: cannot use "abc" as a duration (write it like 30s, 500ms or 72h)`},
		{"duration as a list", "shutdown:\n  drain_timeout: [1s]\n",
			`optguard.yaml:2: shutdown.drain_timeout: cannot use a list as a duration (write it like 30s, 500ms or 72h)`},
		{"unknown status name", "session:\n  timeout_status: ESME_RNOPE\n",
			`optguard.yaml:2: session.timeout_status: cannot use "ESME_RNOPE" as a command_status: write a 32-bit number (8, 0x08) or one of ESME_ROK, ESME_RINVMSGLEN, ESME_RSYSERR, ESME_RINVDSTADR, ESME_RMSGQFUL, ESME_RSUBMITFAIL, ESME_RTHROTTLED, ESME_RX_T_APPN, ESME_RX_P_APPN, ESME_RX_R_APPN, ESME_RDELIVERYFAILURE, ESME_RUNKNOWNERR`},
		{"two documents", "session:\n  window: 5\n---\nsession:\n  window: 6\n",
			`optguard.yaml:3: a second YAML document starts here: a config file holds exactly one`},
		{"trailing empty document", "session:\n  window: 5\n---\n",
			`optguard.yaml:3: a second YAML document starts here: a config file holds exactly one`},
		{"merge of a scalar", "session:\n  <<: 5\n",
			`optguard.yaml:2: session: << must merge a mapping, got "5"`},
		{"unknown key in merged mapping", "x: &x\n  windw: 5\nsession:\n  <<: *x\n",
			"optguard.yaml:1: unknown key \"x\"\noptguard.yaml:2: unknown key \"session.windw\" (did you mean \"session.window\"?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.in); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestParseSyntaxErrorHasLine(t *testing.T) {
	got := parseErr(t, "session:\n  window: 5\n bad\n")
	if !regexp.MustCompile(`^optguard\.yaml:[23]: \S`).MatchString(got) {
		t.Errorf("syntax error %q does not start with the file and line", got)
	}
	if strings.Contains(got, "yaml: line") {
		t.Errorf("syntax error %q keeps yaml's prefix", got)
	}
}

func TestParseErrorsAreTyped(t *testing.T) {
	_, err := Parse([]byte("session:\n  window: x\n  windw: 1\n"), testFile)
	var errs []*Error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("%v is not a *config.Error", e)
		}
		errs = append(errs, ce)
	}
	want := []Error{
		{File: testFile, Line: 2, Key: "session.window", Msg: `cannot use "x" as an integer`},
		{File: testFile, Line: 3, Key: "session.windw", Msg: `unknown key "session.windw" (did you mean "session.window"?)`, keyInMsg: true},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), err)
	}
	for i := range want {
		if *errs[i] != want[i] {
			t.Errorf("error %d = %+v, want %+v", i, *errs[i], want[i])
		}
	}
}

func TestParseAliasesAndMerges(t *testing.T) {
	c := mustParse(t, `
upstream:
  default:
    address: "smsc:2775"
    tls: &corp
      enabled: true
      server_name: corp.example
  routes:
    - &base
      name: a
      system_ids: [acme]
      address: "a:2775"
      connect_timeout: 2s
    - <<: *base
      name: b
      system_ids: [beta]
      tls: *corp
`)
	b := c.Route("beta")
	want := Upstream{Address: "a:2775", ConnectTimeout: Duration(2 * time.Second), TLS: UpstreamTLS{Enabled: true, ServerName: "corp.example"}}
	if b != want {
		t.Errorf("Route(beta) = %+v, want %+v", b, want)
	}
	if got := c.Upstream.Routes[1].Name; got != "b" {
		t.Errorf("merged route name = %q, want b (explicit keys win over <<)", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "my.yaml")
	if err := os.WriteFile(path, []byte("log:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != LogLevelDebug {
		t.Errorf("log.level = %q, want debug", c.Log.Level)
	}

	if err := os.WriteFile(path, []byte("log:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + `:2: log.level: must be one of debug, info, warn, error, got "loud"`; err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}

	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error = %v, want a not-exist error naming the path", err)
	}
}

// TestParseMergeChain checks that chained merges are checked in linear time:
// without care, 40 levels of doubling would take 2^40 steps.
func TestParseMergeChain(t *testing.T) {
	var b strings.Builder
	b.WriteString("upstream:\n  routes:\n    - &r0\n      name: r0\n      system_ids: [id0]\n      address: 'a:1'\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "    - &r%d\n      <<: [*r%d, *r%d]\n      name: r%d\n      system_ids: [id%d]\n", i, i-1, i-1, i, i)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Parse([]byte(b.String()), testFile)
		done <- err
	}()
	select {
	case <-done: // parsed, or refused by yaml.v3's alias limits: either is fine
	case <-time.After(10 * time.Second):
		t.Fatal("Parse of a chain of merges did not finish in 10s")
	}
}
