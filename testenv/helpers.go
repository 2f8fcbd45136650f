package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Eventually polls cond every 5 ms until it returns true, and fails the test
// (t.Fatal) with the message when timeout passes first. msgAndArgs is an
// optional format string and its arguments. Call it from the test's goroutine.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: condition not met within %s: %s", timeout, message(msgAndArgs))
		}
		<-tick.C
	}
}

func message(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "(no message)"
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}

// LeakOptions are the goleak options VerifyNoLeaks uses: besides goleak's own
// defaults, they ignore goroutines of the testing package that wait for
// parallel tests. Pass them to goleak.VerifyTestMain in a TestMain.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("testing.(*T).Parallel"),
		goleak.IgnoreTopFunction("testing.(*testState).waitParallel"),
		goleak.IgnoreTopFunction("testing.tRunner.func1"),
	}
}

// VerifyNoLeaks fails the test if goroutines other than the runtime's and the
// testing package's are still running (goleak retries for a while, so
// goroutines that are ending get the time to end). It sees every goroutine of
// the process: call it at the end of a test that does not run in parallel with
// others, or register it with t.Cleanup before anything else so that it runs
// after every other cleanup (Close calls included).
func VerifyNoLeaks(t testing.TB) {
	t.Helper()
	goleak.VerifyNone(t, LeakOptions()...)
}

// Context returns a context canceled after d or when the test ends, whichever
// comes first.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// SelfSignedTLS returns a server and a client TLS configuration for loopback
// tests: a fresh self-signed certificate for 127.0.0.1 and "localhost" that the
// client trusts.
func SelfSignedTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "optguard test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}
