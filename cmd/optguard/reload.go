package main

import (
	"context"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/policy/webhooks"
)

// reloadOnSIGHUP reloads the organizations, keywords, templates, operator
// API tokens and webhooks from path on each SIGHUP until ctx ends, without
// dropping a bind. A file that does not load or compile is refused with its file, line and key, and the
// running policy stays. Other sections (listeners, upstreams, store) need a
// restart: a change to them is named in a warning and otherwise ignored.
// The TLS certificates and keys are read again from their files either way.
// last is the file as it was read at start.
func (p *proxy) reloadOnSIGHUP(ctx context.Context, path, mode string, last *config.Config) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if cfg := p.reload(path, mode); cfg != nil {
					if changed := restartSections(last, cfg); len(changed) > 0 {
						p.log.Warn().Strs("sections", changed).Str("config", path).
							Msg("SIGHUP: these sections changed and take effect only after a restart")
					}
					last = cfg
				}
				p.reloadCerts()
			}
		}
	}()
}

// reload applies the policy sections of the file at path and returns the
// file's configuration, or nil when it was refused.
func (p *proxy) reload(path, mode string) *config.Config {
	cfg, err := config.Load(path)
	if err == nil && mode != "" {
		cfg.SetDefaultMode(config.Mode(mode))
		err = cfg.Validate()
	}
	var tokens []httpapi.Token
	if err == nil {
		tokens, err = apiTokens(cfg.Admin.Tokens)
	}
	var hooks webhooks.Options
	if err == nil {
		hooks, err = webhookSettings(cfg)
	}
	if err == nil {
		if err = p.pol.Reload(policyOrganizations(cfg), policySettings(cfg)); err != nil {
			err = policyError(cfg, err)
		}
	}
	if err != nil {
		p.log.Error().Err(err).Str("config", path).Msg("SIGHUP: configuration refused; the running policy stays")
		return nil
	}
	p.srv.SetServiceBinds(serviceBinds(cfg))
	p.ret.t.Store(retentionOf(cfg))
	msg := "SIGHUP: organizations, keywords and templates reloaded"
	if p.api != nil {
		// Validated by the configuration, so this does not fail: a
		// revoked token stops working now, not at the next restart.
		if err := p.api.SetTokens(tokens); err != nil {
			p.log.Error().Err(err).Str("config", path).Msg("SIGHUP: admin.tokens refused; the running tokens stay")
		} else {
			msg = "SIGHUP: organizations, keywords, templates and admin.tokens reloaded"
		}
	}
	if p.hooks != nil {
		if changed, err := p.reloadWebhooks(hooks); err != nil {
			p.log.Error().Err(err).Str("config", path).Msg("SIGHUP: webhooks refused; the running endpoints stay")
		} else if changed {
			msg += "; webhooks reloaded"
		}
	}
	p.log.Info().Str("config", path).Msg(msg)
	logModes(p.log, p.pol)
	return cfg
}

// reloadCerts reads the TLS certificates and keys again from the files
// the configuration named at start, so that a renewed certificate serves
// the next handshakes; one that does not load leaves the one in use.
func (p *proxy) reloadCerts() {
	for _, c := range p.certs {
		changed, err := c.k.reload()
		switch {
		case err != nil:
			p.log.Error().Err(err).Str("tls", c.key).Str("cert_file", c.k.certFile).
				Msg("SIGHUP: the certificate files do not load; the certificate in use stays")
		case changed:
			p.log.Info().Str("tls", c.key).Str("cert_file", c.k.certFile).Time("not_after", c.k.notAfter()).
				Msg("SIGHUP: certificate reloaded; new connections get it")
		}
	}
}

// restartSections names the sections of the configuration that differ
// between a and b and that a reload does not apply.
func restartSections(a, b *config.Config) []string {
	var out []string
	for _, s := range []struct {
		name string
		x, y any
	}{
		{"listen", a.Listen, b.Listen}, {"session", a.Session, b.Session}, {"upstream", a.Upstream, b.Upstream},
		{"admin", withoutTokens(a.Admin), withoutTokens(b.Admin)}, {"data", a.Data, b.Data}, {"store", a.Store, b.Store},
		{"log", a.Log, b.Log}, {"shutdown", a.Shutdown, b.Shutdown},
		{"exports", a.Exports, b.Exports},
	} {
		if !reflect.DeepEqual(s.x, s.y) {
			out = append(out, s.name)
		}
	}
	return out
}

// withoutTokens is c without admin.tokens, which a reload applies.
func withoutTokens(c config.Admin) config.Admin {
	c.Tokens = nil
	return c
}

// logModes says at start (and after a reload) which mode each organization
// runs in.
func logModes(log zerolog.Logger, e *policy.Engine) {
	for _, m := range e.Modes() {
		ev := log.Info().Str("organization", m.Name).Stringer("mode", m.Mode).Stringer("consent_scope", m.Scope)
		if m.Main != "" {
			ev = ev.Str("main_organization", m.Main)
		}
		ev.Msg("organization policy")
	}
}
