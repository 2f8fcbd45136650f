package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Validate checks every value and returns all problems at once (joined with
// errors.Join, each an *Error naming the dotted key, and the file and line
// when the Config came from Parse or Load). It returns nil for a valid
// Config. Besides each value's own range it checks that the TLS files it
// names exist and are readable, and that no two listeners share a port.
func (c *Config) Validate() error {
	v := &validator{src: c.src}
	v.listen(&c.Listen)
	v.session(&c.Session)
	v.upstream(&c.Upstream)
	v.admin(c)
	if c.Data.Dir == "" {
		v.fail("data.dir", "is required")
	}
	v.store(&c.Store)
	oneOf(v, "log.level", string(c.Log.Level), LogLevelDebug, LogLevelInfo, LogLevelWarn, LogLevelError)
	oneOf(v, "log.format", string(c.Log.Format), LogFormatAuto, LogFormatJSON, LogFormatConsole)
	v.durationIn("log.warn_interval", c.Log.WarnInterval, time.Hour)
	v.intIn("log.warn_burst", c.Log.WarnBurst, 1, 10000)
	v.durationIn("shutdown.drain_timeout", c.Shutdown.DrainTimeout, 10*time.Minute)
	v.exports(&c.Exports)
	v.policy(&c.Policy)
	v.organizations(c)
	v.webhooks(c)
	v.distinctListeners(
		[2]string{"listen.address", c.Listen.Address},
		[2]string{"listen.tls.address", c.Listen.TLS.Address},
		[2]string{"admin.address", c.Admin.Address},
	)
	return errors.Join(v.errs...)
}

// validator collects the problems of one Validate call.
type validator struct {
	src  *source
	errs []error
}

func (v *validator) fail(key, format string, args ...any) {
	file, line := v.src.locate(key)
	v.errs = append(v.errs, &Error{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) listen(l *Listen) {
	if l.Address == "" {
		v.fail("listen.address", "is required")
	} else {
		v.address("listen.address", l.Address, 0)
	}
	if l.TLS.Address != "" {
		v.address("listen.tls.address", l.TLS.Address, 0)
		v.requiredFile("listen.tls.cert_file", l.TLS.CertFile, "listen.tls.address")
		v.requiredFile("listen.tls.key_file", l.TLS.KeyFile, "listen.tls.address")
		v.file("listen.tls.client_ca_file", l.TLS.ClientCAFile)
	}
	v.intIn("listen.max_connections", l.MaxConnections, 1, 1_000_000)
	if n := l.MaxBindsPerSystemID; n != 0 && (n < 1 || n > 100_000) {
		v.fail("listen.max_binds_per_system_id", "must be 0 (unlimited) or between 1 and 100000, got %d", n)
	}
	v.durationIn("listen.bind_timeout", l.BindTimeout, 10*time.Minute)
}

func (v *validator) session(s *Session) {
	v.intIn("session.window", s.Window, 1, 100_000)
	v.durationIn("session.response_timeout", s.ResponseTimeout, 10*time.Minute)
	if s.TimeoutStatus == 0 {
		v.fail("session.timeout_status", "must be an error status, not ESME_ROK: the message was not delivered")
	}
	if d := s.EnquireLinkInterval; d != 0 && time.Duration(d) < time.Second {
		v.fail("session.enquire_link_interval", "must be 0s (never) or at least 1s, got %s", d)
	}
	v.durationIn("session.unbind_timeout", s.UnbindTimeout, time.Minute)
	v.positive("session.write_timeout", s.WriteTimeout)
	v.intIn("session.max_pdu_size", s.MaxPDUSize, 4096, 16_777_216)
	oneOf(v, "session.unknown_commands", string(s.UnknownCommands), UnknownCommandsRelay, UnknownCommandsRefuse)
}

func (v *validator) upstream(u *Upstreams) {
	v.addressOrEmpty("upstream.default.address", u.Default.Address, 1)
	v.durationIn("upstream.default.connect_timeout", u.Default.ConnectTimeout, time.Minute)
	v.upstreamTLS("upstream.default.tls", &u.Default.TLS)

	names := map[string]string{}     // route name → key of the route that has it
	routed := map[string]routeName{} // system_id → first route that lists it
	for i := range u.Routes {
		r := &u.Routes[i]
		key := fmt.Sprintf("upstream.routes[%d]", i)
		switch first, dup := names[r.Name]; {
		case r.Name == "":
			v.fail(key+".name", "is required")
		case dup:
			v.fail(key+".name", "%q is already the name of %s", r.Name, first)
		default:
			names[r.Name] = key
		}
		if len(r.SystemIDs) == 0 {
			v.fail(key+".system_ids", "must list at least one system_id")
		}
		for j, id := range r.SystemIDs {
			idKey := fmt.Sprintf("%s.system_ids[%d]", key, j)
			if id == "" {
				v.fail(idKey, "must not be empty")
				continue
			}
			if first, dup := routed[id]; dup {
				v.fail(idKey, "%q is already routed by %s (name %q); a system_id may appear in one route only", id, first.key, first.name)
				continue
			}
			routed[id] = routeName{key, r.Name}
		}
		if r.Address == "" {
			v.fail(key+".address", "is required")
		} else {
			v.address(key+".address", r.Address, 1)
		}
		if r.ConnectTimeout != 0 {
			v.durationIn(key+".connect_timeout", r.ConnectTimeout, time.Minute)
		}
		if r.TLS != nil {
			v.upstreamTLS(key+".tls", r.TLS)
		}
	}
}

type routeName struct{ key, name string }

func (v *validator) upstreamTLS(key string, t *UpstreamTLS) {
	v.file(key+".ca_file", t.CAFile)
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.fail(key+".key_file", "is required when %s.cert_file is set", key)
	case t.KeyFile != "" && t.CertFile == "":
		v.fail(key+".cert_file", "is required when %s.key_file is set", key)
	}
	v.file(key+".cert_file", t.CertFile)
	v.file(key+".key_file", t.KeyFile)
}

func (v *validator) store(s *Store) {
	v.intIn("store.hold_max_per_scope", s.HoldMaxPerScope, 1, 100_000)
	v.durationAtLeast("store.id_map_ttl", s.IDMapTTL, time.Hour)
	v.durationAtLeast("store.gc_interval", s.GCInterval, time.Minute)
	if s.MinFreeBytes < 1<<20 {
		v.fail("store.min_free_bytes", "must be at least 1MiB (the store needs room to write its memtables out), got %s", s.MinFreeBytes)
	}
	if p := s.MinFreePercent; !(p >= 0 && p <= 50) {
		v.fail("store.min_free_percent", "must be between 0 and 50, got %g", p)
	}
	m := &s.MessageLog
	oneOf(v, "store.message_log.mode", string(m.Mode), MessageLogFull, MessageLogSampled, MessageLogOff)
	if m.Mode == MessageLogSampled && !(m.SampleRate > 0 && m.SampleRate <= 1) {
		v.fail("store.message_log.sample_rate", "must be more than 0 and at most 1 when store.message_log.mode is sampled, got %g", m.SampleRate)
	}
	v.durationAtLeast("store.message_log.retention", m.Retention, time.Hour)
	v.intIn("store.message_log.queue_size", m.QueueSize, 1, 10_000_000)
}

func (v *validator) intIn(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.fail(key, "must be between %d and %d, got %d", lo, hi, n)
	}
}

// durationIn checks 0 < d <= hi.
func (v *validator) durationIn(key string, d Duration, hi time.Duration) {
	if d <= 0 || time.Duration(d) > hi {
		v.fail(key, "must be more than 0s and at most %s, got %s", Duration(hi), d)
	}
}

func (v *validator) positive(key string, d Duration) {
	if d <= 0 {
		v.fail(key, "must be more than 0s, got %s", d)
	}
}

func (v *validator) durationAtLeast(key string, d Duration, lo time.Duration) {
	if time.Duration(d) < lo {
		v.fail(key, "must be at least %s, got %s", Duration(lo), d)
	}
}

func oneOf[T ~string](v *validator, key, got string, allowed ...T) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if string(a) == got {
			return
		}
		names[i] = string(a)
	}
	v.fail(key, "must be one of %s, got %q", strings.Join(names, ", "), got)
}

// address checks a host:port with a numeric port of at least minPort; a
// listener may use port 0 (any free port), a dialled address may not.
// Dialled addresses (minPort 1) also need a host.
func (v *validator) address(key, addr string, minPort int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(key, "must be host:port, got %q", addr)
		return
	}
	if minPort > 0 && host == "" {
		v.fail(key, "must name a host, got %q", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < minPort || p > 65535 {
		v.fail(key, "port must be a number between %d and 65535, got %q", minPort, port)
	}
}

func (v *validator) addressOrEmpty(key, addr string, minPort int) {
	if addr != "" {
		v.address(key, addr, minPort)
	}
}

// distinctListeners reports two listeners configured on the same port
// (port 0, meaning any free port, never clashes). Each argument is a key
// and its address.
func (v *validator) distinctListeners(addrs ...[2]string) {
	type listener struct{ key, host, port string }
	var seen []listener
	for _, ka := range addrs {
		key, addr := ka[0], ka[1]
		host, port, err := net.SplitHostPort(addr)
		if addr == "" || err != nil || port == "0" {
			continue
		}
		for _, o := range seen {
			if port == o.port && (host == o.host || isWildcard(host) || isWildcard(o.host)) {
				v.fail(key, "%q uses the same port as %s", addr, o.key)
			}
		}
		seen = append(seen, listener{key, host, port})
	}
}

func isWildcard(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

// requiredFile checks a file that must be set when the key named by
// because is set, and must then be readable.
func (v *validator) requiredFile(key, path, because string) {
	if path == "" {
		v.fail(key, "is required when %s is set", because)
		return
	}
	v.file(key, path)
}

// file checks that path, when set, names a readable regular file.
func (v *validator) file(key, path string) {
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		v.fail(key, "cannot read %q: %v", path, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		v.fail(key, "cannot read %q: %v", path, err)
	case st.IsDir():
		v.fail(key, "%q is a directory, not a file", path)
	}
}
