package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/config"
)

// keyPair is a certificate and its key as read from their files. A
// reload (SIGHUP) reads them again, so that a renewed certificate serves
// the next handshakes without a restart; the connections up keep theirs.
type keyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// namedKeyPair is a key pair with the configuration key it came from.
type namedKeyPair struct {
	key string
	k   *keyPair
}

func loadKeyPair(certFile, keyFile string) (*keyPair, error) {
	k := &keyPair{certFile: certFile, keyFile: keyFile}
	if _, err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// reload reads the files again; changed says the certificate differs from
// the one served until now. On an error the one in use stays.
func (k *keyPair) reload() (changed bool, err error) {
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return false, err
	}
	old := k.cur.Swap(&cert)
	return old == nil || !bytes.Equal(old.Certificate[0], cert.Certificate[0]), nil
}

// notAfter is when the certificate in use expires.
func (k *keyPair) notAfter() time.Time {
	if c := k.cur.Load(); c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	return time.Time{}
}

func (k *keyPair) forServer(*tls.ClientHelloInfo) (*tls.Certificate, error) { return k.cur.Load(), nil }

func (k *keyPair) forClient(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return k.cur.Load(), nil
}

// serverTLS builds the ESME listener's TLS configuration, and the key pair
// it serves for reloads.
func serverTLS(c config.ListenTLS) (*tls.Config, *keyPair, error) {
	k, err := loadKeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("listen.tls: loading cert_file and key_file: %w", err)
	}
	cfg := &tls.Config{GetCertificate: k.forServer, MinVersion: tls.VersionTLS12}
	if c.ClientCAFile != "" {
		pool, err := loadPool(c.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("listen.tls.client_ca_file: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, k, nil
}

// clientTLS builds the TLS configuration toward an SMSC (nil when TLS is
// off), and the client key pair it presents (nil when none) for reloads.
func clientTLS(c config.UpstreamTLS) (*tls.Config, *keyPair, error) {
	if !c.Enabled {
		return nil, nil, nil
	}
	cfg := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("ca_file: %w", err)
		}
		cfg.RootCAs = pool
	}
	var k *keyPair
	if c.CertFile != "" {
		var err error
		if k, err = loadKeyPair(c.CertFile, c.KeyFile); err != nil {
			return nil, nil, fmt.Errorf("cert_file and key_file: %w", err)
		}
		cfg.GetClientCertificate = k.forClient
	}
	return cfg, k, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
