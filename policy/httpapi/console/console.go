package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is mounted on the admin listener.
const Prefix = "/console/"

// CSP is the Content-Security-Policy of every console response: the
// pages load scripts and styles from this origin only (no inline code,
// no eval), fetch only this origin (the operator API next to them), may
// not be framed, and submit no form anywhere (forms are handled by
// script).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// file is one embedded asset, read once.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// files are the embedded assets by their path under Prefix, read once.
var files = sync.OnceValue(func() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ctype = "text/javascript; charset=utf-8" // whatever the system's MIME table says
		}
		out[strings.TrimPrefix(p, "assets/")] = file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: reading the embedded files: " + err.Error()) // they are compiled in: this cannot fail
	}
	return out
})

// Files lists the paths the console serves under Prefix, sorted: its
// pages, stylesheet, scripts and icon.
func Files() []string {
	return slices.Sorted(maps.Keys(files()))
}

// Handler serves the console's files under Prefix: Prefix itself is
// index.html, and Prefix without its slash redirects there. Only the
// embedded files are served (no directory listings); any other path is
// 404, and every answer, errors included, has the security headers.
func Handler() http.Handler {
	files := files()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if name == "" {
			name = "index.html"
		}
		f, found := files[name]
		if !ok || !found {
			http.Error(w, "404 not found: the console's pages are under "+Prefix, http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed: the console's files are read with GET", http.StatusMethodNotAllowed)
			return
		}
		// The files change only with the binary: the browser revalidates
		// each (no-cache) and gets 304 while the ETag still matches.
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}
