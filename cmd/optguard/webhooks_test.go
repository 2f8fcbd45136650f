package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// serve refuses an events list with a name that is neither a group nor
// an event type, naming the file, line and entry.
func TestServeRefusesBadWebhookEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad-events.yaml")
	yaml := "webhooks:\n  endpoints:\n    - name: crm\n      url: https://crm.example/hook\n      secret: " + hookSecret + "\n      events:\n        - consent_changes\n        - stops\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runServe([]string{"-config", path, "-listen", "127.0.0.1:0", "-admin", "off", "-data", t.TempDir()}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d; want 2 (stderr %q)", code, stderr.String())
	}
	for _, w := range []string{"bad-events.yaml:8: webhooks.endpoints[0].events[1]: unknown event \"stops\"", "opted_out"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr %q lacks %q", stderr.String(), w)
		}
	}
	if strings.Contains(stderr.String(), hookSecret) {
		t.Error("the error shows the secret")
	}
}

// The webhooks run in a live optguard: an opt-out over SMPP reaches the
// receiver, and the admin listener shows the endpoint through the API and
// in /metrics. A SIGHUP applies a changed webhooks section.
func TestLiveWebhooks(t *testing.T) {
	r := newHookReceiver(t, 0)
	sim := recordingSMSC(t)
	cfg := consentConfig(t, sim, apiOrgs, t.TempDir())
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Admin.Tokens = apiTestTokens
	cfg.Webhooks.Endpoints = []config.WebhookEndpoint{{Name: "crm", URL: r.srv.URL, Secret: hookSecret}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := &apiEnv{consentEnv: startWith(t, sim, cfg)}
	a.base = "http://" + a.p.admin.ln.Addr().String()
	a.esme("acme", pdu.BindTransceiver)
	if st := a.mo("acme", "STOP"); st != pdu.ESME_ROK {
		t.Fatalf("STOP answered %v", st)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return r.distinct() == 1 }, "the opt-out at the receiver")
	if e := r.events()[0]; e.Type != "opted_out" {
		t.Errorf("the receiver got %+v", e)
	}
	r.mu.Lock()
	if r.badSigs != 0 {
		t.Errorf("%d requests did not verify", r.badSigs)
	}
	r.mu.Unlock()
	out := a.ok("globex.auditor", "GET", "/api/v1/webhooks", nil)
	if items := out["items"].([]any); len(items) != 0 {
		t.Errorf("a globex token sees %v; the endpoint gets every account's events", items)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		items := a.ok("compliance", "GET", "/api/v1/webhooks", nil)["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["delivered"] == 1.0
	}, "the API shows the delivery")
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(metrics), `optguard_webhook_delivered_events_total{endpoint="crm"} 1`) {
		t.Errorf("/metrics lacks the delivery:\n%s", metrics)
	}

	// A SIGHUP applies a changed webhooks section at once, binds up: a
	// new endpoint gets the next opt-out, and crm goes on from its cursor.
	r2 := newHookReceiver(t, 0)
	r2.endpoint = "warehouse"
	path := filepath.Join(t.TempDir(), "optguard.yaml")
	file := apiOrgs + "admin:\n  tokens:\n    - name: compliance\n      role: admin\n      sha256: " + config.TokenHash("compliance") + "\n" +
		"webhooks:\n  endpoints:\n" +
		"    - name: crm\n      url: " + r.srv.URL + "\n      secret: " + hookSecret + "\n" +
		"    - name: warehouse\n      url: " + r2.srv.URL + "\n      secret: " + hookSecret + "\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if a.p.reload(path, "") == nil {
		t.Fatalf("reload refused:\n%s", a.logs.String())
	}
	if !strings.Contains(a.logs.String(), "webhooks reloaded") {
		t.Errorf("the reload does not say it applied the webhooks:\n%s", a.logs.String())
	}
	a.moFrom("acme", "15551230002", "STOP")
	testenv.Eventually(t, 10*time.Second, func() bool { return r.distinct() == 2 && r2.distinct() == 1 }, "the second opt-out at both receivers")
	if e := r2.events()[0]; e.Type != "opted_out" || e.ID == r.events()[0].ID {
		t.Errorf("the new endpoint got %+v; want only the opt-out after the reload", e)
	}
	if items := a.ok("compliance", "GET", "/api/v1/webhooks", nil)["items"].([]any); len(items) != 2 {
		t.Errorf("the API shows %d endpoints after the reload; want 2", len(items))
	}
	// A bad secret file refuses the whole reload; the endpoints stay.
	bad := strings.Replace(file, "      secret: "+hookSecret+"\n    - name: warehouse", "      secret_file: /nonexistent/secret\n    - name: warehouse", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if a.p.reload(path, "") != nil || !strings.Contains(a.logs.String(), "webhooks.endpoints[0].secret_file") {
		t.Fatalf("a reload with a missing secret file was not refused by its key:\n%s", a.logs.String())
	}
	if n := len(a.p.hooks.Endpoints()); n != 2 {
		t.Errorf("%d endpoints run after the refused reload; want the 2 before it", n)
	}

	b := *cfg
	b.Webhooks.RetryMax = config.Duration(time.Hour)
	if got := restartSections(cfg, &b); len(got) != 0 {
		t.Errorf("restartSections = %q; want none: a reload applies the webhooks", got)
	}
}
