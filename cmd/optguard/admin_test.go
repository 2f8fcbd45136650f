package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/testenv"
)

// writeSelfSigned writes testenv.SelfSignedTLS's certificate and key as PEM
// files in a temporary directory, and returns them with a client
// configuration that trusts the certificate.
func writeSelfSigned(t *testing.T) (tlsFiles config.AdminTLS, client *tls.Config) {
	t.Helper()
	server, client := testenv.SelfSignedTLS(t)
	cert := server.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tlsFiles = config.AdminTLS{CertFile: filepath.Join(dir, "admin.crt"), KeyFile: filepath.Join(dir, "admin.key")}
	if err := os.WriteFile(tlsFiles.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tlsFiles.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tlsFiles, client
}

// fetch GETs url with client and returns the status and body.
func fetch(t *testing.T, client *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// checkHTTPSOnly checks that addr answers /healthz "ok" over HTTPS to a
// client trusting the certificate, and nothing to plain HTTP or to a client
// that does not trust it.
func checkHTTPSOnly(t *testing.T, addr string, trusted *tls.Config) {
	t.Helper()
	https := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: trusted}}
	defer https.CloseIdleConnections()
	if code, body, err := fetch(t, https, "https://"+addr+"/healthz"); err != nil || code != http.StatusOK || body != "ok\n" {
		t.Errorf("HTTPS /healthz = %d %q %v, want 200 \"ok\\n\"", code, body, err)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if code, body, err := fetch(t, plain, "http://"+addr+"/healthz"); err == nil && code != http.StatusBadRequest {
		// Go's TLS server answers a plain HTTP request with 400 at most.
		t.Errorf("plain HTTP /healthz = %d %q, want an error or 400", code, body)
	} else if strings.Contains(body, "ok") {
		t.Errorf("plain HTTP /healthz answered %q", body)
	}
	untrusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	if _, _, err := fetch(t, untrusting, "https://"+addr+"/healthz"); err == nil {
		t.Error("a client that does not trust the certificate got an answer")
	}
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trusted.RootCAs, ServerName: trusted.ServerName, MaxVersion: tls.VersionTLS11}}}
	if _, _, err := fetch(t, old, "https://"+addr+"/healthz"); err == nil {
		t.Error("a TLS 1.1 client got an answer")
	}
}

// TestAdminTLS: with admin.tls set the listener serves HTTPS only, says so,
// and a handler mounted with Handle is served on it.
func TestAdminTLS(t *testing.T) {
	files, client := writeSelfSigned(t)
	var logs syncBuffer
	a, err := startAdmin(config.Admin{Address: "127.0.0.1:0", TLS: files}, prometheus.NewRegistry(), zerolog.New(&logs), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer a.shutdown(context.Background())
	if !strings.Contains(logs.String(), "admin HTTPS listening") {
		t.Errorf("log does not say HTTPS:\n%s", logs.String())
	}
	a.Handle("GET /api/ping", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("pong"))
	}))
	addr := a.ln.Addr().String()
	checkHTTPSOnly(t, addr, client)
	// The refused handshakes are logged at debug, through zerolog.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s := logs.String()
		if strings.Contains(s, `{"level":"debug","message":"admin listener: http: TLS handshake error`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no debug log of a refused handshake:\n%s", s)
		}
	}

	https := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: client}}
	defer https.CloseIdleConnections()
	if code, body, err := fetch(t, https, "https://"+addr+"/api/ping"); err != nil || code != http.StatusOK || body != "pong" {
		t.Errorf("mounted /api/ping = %d %q %v", code, body, err)
	}
	if code, _, err := fetch(t, https, "https://"+addr+"/metrics"); err != nil || code != http.StatusOK {
		t.Errorf("/metrics over HTTPS = %d %v", code, err)
	}
}

// TestAdminPlainHTTP: without admin.tls the listener serves plain HTTP and
// says so; Handle mounts there too.
func TestAdminPlainHTTP(t *testing.T) {
	var logs syncBuffer
	a, err := startAdmin(config.Admin{Address: "127.0.0.1:0"}, prometheus.NewRegistry(), zerolog.New(&logs), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer a.shutdown(context.Background())
	if s := logs.String(); !strings.Contains(s, "admin HTTP listening") {
		t.Errorf("log does not say HTTP:\n%s", s)
	}
	a.Handle("/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	base := "http://" + a.ln.Addr().String()
	if body := get(t, base+"/healthz", http.StatusOK); body != "ok\n" {
		t.Errorf("/healthz = %q", body)
	}
	if body := get(t, base+"/openapi.json", http.StatusOK); body != "{}" {
		t.Errorf("/openapi.json = %q", body)
	}
}

// TestAdminTLSBadFiles: a certificate or key that does not load is an error
// naming both keys, and nothing listens.
func TestAdminTLSBadFiles(t *testing.T) {
	files, _ := writeSelfSigned(t)
	other, _ := writeSelfSigned(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]config.AdminTLS{
		"missing key":    {CertFile: files.CertFile, KeyFile: filepath.Join(t.TempDir(), "none.key")},
		"mismatched key": {CertFile: files.CertFile, KeyFile: other.KeyFile},
		"not PEM":        {CertFile: garbage, KeyFile: files.KeyFile},
	} {
		a, err := startAdmin(config.Admin{Address: "127.0.0.1:0", TLS: tc}, prometheus.NewRegistry(), zerolog.Nop(), func() error { return nil })
		if err == nil {
			a.shutdown(context.Background())
			t.Errorf("%s: startAdmin succeeded", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "admin.tls.cert_file "+tc.CertFile) || !strings.Contains(msg, "admin.tls.key_file "+tc.KeyFile) || strings.Contains(msg, "listen.tls") {
			t.Errorf("%s: error %q does not name admin.tls.cert_file and key_file (only)", name, msg)
		}
	}
}

// TestServeAdminTLS: optguard serve with admin.tls set serves /healthz over
// HTTPS only.
func TestServeAdminTLS(t *testing.T) {
	files, client := writeSelfSigned(t)
	cfg := loopbackConfig(t)
	cfg.Admin.TLS = files
	p, logs, stop := serveInTest(t, cfg)
	if !strings.Contains(logs.String(), "admin HTTPS listening") {
		t.Errorf("log does not say the admin listener is HTTPS:\n%s", logs.String())
	}
	checkHTTPSOnly(t, p.admin.ln.Addr().String(), client)
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// A SIGHUP reads the certificate files again: a renewed certificate
// written over the old one serves the next handshake without a restart,
// and files that no longer load leave the one in use.
func TestServeReloadsItsCertificate(t *testing.T) {
	files, oldClient := writeSelfSigned(t)
	cfg := loopbackConfig(t)
	cfg.Admin.TLS = files
	p, logs, stop := serveInTest(t, cfg)
	defer stop()
	addr := p.admin.ln.Addr().String()
	checkHTTPSOnly(t, addr, oldClient)

	renewed, newClient := writeSelfSigned(t)
	for _, f := range [][2]string{{renewed.CertFile, files.CertFile}, {renewed.KeyFile, files.KeyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.reloadCerts()
	if !strings.Contains(logs.String(), "SIGHUP: certificate reloaded") {
		t.Errorf("the reload does not say it took the new certificate:\n%s", logs.String())
	}
	checkHTTPSOnly(t, addr, newClient)
	stale := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: oldClient}}
	if _, _, err := fetch(t, stale, "https://"+addr+"/healthz"); err == nil {
		t.Error("a client trusting only the old certificate still connects after the reload")
	}

	if err := os.WriteFile(files.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.reloadCerts()
	if !strings.Contains(logs.String(), "the certificate in use stays") {
		t.Errorf("a key file that does not load is not reported:\n%s", logs.String())
	}
	checkHTTPSOnly(t, addr, newClient)
}

// TestServeAdminTLSRefusesBadCertificate: serve does not start when the
// admin certificate does not load, and says which keys to fix.
func TestServeAdminTLSRefusesBadCertificate(t *testing.T) {
	files, _ := writeSelfSigned(t)
	other, _ := writeSelfSigned(t)
	cfg := config.Default()
	cfg.Listen.Address = "127.0.0.1:0"
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Admin.TLS = config.AdminTLS{CertFile: files.CertFile, KeyFile: other.KeyFile}
	cfg.Data.Dir = t.TempDir()
	cfg.Log.Format = config.LogFormatJSON
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx := testenv.Context(t, 10*time.Second)
	err := serve(ctx, cfg, newLogger(&logs, cfg.Log), func(*proxy) { t.Error("serve started") })
	if err == nil || !strings.Contains(err.Error(), "admin.tls.cert_file") || !strings.Contains(err.Error(), "admin.tls.key_file") {
		t.Errorf("serve = %v, want an error naming admin.tls.cert_file and key_file", err)
	}
}
