package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// syncBuffer is a log sink the test can read while serve writes to it.
type syncBuffer = testenv.LogBuffer

// TestServeWithBuiltInSimulator runs what `optguard serve` runs with no
// configuration (but on free ports and a temporary data directory): a bind
// relays to the built-in simulator, the admin listener answers, and a canceled
// context shuts everything down.
func TestServeWithBuiltInSimulator(t *testing.T) {
	cfg := loopbackConfig(t)
	p, logs, stop := serveInTest(t, cfg)
	if !strings.Contains(logs.String(), "built-in SMSC simulator") {
		t.Errorf("no log line says the built-in simulator is in use:\n%s", logs.String())
	}

	tctx := testenv.Context(t, 5*time.Second)
	e, err := testenv.DialESME(tctx, p.addr(), testenv.ESMEConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st, err := e.Bind(tctx, pdu.BindTransceiver, "acme", "secret"); err != nil || st != pdu.ESME_ROK {
		t.Fatalf("bind: %v %v", st, err)
	}
	r, err := e.Submit(tctx, &pdu.SM{Dest: pdu.Addr{TON: 1, NPI: 1, Addr: "15552223333"}, RegisteredDelivery: 1, ShortMessage: []byte("hello")})
	if err != nil || r.Header.Status != pdu.ESME_ROK || r.MessageID == "" {
		t.Fatalf("submit: %v %q %v", r.Header.Status, r.MessageID, err)
	}
	// The simulator's receipt comes back through the proxy.
	dlr, err := e.NextDeliver(tctx)
	if err != nil {
		t.Fatalf("no receipt: %v", err)
	}
	var m pdu.Message
	if err := pdu.Scan(dlr, &m); err != nil || !m.IsReceipt() {
		t.Fatalf("not a receipt: %v % x", err, dlr)
	}
	if v, _, ok := pdu.ReceiptField(m.ShortMessage, "id"); !ok || string(v) != r.MessageID {
		t.Errorf("receipt %q does not name message %s", m.ShortMessage, r.MessageID)
	}

	admin := "http://" + p.admin.ln.Addr().String()
	if body := get(t, admin+"/healthz", http.StatusOK); body != "ok\n" {
		t.Errorf("/healthz = %q", body)
	}
	metrics := get(t, admin+"/metrics", http.StatusOK)
	for _, want := range []string{
		`optguard_pdus_total{command="submit_sm",direction="in",leg="downstream",status=""} 1`,
		`optguard_binds{bind="transceiver"} 1`,
		`optguard_store_consent_records{state="opted_out"} 0`,
		`optguard_message_log_items_total{result="dropped"} 0`,
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(time.Second):
		t.Error("the ESME was still connected after shutdown")
	}
	for _, sub := range []string{"consent", "log"} {
		if st, err := os.Stat(filepath.Join(cfg.Data.Dir, sub)); err != nil || !st.IsDir() {
			t.Errorf("data.dir has no %s/ database: %v", sub, err)
		}
	}
	for _, want := range []string{"store opened", "shutting down", "optguard stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, b)
	}
	return string(b)
}

func TestServeRejectsBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "optguard.yaml")
	os.WriteFile(bad, []byte("listen:\n  address: \":2775\"\nsession:\n  windw: 10\n"), 0o600)
	invalid := filepath.Join(dir, "invalid.yaml")
	os.WriteFile(invalid, []byte("session:\n  window: 0\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-config", bad}, []string{"optguard.yaml:4", "session.windw"}},
		{[]string{"-config", invalid}, []string{"invalid.yaml:2", "session.window"}},
		{[]string{"-config", filepath.Join(dir, "missing.yaml")}, []string{"missing.yaml"}},
		{[]string{"-listen", "not-an-address"}, []string{"listen.address"}},
		{[]string{"-bogus"}, []string{"flag provided but not defined: -bogus"}},
		{[]string{"extra"}, []string{`unexpected argument "extra"`}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"serve"}, tc.args...), &stdout, &stderr); code != 2 {
			t.Errorf("serve %v: exit %d, want 2", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("serve %v: stderr %q lacks %q", tc.args, stderr.String(), w)
			}
		}
	}
}

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "optguard ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut.String())
	}
	if code := run(nil, &out, &errOut); code != 2 {
		t.Errorf("no command: %d", code)
	}
	errOut.Reset()
	if code := run([]string{"bench"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-target") {
		t.Errorf("bench without a target: %d %q", code, errOut.String())
	}
}

// TestBenchBaseline runs a short `optguard bench -baseline` and checks that it
// measured all four targets, printed the comparison and a progress line a
// second, and wrote the report with the side-by-side ratios.
func TestBenchBaseline(t *testing.T) {
	var out, errOut bytes.Buffer
	report := filepath.Join(t.TempDir(), "baseline.json")
	code := run([]string{"bench", "-baseline", "-duration", "1s", "-warmup", "100ms", "-rounds", "1", "-binds", "2", "-window", "32", "-report", report}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, target := range []string{"direct", "relay", "proxy", "policy"} {
		if !strings.Contains(errOut.String(), "round 1 "+target+" ") {
			t.Errorf("no progress line of %s:\n%s", target, errOut.String())
		}
	}
	var rep struct {
		Runs     []struct{ Name string } `json:"runs"`
		Baseline *struct {
			ProxyRelay       float64   `json:"proxy_relay"`
			ProxyRelayRounds []float64 `json:"proxy_relay_rounds"`
		} `json:"baseline"`
	}
	if data, err := os.ReadFile(report); err != nil || json.Unmarshal(data, &rep) != nil || len(rep.Runs) != 4 ||
		rep.Baseline == nil || rep.Baseline.ProxyRelay <= 0 || len(rep.Baseline.ProxyRelayRounds) != 1 {
		t.Fatalf("report %+v (%v)", rep, err)
	}
	for _, want := range []string{" direct ", " relay ", " proxy ", "proxy/relay throughput:", "added by the proxy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "round 1 ") {
		t.Errorf("a run reported errors:\n%s", out.String())
	}
}

// TestServeNeedsItsKeyFile: serve makes the key file at its first start
// and refuses to start without it later, naming the key that says where it
// is; with the file named by -key-file it starts again.
func TestServeNeedsItsKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	seedStore(t, dir) // the store's first open made data/optguard.key
	saved := filepath.Join(t.TempDir(), "saved.key")
	if err := os.Rename(filepath.Join(dir, store.KeyFileName), saved); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"serve", "-data", dir, "-listen", "127.0.0.1:0", "-admin", "off", "-upstream", "127.0.0.1:1"}
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Fatalf("serve without the key file: exit %d, want 1\n%s", code, stderr.String())
	}
	for _, w := range []string{"wrong or missing key file", "restore that key file", "data.key_file"} {
		if !strings.Contains(stdout.String(), w) { // the log
			t.Errorf("log %q lacks %q", stdout.String(), w)
		}
	}
	cfg := config.Default()
	cfg.Listen.Address, cfg.Admin.Address, cfg.Upstream.Default.Address = "127.0.0.1:0", "", "127.0.0.1:1"
	cfg.Data.Dir, cfg.Data.KeyFile = dir, saved
	p, err := start(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("start with the saved key file: %v", err)
	}
	p.stop()
}

// loopbackConfig is the default configuration on free loopback ports, with
// a temporary data directory and JSON logs.
func loopbackConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Listen.Address = "127.0.0.1:0"
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Data.Dir = t.TempDir()
	cfg.Log.Format = config.LogFormatJSON
	return cfg
}

// serveInTest validates cfg and runs what `optguard serve` runs with it
// until stop, which cancels it and returns serve's error (or that it did
// not stop in time).
func serveInTest(t *testing.T, cfg *config.Config) (p *proxy, logs *syncBuffer, stop func() error) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *proxy, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, newLogger(logs, cfg.Log), func(p *proxy) { started <- p }) }()
	select {
	case p = <-started:
	case err := <-served:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	return p, logs, func() error {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				return fmt.Errorf("serve returned %w", err)
			}
			return nil
		case <-time.After(15 * time.Second):
			return errors.New("serve did not stop")
		}
	}
}

// serve -h says what the command does and what its signals do, before
// the flags.
func TestServeHelpNamesItsSignals(t *testing.T) {
	var stdout, stderr bytes.Buffer
	runServe([]string{"-h"}, &stdout, &stderr)
	for _, w := range []string{"usage: optguard serve", "SIGHUP reloads", "webhooks", "SIGTERM", "-upstream address"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("serve -h lacks %q:\n%s", w, stderr.String())
		}
	}
}
