package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
)

// Admin is the HTTP listener for /metrics, /healthz and the operator API.
type Admin struct {
	Address        string     `yaml:"address"`          // host:port; empty = no admin listener
	TLS            AdminTLS   `yaml:"tls"`              // HTTPS on Address; unset = plain HTTP
	Tokens         []APIToken `yaml:"tokens"`           // who may call the operator API, by token hash
	MaxBodyBytes   ByteSize   `yaml:"max_body_bytes"`   // largest JSON request body the API accepts, 1KiB..64MiB
	MaxUploadBytes ByteSize   `yaml:"max_upload_bytes"` // largest CSV upload (imports), 1KiB..4GiB
}

// AdminTLS is the server certificate of the admin listener. Both files or
// neither are set.
type AdminTLS struct {
	CertFile string `yaml:"cert_file"` // PEM server certificate (chain)
	KeyFile  string `yaml:"key_file"`  // PEM private key of CertFile
}

// Enabled reports whether the admin listener serves HTTPS.
func (t AdminTLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// APIToken is one operator API token. The file keeps only the token's hash,
// so that reading the file does not give access to the API.
type APIToken struct {
	Name          string   `yaml:"name"`          // unique; the actor the ledger records for the token's writes
	Role          Role     `yaml:"role"`          // what the token may do
	Organizations []string `yaml:"organizations"` // organizations the token may see; empty = all
	SHA256        string   `yaml:"sha256"`        // TokenHash of the token: 64 lower-case hex digits
}

// Role is what an operator API token may do. Each role allows what the
// roles below it do: auditor < agent < admin.
type Role string

// The Role values, from least to most allowed.
const (
	RoleAuditor Role = "auditor" // read only
	RoleAgent   Role = "agent"   // reads, and consent actions
	RoleAdmin   Role = "admin"   // everything
)

// rank orders the roles; 0 for a string that is not a role.
func (r Role) rank() int {
	switch r {
	case RoleAuditor:
		return 1
	case RoleAgent:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether a token of role r may do what needs role need. A
// value that is not a role allows nothing and is allowed by nothing.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && need.rank() > 0 && r.rank() >= need.rank()
}

// ParseRole returns the Role named s: auditor, agent or admin.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.rank() > 0 {
		return r, nil
	}
	return "", fmt.Errorf("must be one of %s, %s, %s, got %q", RoleAuditor, RoleAgent, RoleAdmin, s)
}

var tokenNamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// CheckTokenName returns an error when name cannot name an API token: it
// must be 1 to 64 letters, digits, '.', '_', '@' or '-' (so that an e-mail
// address fits, and the ledger's actor needs no quoting).
func CheckTokenName(name string) error {
	if !tokenNamePattern.MatchString(name) {
		return fmt.Errorf("must be 1 to 64 letters, digits, '.', '_', '@' or '-', got %q", name)
	}
	return nil
}

// TokenHash returns what admin.tokens[].sha256 holds for token: the
// lower-case hex SHA-256 of its bytes.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Limits of admin.max_body_bytes and admin.max_upload_bytes.
const (
	minAdminBody   = 1 << 10
	maxAdminBody   = 64 << 20
	maxAdminUpload = 4 << 30
)

func (v *validator) admin(c *Config) {
	a := &c.Admin
	v.addressOrEmpty("admin.address", a.Address, 0)
	if a.TLS.Enabled() {
		if a.Address == "" {
			v.fail("admin.address", `is required when admin.tls is set ("" turns the admin listener off)`)
		}
		switch {
		case a.TLS.CertFile == "":
			v.fail("admin.tls.cert_file", "is required when admin.tls.key_file is set")
		case a.TLS.KeyFile == "":
			v.fail("admin.tls.key_file", "is required when admin.tls.cert_file is set")
		}
		v.file("admin.tls.cert_file", a.TLS.CertFile)
		v.file("admin.tls.key_file", a.TLS.KeyFile)
	}
	v.sizeIn("admin.max_body_bytes", a.MaxBodyBytes, minAdminBody, maxAdminBody)
	v.sizeIn("admin.max_upload_bytes", a.MaxUploadBytes, minAdminBody, maxAdminUpload)

	orgs := map[string]bool{DefaultOrganization: true}
	for _, o := range c.Organizations {
		orgs[o.Name] = true
	}
	names := map[string]string{}  // token name → key of the token that has it
	hashes := map[string]string{} // sha256 → key of the token that has it
	for i, t := range a.Tokens {
		key := fmt.Sprintf("admin.tokens[%d]", i)
		if err := CheckTokenName(t.Name); err != nil {
			v.fail(key+".name", "%v", err)
		} else if first, dup := names[t.Name]; dup {
			v.fail(key+".name", "%q is already the name of %s", t.Name, first)
		} else {
			names[t.Name] = key
		}
		if _, err := ParseRole(string(t.Role)); err != nil {
			v.fail(key+".role", "%v", err)
		}
		for j, org := range t.Organizations {
			if !orgs[org] {
				v.fail(fmt.Sprintf("%s.organizations[%d]", key, j), "%q is not an organization of this file (list it under organizations, or write %q)", org, DefaultOrganization)
			}
		}
		if v.tokenHash(key+".sha256", t.SHA256) {
			if first, dup := hashes[t.SHA256]; dup {
				v.fail(key+".sha256", "is the same as %s.sha256: each token needs its own (make one with optguard token create)", first)
			} else {
				hashes[t.SHA256] = key
			}
		}
	}
}

// tokenHash checks a token's sha256 and reports whether it is well formed.
// Its value is never quoted: a token pasted here by mistake must not end
// up in a log.
func (v *validator) tokenHash(key, h string) bool {
	if len(h) != 2*sha256.Size {
		v.fail(key, "must be the 64 hex digits of the token's SHA-256 (optguard token create prints it), got %d characters", len(h))
		return false
	}
	for i := range len(h) {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			v.fail(key, "must be lower-case hex digits (0-9, a-f), got %q at position %d", c, i+1)
			return false
		}
	}
	return true
}

func (v *validator) sizeIn(key string, s ByteSize, lo, hi int64) {
	if int64(s) < lo || int64(s) > hi {
		v.fail(key, "must be between %s and %s, got %s", ByteSize(lo), ByteSize(hi), s)
	}
}
