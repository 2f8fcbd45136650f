package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/optguard/optguard/policy/httpapi/console"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, console.Handler())
	mux.Handle(strings.TrimSuffix(console.Prefix, "/"), console.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// wantHeaders checks the security headers every console response has.
func wantHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Security-Policy": console.CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
}

// Every file, and every other answer (redirect, 404, 405, 304), has the
// strict CSP and the other security headers; each file its right type.
func TestEveryResponseHasTheSecurityHeaders(t *testing.T) {
	srv := serve(t)
	files := console.Files()
	for _, want := range []string{"index.html", "console.css", "js/main.js", "js/api.js", "icon.svg"} {
		if !slices.Contains(files, want) {
			t.Errorf("the console does not serve %s (it has %q)", want, files)
		}
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
		".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, f := range files {
		resp, body := get(t, "GET", srv.URL+console.Prefix+f, nil)
		if resp.StatusCode != http.StatusOK || body == "" {
			t.Errorf("GET %s: %d, %d bytes", f, resp.StatusCode, len(body))
		}
		wantHeaders(t, f, resp)
		ext := f[strings.LastIndex(f, "."):]
		if got := resp.Header.Get("Content-Type"); got != types[ext] {
			t.Errorf("%s: Content-Type %q, want %q", f, got, types[ext])
		}
		// The browser revalidates and gets 304 while the file is the same.
		etag := resp.Header.Get("ETag")
		again, _ := get(t, "GET", srv.URL+console.Prefix+f, http.Header{"If-None-Match": {etag}})
		if etag == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q, revalidation %d; want 304", f, etag, again.StatusCode)
		}
		wantHeaders(t, f+" (304)", again)
	}

	resp, body := get(t, "GET", srv.URL+console.Prefix, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<script type="module" src="js/main.js">`) {
		t.Errorf("GET %s: %d, not index.html", console.Prefix, resp.StatusCode)
	}
	wantHeaders(t, console.Prefix, resp)

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/console", http.StatusMovedPermanently},
		{"GET", "/console/js/", http.StatusNotFound}, // no directory listing
		{"GET", "/console/js", http.StatusNotFound},
		{"GET", "/console/nope.html", http.StatusNotFound},
		{"POST", "/console/index.html", http.StatusMethodNotAllowed},
		{"HEAD", "/console/console.css", http.StatusOK},
	} {
		resp, _ := get(t, tc.method, srv.URL+tc.path, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		wantHeaders(t, tc.method+" "+tc.path, resp)
	}
	if resp, _ := get(t, "GET", srv.URL+"/console", nil); resp.Header.Get("Location") != console.Prefix {
		t.Errorf("/console redirects to %q", resp.Header.Get("Location"))
	}
}

// The CSP forbids inline script and style and eval; the files keep to it,
// and build the page from the API's data without parsing it as HTML.
func TestTheFilesKeepToTheCSP(t *testing.T) {
	srv := serve(t)
	checks := []struct {
		files string // extension
		bad   *regexp.Regexp
		why   string
	}{
		{".html", regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`), "an inline script"},
		{".html", regexp.MustCompile(`(?i)\sstyle\s*=`), "an inline style attribute"},
		{".html", regexp.MustCompile(`(?i)<style`), "an inline stylesheet"},
		{".html", regexp.MustCompile(`(?i)\son[a-z]+\s*=`), "an inline event handler"},
		{".html", regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`), "a resource from another origin"},
		{".css", regexp.MustCompile(`(?i)@import|url\(\s*['"]?(?:https?:)?//`), "a stylesheet or font from elsewhere"},
		{".js", regexp.MustCompile(`\beval\s*\(|new\s+Function\s*\(|setTimeout\(\s*['"]`), "eval or code from a string"},
		{".js", regexp.MustCompile(`\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write`), "HTML parsed from a string"},
		{".js", regexp.MustCompile(`setAttribute\(\s*['"]style['"]|\.style\s*=`), "an inline style"},
		{".js", regexp.MustCompile(`(?:fetch|import)\(\s*['"](?:https?:)?//`), "a request to another origin"},
		{".js", regexp.MustCompile(`localStorage|document\.cookie`), "the token kept beyond the tab (sessionStorage only)"},
	}
	scriptTag := regexp.MustCompile(`(?i)<script[^>]*>`)
	for _, f := range console.Files() {
		_, body := get(t, "GET", srv.URL+console.Prefix+f, nil)
		for _, tag := range scriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="`) {
				t.Errorf("%s has a script without src: %s", f, tag)
			}
		}
		for _, c := range checks {
			if strings.HasSuffix(f, c.files) {
				if m := c.bad.FindString(body); m != "" {
					t.Errorf("%s has %s: %q", f, c.why, m)
				}
			}
		}
	}
}
