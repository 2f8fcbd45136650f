package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"
)

// Webhooks posts consent changes to other systems (policy/webhooks): the
// settings every endpoint shares, and the endpoints.
type Webhooks struct {
	Timeout     Duration          `yaml:"timeout"`      // per request, unless the endpoint sets its own
	RetryMin    Duration          `yaml:"retry_min"`    // the wait before the first retry; later ones double, with jitter
	RetryMax    Duration          `yaml:"retry_max"`    // the longest wait between tries
	BatchSize   int               `yaml:"batch_size"`   // events per request at most, 1..1000
	DeliveryLog int               `yaml:"delivery_log"` // attempts kept per endpoint, 1..100000
	Endpoints   []WebhookEndpoint `yaml:"endpoints"`    // the receivers
}

// WebhookEndpoint is one receiver of webhooks.
type WebhookEndpoint struct {
	Name          string   `yaml:"name"`          // unique; names its cursor and delivery log (renaming starts it afresh)
	URL           string   `yaml:"url"`           // http:// or https://
	SecretFile    string   `yaml:"secret_file"`   // file holding the signing secret, readable by its owner only
	Secret        string   `yaml:"secret"`        // the signing secret itself, when secret_file is not used
	Events        []string `yaml:"events"`        // groups and event types; empty = consent_changes and review
	Organizations []string `yaml:"organizations"` // main organizations whose events it gets; empty = all
	Timeout       Duration `yaml:"timeout"`       // per request; 0 = webhooks.timeout
	FromStart     bool     `yaml:"from_start"`    // a new endpoint gets the whole ledger, not only what comes after it starts
}

// minSecret is the shortest signing secret taken, in bytes.
const minSecret = 16

// LoadSecret returns the endpoint's signing secret: Secret, or the content
// of SecretFile without surrounding white space. A secret file others than
// its owner may read or write is refused, like the installation key file.
func (e *WebhookEndpoint) LoadSecret() ([]byte, error) {
	if e.SecretFile == "" {
		return []byte(e.Secret), nil
	}
	fi, err := os.Stat(e.SecretFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %q: %v", e.SecretFile, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file", e.SecretFile)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%q has mode %04o, so others than its owner may read it; run chmod 600 %s", e.SecretFile, perm, e.SecretFile)
	}
	b, err := os.ReadFile(e.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %v", e.SecretFile, err)
	}
	return bytes.TrimSpace(b), nil
}

func (v *validator) webhooks(c *Config) {
	w := &c.Webhooks
	v.durationIn("webhooks.timeout", w.Timeout, 5*time.Minute)
	v.durationIn("webhooks.retry_min", w.RetryMin, time.Hour)
	v.durationIn("webhooks.retry_max", w.RetryMax, 24*time.Hour)
	if w.RetryMax > 0 && w.RetryMax < w.RetryMin && time.Duration(w.RetryMin) <= time.Hour {
		v.fail("webhooks.retry_max", "must be at least webhooks.retry_min (%s), got %s", w.RetryMin, w.RetryMax)
	}
	v.intIn("webhooks.batch_size", w.BatchSize, 1, 1000)
	v.intIn("webhooks.delivery_log", w.DeliveryLog, 1, 100_000)

	mains := map[string]bool{DefaultOrganization: true}
	parents := map[string]string{}
	for _, o := range c.Organizations {
		if o.Parent == "" {
			mains[o.Name] = true
		} else {
			parents[o.Name] = o.Parent
		}
	}
	names := map[string]string{}
	for i := range w.Endpoints {
		e := &w.Endpoints[i]
		key := fmt.Sprintf("webhooks.endpoints[%d]", i)
		switch first, dup := names[e.Name]; {
		case !orgNamePattern.MatchString(e.Name):
			v.fail(key+".name", "must be 1 to 64 letters, digits, '.', '_' or '-', got %q", e.Name)
		case dup:
			v.fail(key+".name", "%q is already the name of %s", e.Name, first)
		default:
			names[e.Name] = key
		}
		v.webhookURL(key+".url", e.URL)
		switch {
		case e.SecretFile == "" && e.Secret == "":
			v.fail(key+".secret_file", "is required (or secret): receivers check each request's signature with it")
		case e.SecretFile != "" && e.Secret != "":
			v.fail(key+".secret", "must be empty when secret_file is set; keep the secret in one place")
		default:
			secretKey := key + ".secret"
			if e.SecretFile != "" {
				secretKey = key + ".secret_file"
			}
			// The secret itself is never quoted: it must not end up in a log.
			if s, err := e.LoadSecret(); err != nil {
				v.fail(secretKey, "%v", err)
			} else if len(s) < minSecret {
				v.fail(secretKey, "the secret has %d bytes; use at least %d (openssl rand -hex 32 makes one)", len(s), minSecret)
			}
		}
		for j, org := range e.Organizations {
			k := fmt.Sprintf("%s.organizations[%d]", key, j)
			switch {
			case mains[org]:
			case parents[org] != "":
				v.fail(k, "%q is a sub-organization of %q; events are kept per account, so write %q", org, parents[org], parents[org])
			default:
				v.fail(k, "%q is not an organization of this file (list it under organizations, or write %q)", org, DefaultOrganization)
			}
		}
		if e.Timeout != 0 {
			v.durationIn(key+".timeout", e.Timeout, 5*time.Minute)
		}
	}
}

// webhookURL checks an absolute http or https URL with a host.
func (v *validator) webhookURL(key, raw string) {
	if raw == "" {
		v.fail(key, "is required")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		v.fail(key, "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.fail(key, "must start with https:// (or http://), got %q", u.Redacted())
	case u.Host == "":
		v.fail(key, "must name a host, got %q", u.Redacted())
	case u.Fragment != "":
		v.fail(key, "must have no #fragment, got %q", u.Redacted())
	}
}
