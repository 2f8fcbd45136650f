package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy/httpapi"
)

// The OpenAPI document is written by hand: these tests hold it to the
// route table (every route, its query parameters, its role), to itself
// (every $ref resolves) and to the handlers' error codes, so that a route
// added without its documentation fails here.

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc fetches /openapi.json as the auditor.
func openAPIDoc(t *testing.T, e *env) (map[string]any, []byte) {
	t.Helper()
	r := e.ok("auditor", "GET", "/openapi.json", nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET /openapi.json: Content-Type %q", ct)
	}
	var doc map[string]any
	r.json(t, &doc)
	return doc, r.Body
}

// resolve follows a local JSON pointer ("#/components/schemas/Error").
func resolve(doc map[string]any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = doc
	if p == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref is v, or what its $ref points to.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		target, ok := resolve(doc, ref)
		if !ok {
			t.Fatalf("$ref %s does not resolve", ref)
		}
		m, _ = target.(map[string]any)
	}
	if m == nil {
		t.Fatalf("%v is not an object", v)
	}
	return m
}

// operations lists the document's operations by "METHOD path".
func operations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("the document has no paths")
	}
	ops := map[string]map[string]any{}
	for path, item := range paths {
		im := deref(t, doc, item)
		for _, m := range httpMethods {
			if o, ok := im[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+path] = o
			}
		}
	}
	return ops
}

// parameters are an operation's parameters, its path item's first (an
// operation's own override those of the same name and place).
func parameters(t *testing.T, doc map[string]any, path string, op map[string]any) []map[string]any {
	t.Helper()
	item := deref(t, doc, doc["paths"].(map[string]any)[path])
	byKey := map[string]map[string]any{}
	var order []string
	for _, list := range []any{item["parameters"], op["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			pm := deref(t, doc, p)
			k := pm["in"].(string) + " " + pm["name"].(string)
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = pm
		}
	}
	var out []map[string]any
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	doc, raw := openAPIDoc(t, e)

	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "optguard operator API" || info["version"] != "1" {
		t.Errorf("info: %v %v", info["title"], info["version"])
	}
	// Written as json.Indent writes it, with two spaces, so that a diff of
	// it reads well.
	var ind bytes.Buffer
	if err := json.Indent(&ind, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(ind.Bytes()), bytes.TrimSpace(raw)) {
		t.Error("openapi.json is not indented with two spaces as json.Indent does")
	}
	// Bearer tokens, everywhere.
	scheme := deref(t, doc, doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["bearer"])
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearer is %v", scheme)
	}
	if sec, _ := doc["security"].([]any); len(sec) != 1 || sec[0].(map[string]any)["bearer"] == nil {
		t.Errorf("security is %v, want the bearer scheme globally", doc["security"])
	}

	ops := operations(t, doc)
	routes := e.api.Routes()
	want := map[string]httpapi.Route{}
	for _, rt := range routes {
		want[rt.Method+" "+rt.Path] = rt
	}
	if _, ok := want["GET /openapi.json"]; !ok {
		t.Error("the route table has no GET /openapi.json")
	}
	for k := range want {
		if ops[k] == nil {
			t.Errorf("%s is a route the document does not describe", k)
		}
	}
	for k := range ops {
		if _, ok := want[k]; !ok {
			t.Errorf("%s is in the document but not a route", k)
		}
	}

	for k, rt := range want {
		op := ops[k]
		if op == nil {
			continue
		}
		var query, inPath []string
		for _, p := range parameters(t, doc, rt.Path, op) {
			switch p["in"] {
			case "query":
				query = append(query, p["name"].(string))
			case "path":
				inPath = append(inPath, p["name"].(string))
				if p["required"] != true {
					t.Errorf("%s: path parameter %s is not required", k, p["name"])
				}
			}
		}
		wantQuery := slices.Clone(rt.Query)
		slices.Sort(query)
		slices.Sort(wantQuery)
		if !slices.Equal(query, wantQuery) {
			t.Errorf("%s: query parameters %q, the route takes %q", k, query, wantQuery)
		}
		var wantPath []string
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			wantPath = append(wantPath, m[1])
		}
		slices.Sort(inPath)
		slices.Sort(wantPath)
		if !slices.Equal(inPath, wantPath) {
			t.Errorf("%s: path parameters %q, the path has %q", k, inPath, wantPath)
		}
		if got := op["x-optguard-role"]; got != string(rt.Role) {
			t.Errorf("%s: x-optguard-role %v, the route needs %s", k, got, rt.Role)
		}
		if d, _ := op["description"].(string); !strings.Contains(d, string(rt.Role)) {
			t.Errorf("%s: the description does not name the role %s", k, rt.Role)
		}
		resps, _ := op["responses"].(map[string]any)
		for _, status := range []string{"200", "401"} {
			if resps[status] == nil && !(status == "200" && resps["202"] != nil) {
				t.Errorf("%s: no %s response", k, status)
			}
		}
		if rt.Role != httpapi.RoleAuditor && resps["403"] == nil {
			t.Errorf("%s: needs %s but lists no 403", k, rt.Role)
		}
		if resps["400"] == nil {
			t.Errorf("%s: no 400 response (every route refuses unknown query parameters)", k)
		}
		for status, r := range resps {
			if n, err := strconv.Atoi(status); err == nil && n >= 400 {
				content, _ := deref(t, doc, r)["content"].(map[string]any)
				js, _ := content["application/json"].(map[string]any)
				if ref, _ := js["schema"].(map[string]any)["$ref"].(string); ref != "#/components/schemas/Error" {
					t.Errorf("%s: the %s response is not the Error schema", k, status)
				}
			}
		}
	}

	// Every $ref resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, ok := resolve(doc, ref); !ok {
					t.Errorf("%s: $ref %s does not resolve", at, ref)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
}

// TestOpenAPIListsErrorCodes: every error code the package's handlers
// give is in the Error schema's description.
func TestOpenAPIListsErrorCodes(t *testing.T) {
	e := newEnv(t)
	doc, _ := openAPIDoc(t, e)
	errSchema, ok := resolve(doc, "#/components/schemas/Error")
	if !ok {
		t.Fatal("no components/schemas/Error")
	}
	desc, _ := errSchema.(map[string]any)["description"].(string)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`Code:\s*"([a-z_]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllSubmatch(src, -1) {
			found++
			if !strings.Contains(desc, "`"+string(m[1])+"`") {
				t.Errorf("%s gives error code %s, which the Error schema's description does not list", f, m[1])
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d error codes in the sources", found)
	}
}

// concretePath fills in a route's path parameters.
func concretePath(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case "{number}":
			return "+15551230001"
		case "{id}":
			return "0123456789abcdef"
		}
		return "x1"
	})
}

// rawCall sends method path with the Authorization header auth (none when
// !withAuth), as the env's call cannot.
func rawCall(t *testing.T, e *env, method, path string, withAuth bool, auth string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if withAuth {
		req.Header["Authorization"] = []string{auth}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func TestEveryRouteNeedsAToken(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.AuthFailures = 1 << 20 })
	doc, _ := openAPIDoc(t, e)
	ops := operations(t, doc)
	if len(ops) < len(e.api.Routes()) {
		t.Fatalf("the document has %d operations, the API %d routes", len(ops), len(e.api.Routes()))
	}
	before := e.head()
	auths := []struct {
		name   string
		with   bool
		header string
	}{
		{"no token", false, ""},
		{"wrong token", true, "Bearer wrong"},
		{"basic", true, "Basic xxx"},
		{"empty bearer", true, "Bearer "},
		{"bearer blank", true, "Bearer   "},
		{"scheme only", true, "Bearer"},
		{"token without scheme", true, "admin"},
	}
	for k := range ops {
		method, path, _ := strings.Cut(k, " ")
		for _, a := range auths {
			r := rawCall(t, e, method, concretePath(path), a.with, a.header)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401\n%s", k, a.name, r.Status, r.Body)
				continue
			}
			r.wantError(t, http.StatusUnauthorized, "unauthorized", "")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %s: WWW-Authenticate %q", k, a.name, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	if e.head() != before {
		t.Error("an unauthenticated request wrote the ledger")
	}
	e.call("admin", "GET", "/api/v1/nope", nil).wantError(t, http.StatusNotFound, "not_found", "")
	e.call("auditor", "POST", "/api/v1/organizations/x", "{}").wantError(t, http.StatusNotFound, "not_found", "")
}

func TestRepeatedFailuresAreSlowed(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		r := e.call("wrong", "GET", "/api/v1/organizations", nil)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401\n%s", i+1, r.Status, r.Body)
		}
	}
	// The 11th request is refused before its token is even looked at.
	r := e.call("auditor", "GET", "/api/v1/organizations", nil)
	r.wantError(t, http.StatusTooManyRequests, "too_many_failures", "")
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 60 {
		t.Fatalf("Retry-After %q, want 1..60 seconds", r.Header.Get("Retry-After"))
	}
	e.clk.add(30 * time.Second)
	r = e.call("auditor", "GET", "/api/v1/organizations", nil)
	r.wantError(t, http.StatusTooManyRequests, "too_many_failures", "")
	if later, _ := strconv.Atoi(r.Header.Get("Retry-After")); later < 1 || later >= wait {
		t.Errorf("Retry-After %d after 30 s, first %d", later, wait)
	}
	e.clk.add(31 * time.Second)
	e.ok("auditor", "GET", "/api/v1/organizations", nil)
	// The count started again: one more wrong token is only a 401.
	e.call("wrong", "GET", "/api/v1/organizations", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	e.ok("auditor", "GET", "/api/v1/organizations", nil)
}

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t)
	before := e.head()
	below := map[httpapi.Role][]string{
		httpapi.RoleAgent: {"auditor", "globex-auditor"},
		httpapi.RoleAdmin: {"agent", "auditor", "acme-sales-agent", "globex-auditor"},
	}
	checked := map[httpapi.Role]int{}
	for _, rt := range e.api.Routes() {
		var body any
		if rt.Method == "POST" {
			body = "{}"
		}
		for _, tok := range below[rt.Role] {
			r := e.call(tok, rt.Method, concretePath(rt.Path), body)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403\n%s", rt.Method, rt.Path, tok, r.Status, r.Body)
				continue
			}
			r.wantError(t, http.StatusForbidden, "forbidden", "")
			checked[rt.Role]++
		}
	}
	if checked[httpapi.RoleAgent] == 0 || checked[httpapi.RoleAdmin] == 0 {
		t.Fatalf("checked %v: the route table has no agent or no admin routes", checked)
	}
	if e.head() != before {
		t.Error("a forbidden request wrote the ledger")
	}
}
