package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
)

// reloadOnSIGHUP reloads the organizations, keywords and templates from
// path on each SIGHUP until ctx ends, without dropping a bind. A file that
// does not load or compile is refused with its file, line and key, and the
// running policy stays. Other sections (listeners, upstreams, store) need a
// restart; a change to them is logged and otherwise ignored.
func (p *proxy) reloadOnSIGHUP(ctx context.Context, path, mode string) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				p.reload(path, mode)
			}
		}
	}()
}

func (p *proxy) reload(path, mode string) {
	cfg, err := config.Load(path)
	if err == nil && mode != "" {
		cfg.SetDefaultMode(config.Mode(mode))
		err = cfg.Validate()
	}
	if err == nil {
		if err = p.pol.Reload(policyOrganizations(cfg), policySettings(cfg)); err != nil {
			err = policyError(cfg, err)
		}
	}
	if err != nil {
		p.log.Error().Err(err).Str("config", path).Msg("SIGHUP: configuration refused; the running policy stays")
		return
	}
	p.srv.SetServiceBinds(serviceBinds(cfg))
	p.log.Info().Str("config", path).Msg("SIGHUP: organizations, keywords and templates reloaded")
	logModes(p.log, p.pol)
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
