package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path and parses it as Parse does; errors name
// the file as path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes one YAML document strictly, fills in defaults for every key
// it leaves out, and validates the result. name is the file name used in
// error messages. An empty document gives Default().
func Parse(data []byte, name string) (*Config, error) {
	c, err := decode(data, name)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decode does Parse's work except validation: DecodeStrict over Default().
func decode(data []byte, name string) (*Config, error) {
	c := Default()
	lines, err := DecodeStrict(data, name, "a config file", c)
	if err != nil {
		return nil, err
	}
	c.src = &source{name: name, lines: lines}
	return c, nil
}

// DecodeStrict decodes one YAML document into v, a pointer to a struct
// that already holds its defaults, the way a config file is decoded; other
// strict YAML files of optguard's (bench scenarios) use it too. kind names
// the file in the message about a second document ("a config file").
//
// It reads the document twice. The first pass walks the yaml.Node tree
// against v's type: it reports unknown and duplicate keys and values of
// the wrong type with their dotted key path and line (yaml.v3's own
// messages name neither), and records the line of every key. The second
// pass, once the first found nothing wrong, is yaml.v3's strict decoding
// (KnownFields) on top of the defaults. It returns the line of each dotted
// key path it read, for errors about the values later (Locate); an empty
// document leaves v as it was.
func DecodeStrict(data []byte, name, kind string, v any) (lines map[string]int, err error) {
	lines = map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return lines, nil // no document at all: the defaults
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: name, Line: extra.Line, Msg: "a second YAML document starts here: " + kind + " holds exactly one"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(name, err)
	}

	w := walker{file: name, lines: lines, merged: map[mergedAt]bool{}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	w.walk(root, reflect.TypeOf(v).Elem(), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	return lines, nil
}

// Locate returns the line of key in lines (as DecodeStrict returns them),
// or when the file does not set it, of the closest enclosing key it does
// set; 0 when none.
func Locate(lines map[string]int, key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if line, ok := lines[k]; ok {
			return line
		}
	}
	return 0
}

// DescribeNode names a node's value for messages: "abc" quoted, or "a
// mapping"; for the UnmarshalYAML of types decoded by DecodeStrict.
func DescribeNode(n *yaml.Node) string { return describe(n) }

// walker checks a yaml.Node tree against a Go type; see decode.
type walker struct {
	file   string
	lines  map[string]int // filled in: key path → line
	errs   []error
	merged map[mergedAt]bool
}

// mergedAt is a mapping merged (<<) at a key path. Each is checked once, so
// that chains of merges cannot make the walk exponential.
type mergedAt struct {
	node *yaml.Node
	path string
}

func (w *walker) fail(line int, key, format string, args ...any) {
	w.errs = append(w.errs, &Error{File: w.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// isLeaf reports whether values of t are written as a single scalar.
func isLeaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case isLeaf(t):
		w.leaf(n, t, path)
	case t.Kind() == reflect.Pointer:
		if !isNull(n) {
			w.walk(n, t.Elem(), path)
		}
	case t.Kind() == reflect.Struct:
		if isNull(n) {
			return // a section with nothing under it keeps its defaults
		}
		if n.Kind != yaml.MappingNode {
			what := "must be"
			if path == "" {
				what = "the top level must be"
			}
			w.fail(n.Line, path, "%s a mapping of keys, got %s", what, describe(n))
			return
		}
		w.mapping(n, t, path, nil)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, path, "must be a mapping, got %s", describe(n))
			return
		}
		w.mapping(n, t, path, nil)
	case t.Kind() == reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.fail(n.Line, path, "must be a list, got %s", describe(n))
			return
		}
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = e.Line
			w.walk(e, t.Elem(), p)
		}
	default:
		panic("config: no YAML form for field type " + t.String())
	}
}

// mapping checks the keys of n against struct type t, or the values of n
// against the element type of map type t (whose keys are free text; Validate
// checks them where they name something). outer holds the keys of the
// mapping n is merged into (with <<), which take precedence.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string, outer map[string]bool) {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = yamlFields(t)
	}
	own := map[string]int{} // key → line, for duplicates
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge") {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, path, "keys must be plain words, got %s", describe(k))
			continue
		}
		p := joinKey(path, k.Value)
		if first, dup := own[k.Value]; dup {
			w.fail(k.Line, p, "duplicate key (first set at line %d)", first)
			continue
		}
		own[k.Value] = k.Line
		ft, ok := fields[k.Value]
		if t.Kind() == reflect.Map {
			ft, ok = t.Elem(), true
		}
		if !ok {
			w.unknown(k, p, fields)
			continue
		}
		if !outer[k.Value] {
			w.lines[p] = k.Line
		}
		w.walk(v, ft, p)
	}
	if len(merges) == 0 {
		return
	}
	shadow := map[string]bool{}
	for k := range outer {
		shadow[k] = true
	}
	for k := range own {
		shadow[k] = true
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		parts := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			parts = m.Content
		}
		for _, p := range parts {
			for p.Kind == yaml.AliasNode && p.Alias != nil {
				p = p.Alias
			}
			if p.Kind != yaml.MappingNode {
				w.fail(p.Line, path, "<< must merge a mapping, got %s", describe(p))
				continue
			}
			if at := (mergedAt{p, path}); !w.merged[at] {
				w.merged[at] = true
				w.mapping(p, t, path, shadow)
			}
		}
	}
}

// unknown reports an unknown key, suggesting a known one it looks like a typo of.
func (w *walker) unknown(k *yaml.Node, path string, fields map[string]reflect.Type) {
	msg := fmt.Sprintf("unknown key %q", path)
	if best := suggest(k.Value, slices.Collect(maps.Keys(fields))); best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", joinKey(parentKey(path), best))
	}
	w.errs = append(w.errs, &Error{File: w.file, Line: k.Line, Key: path, Msg: msg, keyInMsg: true})
}

// leaf checks that n decodes into a value of type t.
func (w *walker) leaf(n *yaml.Node, t reflect.Type, path string) {
	if isNull(n) {
		hint := ""
		if t.Kind() == reflect.String {
			hint = `; write "" for an empty value`
		}
		w.fail(n.Line, path, "has no value (remove the key to keep its default%s)", hint)
		return
	}
	err := n.Decode(reflect.New(t).Interface())
	if err != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		w.fail(n.Line, path, "%s", err.Error()) // our own types explain themselves
		return
	}
	if err != nil || !tagFits(n, t) {
		w.fail(n.Line, path, "cannot use %s as %s", describe(n), kindName(t))
	}
}

// tagFits reports whether a scalar's resolved YAML tag suits a number field:
// yaml.v3 would otherwise truncate 1.5 to 1 for an integer field.
func tagFits(n *yaml.Node, t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch tag := n.ShortTag(); t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return tag == "!!int"
	case reflect.Float32, reflect.Float64:
		return tag == "!!int" || tag == "!!float"
	}
	return true
}

// yamlFields maps the YAML key of each exported field of struct type t to
// the field's type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if name, ok := yamlName(f); ok {
			m[name] = f.Type
		}
	}
	return m
}

// yamlName returns the YAML key of a struct field, and false for fields
// that have none (unexported, or tagged "-").
func yamlName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return strings.ToLower(f.Name), true
	}
	return name, true
}

// describe names a node's value for messages: "abc" quoted, or "a mapping".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

// kindName names a Go type for messages: "an integer".
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.String:
		return "text"
	}
	return t.String()
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError rewrites a yaml.v3 error ("yaml: line 3: …") as "name:3: …".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	errs := make([]error, 0, len(msgs))
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		e := &Error{File: name, Msg: m}
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Msg = sub[2]
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
