package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/optguard/optguard/testenv"
)

// The console's browser tests: headless Chromium, driven over the
// DevTools protocol, uses the console of a live optguard (the proxy, the
// testenv SMSC simulator, the admin listener) as an operator would, while
// the test sends SMPP traffic through the proxy. Each test checks what the
// page shows against what crossed the wires and what the API says.

var screenshots = flag.Bool("screenshots", false, "write the console's screenshots to docs/console (they go to a temporary directory otherwise)")

// chromium finds the browser: $OPTGUARD_CHROMIUM, or chromium (Debian's
// package) and its other names on PATH. Without one the test is skipped,
// unless OPTGUARD_REQUIRE_CHROMIUM is set (CI sets it, having installed
// chromium), which makes a missing browser a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("OPTGUARD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium to run the console's browser tests: install Debian's chromium package (apt-get install chromium) or set OPTGUARD_CHROMIUM to a Chromium binary"
	if os.Getenv("OPTGUARD_REQUIRE_CHROMIUM") != "" {
		t.Fatal(msg + " (OPTGUARD_REQUIRE_CHROMIUM is set, so this is a failure)")
	}
	t.Skip(msg)
	return ""
}

// browserTab is one tab of a headless Chromium on the console of a.
type browserTab struct {
	t         *testing.T
	a         *apiEnv
	ctx       context.Context // the tab's, ending with the test's deadline
	host      string          // the admin listener's host:port
	downloads string

	mu        sync.Mutex
	requests  []string            // every URL the tab requested, in order
	responses map[string][]string // URL → its Content-Security-Policy headers (one per response)
	problems  []string            // exceptions, console errors, CSP violations
}

// stepTimeout bounds one browser step; testTimeout the whole tab.
const (
	stepTimeout = 15 * time.Second
	testTimeout = 100 * time.Second
)

// openConsole starts Chromium and opens the console of a. The browser
// resolves no host but the loopback one (host-resolver-rules), so nothing
// a page might ask for could leave the machine; the test checks it asks
// for nothing else anyway.
func openConsole(t *testing.T, a *apiEnv) *browserTab {
	t.Helper()
	path := chromium(t)
	// The live environment's context (a.mo, a.waitSubmit) is as long as
	// the browser's.
	a.ctx = testenv.Context(t, testTimeout)
	u, err := url.Parse(a.base)
	if err != nil {
		t.Fatal(err)
	}
	b := &browserTab{t: t, a: a, host: u.Host, downloads: t.TempDir(), responses: map[string][]string{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline of its own
		t.Fatalf("starting %s: %v", path, err)
	}
	tctx, cancel := context.WithTimeout(ctx, testTimeout)
	t.Cleanup(cancel)
	b.ctx = tctx
	if err := chromedp.Listen(ctx, b.observe); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			text := m.Text
			// A 4xx of the API is a console log line too (a refusal the
			// page shows); CSP violations, exceptions and the page's own
			// errors are problems.
			if m.IsException() || m.Type == chromedp.ConsoleError && !strings.Contains(text, "Failed to load resource") ||
				strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Refused to") {
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+text+" at "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page reported: %s", p)
		}
		// Nothing the console asked for left the admin listener.
		for _, r := range b.requests {
			if !b.local(r) {
				t.Errorf("the console requested %s, which is not on the admin listener %s", r, b.host)
			}
		}
	})
	_, err = chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads})
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(a.base + "/console/"))
	b.waitVisible("#token")
	return b
}

// observe records the tab's requests and the CSP of their responses. It
// runs in the tab's event loop: it only takes notes.
func (b *browserTab) observe(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *network.EventResponseReceived:
		csp := ""
		for k, v := range ev.Response.Headers {
			if strings.EqualFold(k, "Content-Security-Policy") {
				csp = fmt.Sprint(v)
			}
		}
		b.responses[ev.Response.URL] = append(b.responses[ev.Response.URL], csp)
	}
}

// local reports whether the request URL u is the admin listener's: a
// blob: URL (a download the page made) is local when its origin is, and
// a data: URL (the browser's own icon of a date field) carries its
// content in itself.
func (b *browserTab) local(u string) bool {
	if strings.HasPrefix(u, "data:") {
		return true
	}
	p, err := url.Parse(strings.TrimPrefix(u, "blob:"))
	return err == nil && p.Scheme == "http" && p.Host == b.host
}

// step is a context for one step of the test.
func (b *browserTab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

func (b *browserTab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("browser step: %v", err)
	}
}

// fail stops the test with what the page shows, for the log.
func (b *browserTab) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		f := filepath.Join(os.TempDir(), "optguard-console-failure-"+strings.ReplaceAll(b.t.Name(), "/", "_")+".png")
		if os.WriteFile(f, png, 0o644) == nil {
			b.t.Logf("screenshot of the failure: %s", f)
		}
	}
	b.t.Fatalf(format+"\npage %s shows:\n%s", append(args, loc, text)...)
}

func (b *browserTab) waitVisible(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *browserTab) click(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// typeIn replaces the text of the input sel with text, as typed.
func (b *browserTab) typeIn(sel, text string) {
	b.t.Helper()
	b.waitVisible(sel)
	b.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = ''; return el.value === '' })()`, sel))
	b.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// choose selects value in the <select> sel, as a person would (its
// change event fires).
func (b *browserTab) choose(sel, value string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === %q })()`, sel, value, value))
}

func (b *browserTab) key(keys string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys))
}

// eval runs js in the page, which must yield true.
func (b *browserTab) eval(js string) {
	b.t.Helper()
	if !evalAs[bool](b, js) {
		b.fail("in the page, %s is false", js)
	}
}

func evalAs[T any](b *browserTab, js string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.fail("evaluating %s: %v", js, err)
	}
	return v
}

func (b *browserTab) text(sel string) string {
	b.t.Helper()
	return evalAs[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel))
}

// waitText waits until the text of sel contains every one of want.
func (b *browserTab) waitText(sel string, want ...string) string {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		got := b.text(sel)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			b.fail("%s never showed %q; it shows:\n%s", sel, missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signIn signs in with token and waits for the first page.
func (b *browserTab) signIn(token string) {
	b.t.Helper()
	b.typeIn("#token", token)
	b.click("#signin-button")
	b.waitText("#who", token)
}

// open goes to the console route hash (#/dnc) and waits for its title.
func (b *browserTab) open(hash, title string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { location.hash = %q; return true })()`, hash))
	b.waitText("#page h1", title)
}

// shot takes a screenshot of the whole page as name.png: into
// docs/console with -screenshots, else into a temporary directory (the
// test still checks that it is a PNG).
func (b *browserTab) shot(name string) {
	b.t.Helper()
	b.screenshot(name, chromedp.FullScreenshot(100))
}

// shotDialog takes a screenshot of what the window shows: an open
// dialog over its backdrop.
func (b *browserTab) shotDialog(name string) {
	b.t.Helper()
	b.screenshot(name, chromedp.CaptureScreenshot())
}

func (b *browserTab) screenshot(name string, take chromedp.Action[[]byte]) {
	b.t.Helper()
	// The announcement in the corner has been read by the test; it would
	// hide what is under it.
	b.eval(`(document.getElementById('status').textContent = '', true)`)
	time.Sleep(150 * time.Millisecond) // let the layout settle
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, take)
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		b.t.Fatalf("screenshot %s is not a PNG", name)
	}
	dir := b.t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "docs", "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// download waits for the file name to arrive in the downloads directory
// and returns its bytes.
func (b *browserTab) download(name string) []byte {
	b.t.Helper()
	p := filepath.Join(b.downloads, name)
	deadline := time.Now().Add(stepTimeout)
	for {
		body, err := os.ReadFile(p)
		if err == nil {
			if _, err := os.Stat(p + ".crdownload"); errors.Is(err, os.ErrNotExist) {
				return body
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(b.downloads)
			b.fail("no download %s; the directory has %v", name, entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tabThrough presses Tab until the focus comes round to the first control
// it reached again (at most limit presses) and returns the keys
// (markActions) of the controls it reached. A date input takes several
// presses (one per part of the date), so a control may repeat before the
// round is done.
func (b *browserTab) tabThrough(limit int) map[string]bool {
	b.t.Helper()
	seen := map[string]bool{}
	first, last := "", ""
	for i := 0; i < limit; i++ {
		b.key(kb.Tab)
		k := evalAs[string](b, `document.activeElement ? (document.activeElement.dataset.kbd || '') : ''`)
		if k == "" {
			continue
		}
		if k == first && last != first {
			break
		}
		if first == "" {
			first = k
		}
		seen[k], last = true, k
	}
	return seen
}

// markActions gives every visible, enabled control of the page a key
// (data-kbd) and returns the keys with a description of each.
func (b *browserTab) markActions() map[string]string {
	b.t.Helper()
	return evalAs[map[string]string](b, `(() => {
		const out = {};
		let i = 0;
		for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')) {
			if (el.disabled || el.closest('[hidden]') || el.getAttribute('tabindex') === '-1' || el.offsetParent === null && el.tagName !== 'SUMMARY') continue;
			// What a closed fold holds is not shown, so not in the Tab order; its summary is.
			const own = el.tagName === 'SUMMARY' ? el.parentElement : null;
			const from = own ? own.parentElement : el.parentElement;
			if (from && from.closest('details:not([open])')) continue;
			if (el.getClientRects().length === 0) continue;
			el.dataset.kbd = String(++i);
			out[el.dataset.kbd] = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.innerText || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40);
		}
		return out;
	})()`)
}

// upload chooses the file at path in the file input sel.
func (b *browserTab) upload(sel, path string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetUploadFiles(chromedp.CSS(sel), []string{path}))
}

// focus puts the keyboard focus on sel, as Tab would (the test has
// already seen Tab reach it).
func (b *browserTab) focus(sel string) {
	b.t.Helper()
	b.waitVisible(sel)
	b.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); return document.activeElement === el })()`, sel))
}

// chromedpKeys types keys into what has the focus.
func chromedpKeys(keys string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(keys) }

// chromedpShiftTab moves the focus backwards.
func chromedpShiftTab() chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
}

// until waits for js to yield true in the page: for what happens after an
// event the page handles later (a dialog's close).
func (b *browserTab) until(js string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !evalAs[bool](b, js) {
		if time.Now().After(deadline) {
			b.fail("in the page, %s stayed false", js)
		}
		time.Sleep(30 * time.Millisecond)
	}
}
