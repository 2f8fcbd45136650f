package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../optguard.example.yaml"

// TestExampleIsDefault is the golden test: the example file documents the
// defaults, so loading it must give exactly Default().
func TestExampleIsDefault(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if sameConfig(c, Default()) {
		return
	}
	got, _ := yaml.Marshal(c)
	want, _ := yaml.Marshal(Default())
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Errorf("example differs from Default(): example has %q, Default() has %q", gl[i], wl[i])
		}
	}
	t.Errorf("%s does not load as Default()", examplePath)
}

// TestExampleHasEveryKey checks that every key of Config appears in the
// example file, so the example cannot go stale. Keys of list elements
// (upstream.routes, organizations, admin.tokens) may appear in the commented-out examples
// instead, and keys of mappings (keywords.languages) under any of their keys.
func TestExampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]*yaml.Node, 5)
	for i, text := range []string{string(data), exampleRoute(t, string(data)), exampleOrganizations(t, string(data)), exampleTokens(t, string(data)), exampleWebhooks(t, string(data))} {
		docs[i] = new(yaml.Node)
		if err := yaml.Unmarshal([]byte(text), docs[i]); err != nil {
			t.Fatal(err)
		}
	}
	paths := keyPaths(reflect.TypeFor[Config](), nil)
	if len(paths) < 80 {
		t.Fatalf("found only %d key paths in Config; the walk is broken", len(paths))
	}
	for _, p := range paths {
		if !slices.ContainsFunc(docs, func(d *yaml.Node) bool { return hasPath(d, p) }) {
			t.Errorf("key %s is missing from %s", strings.ReplaceAll(strings.Join(p, "."), ".[]", "[]"), examplePath)
		}
	}
}

// TestExampleKeysAreExplained checks that a comment line comes right
// before every key in the example file and in its commented-out
// organizations and tokens.
func TestExampleKeysAreExplained(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{string(data), exampleOrganizations(t, string(data)), exampleTokens(t, string(data)), exampleWebhooks(t, string(data))} {
		lines := strings.Split(text, "\n")
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatal(err)
		}
		var check func(n *yaml.Node, path string)
		check = func(n *yaml.Node, path string) {
			for i, e := range n.Content {
				if n.Kind == yaml.SequenceNode {
					check(e, fmt.Sprintf("%s[%d]", path, i))
				}
			}
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := joinKey(path, k.Value)
				if k.Line < 2 || !strings.HasPrefix(strings.TrimSpace(lines[k.Line-2]), "#") {
					t.Errorf("%s:%d: key %s has no comment line before it", examplePath, k.Line, p)
				}
				check(n.Content[i+1], p)
			}
		}
		check(doc.Content[0], "")
	}
}

// TestExampleRouteIsValid checks that the commented-out example route
// decodes strictly and validates once its TLS files exist.
func TestExampleRouteIsValid(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := decode([]byte(exampleRoute(t, string(data))), "example route")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Upstream.Routes) != 1 || c.Upstream.Routes[0].TLS == nil {
		t.Fatalf("example route decoded as %+v, want one route with tls", c.Upstream.Routes)
	}
	pem := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(pem, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tls := c.Upstream.Routes[0].TLS
	tls.CAFile, tls.CertFile, tls.KeyFile = pem, pem, pem
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// TestExampleTokensAreValid checks that the commented-out example tokens
// validate with the example organizations they name.
func TestExampleTokensAreValid(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(exampleTokens(t, string(data))+exampleOrganizations(t, string(data))), "example tokens")
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Admin.Tokens
	if len(tok) != 2 || tok[0].Role != RoleAdmin || len(tok[0].Organizations) != 0 || tok[1].Role != RoleAgent || !slices.Equal(tok[1].Organizations, []string{"acme"}) {
		t.Fatalf("example tokens decoded as %+v", tok)
	}
}

// TestExampleWebhooksAreValid checks that the commented-out example
// endpoint validates once its secret file exists.
func TestExampleWebhooksAreValid(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := decode([]byte(exampleWebhooks(t, string(data))), "example webhooks")
	if err != nil {
		t.Fatal(err)
	}
	eps := c.Webhooks.Endpoints
	if len(eps) != 1 || eps[0].Name != "crm" || !slices.Equal(eps[0].Events, []string{"consent_changes", "review"}) {
		t.Fatalf("example endpoints decoded as %+v", eps)
	}
	secret := filepath.Join(t.TempDir(), "crm.secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eps[0].SecretFile = secret
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// exampleRoute returns the commented-out example under "# routes:" in the
// example file, uncommented, as a config document.
func exampleRoute(t *testing.T, example string) string {
	t.Helper()
	return exampleBlock(t, example, "routes", "upstream:\n  routes:\n", "  ")
}

// exampleOrganizations returns the commented-out example under
// "# organizations:" in the example file, uncommented, as a config document.
func exampleOrganizations(t *testing.T, example string) string {
	t.Helper()
	return exampleBlock(t, example, "organizations", "# The example organizations.\norganizations:\n", "")
}

// exampleTokens returns the commented-out example under "# tokens:" in the
// example file, uncommented, as a config document.
func exampleTokens(t *testing.T, example string) string {
	t.Helper()
	return exampleBlock(t, example, "tokens", "# The example tokens.\nadmin:\n  # The operator API tokens.\n  tokens:\n", "  ")
}

// exampleWebhooks returns the commented-out example under "# endpoints:"
// in the example file, uncommented, as a config document.
func exampleWebhooks(t *testing.T, example string) string {
	t.Helper()
	return exampleBlock(t, example, "endpoints", "# The example webhooks.\nwebhooks:\n  # The receivers.\n  endpoints:\n", "  ")
}

// exampleBlock returns the commented-out block that starts with the line
// "# key:", uncommented and indented by indent under header.
func exampleBlock(t *testing.T, example, key, header, indent string) string {
	t.Helper()
	var b strings.Builder
	prefix := ""
	for line := range strings.Lines(example) {
		switch {
		case prefix == "" && strings.TrimSpace(line) == "# "+key+":":
			prefix, _, _ = strings.Cut(line, key+":")
			b.WriteString(header)
		case prefix != "" && strings.HasPrefix(line, prefix+"  "):
			b.WriteString(indent + strings.TrimPrefix(line, prefix))
		case prefix != "":
			return b.String()
		}
	}
	if prefix == "" {
		t.Fatalf("%s has no commented-out \"# %s:\" example", examplePath, key)
	}
	return b.String()
}

// keyPaths lists the YAML key path of every value in struct type t; "[]"
// stands for the elements of a list and "*" for the keys of a mapping.
func keyPaths(t reflect.Type, prefix []string) [][]string {
	var out [][]string
	for f := range t.Fields() {
		name, ok := yamlName(f)
		if !ok {
			continue
		}
		p := append(append([]string(nil), prefix...), name)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case isLeaf(ft):
			out = append(out, p)
		case ft.Kind() == reflect.Struct:
			out = append(out, keyPaths(ft, p)...)
		case (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map) && ft.Elem().Kind() == reflect.Struct:
			elem := "[]"
			if ft.Kind() == reflect.Map {
				elem = "*"
			}
			out = append(out, p) // the list or mapping itself
			out = append(out, keyPaths(ft.Elem(), append(p, elem))...)
		default: // list or mapping of scalars
			out = append(out, p)
		}
	}
	return out
}

// hasPath reports whether the YAML document n has the key path p.
func hasPath(n *yaml.Node, p []string) bool {
	if n.Kind == yaml.DocumentNode {
		return len(n.Content) > 0 && hasPath(n.Content[0], p)
	}
	if len(p) == 0 {
		return true
	}
	if p[0] == "[]" {
		return n.Kind == yaml.SequenceNode && slices.ContainsFunc(n.Content, func(e *yaml.Node) bool { return hasPath(e, p[1:]) })
	}
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if p[0] == "*" || n.Content[i].Value == p[0] {
			if hasPath(n.Content[i+1], p[1:]) {
				return true
			}
		}
	}
	return false
}
