package main

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/policy/httpapi/console"
)

// mountAPI serves the operator API on the admin listener, next to
// /metrics and /healthz: /api/v1/… and its OpenAPI document, and the web
// console (/console/) whose pages call it.
func (p *proxy) mountAPI() error {
	tokens, err := apiTokens(p.cfg.Admin.Tokens)
	if err != nil {
		return err
	}
	zone, err := p.cfg.Exports.OptOuts.Location()
	if err != nil {
		return fmt.Errorf("exports.opt_outs.time_zone: %w", err)
	}
	p.api, err = httpapi.New(httpapi.Options{
		Store:     p.store,
		Policy:    p.pol,
		Webhooks:  p.hooks,
		Tokens:    tokens,
		Logger:    p.log.With().Str("component", "api").Logger(),
		MaxBody:   int64(p.cfg.Admin.MaxBodyBytes),
		MaxUpload: int64(p.cfg.Admin.MaxUploadBytes),
		OptOutTZ:  zone,
		Live:      p.live.snapshot,
	})
	if err != nil {
		return fmt.Errorf("admin.tokens: %w", err)
	}
	p.admin.Handle("/api/", p.api)
	p.admin.Handle("/openapi.json", p.api)
	p.admin.Handle(console.Prefix, console.Handler())
	p.admin.Handle(strings.TrimSuffix(console.Prefix, "/"), console.Handler())
	p.admin.profiles(func(h http.Handler) http.Handler { return p.api.Require(httpapi.RoleAdmin, h) })
	if len(tokens) == 0 {
		p.log.Warn().Msg("the operator API (/api/v1) has no tokens, so it answers every request 401; optguard token create makes one for admin.tokens")
	} else {
		p.log.Info().Int("tokens", len(tokens)).Msg("operator API on the admin listener (/api/v1, /openapi.json) and its web console (/console/)")
	}
	return nil
}

// apiTokens converts admin.tokens to the API's tokens. The configuration
// has checked each hash already; an error here names the entry anyway.
func apiTokens(in []config.APIToken) ([]httpapi.Token, error) {
	out := make([]httpapi.Token, 0, len(in))
	for i, t := range in {
		var tok httpapi.Token
		if n, err := hex.Decode(tok.SHA256[:], []byte(t.SHA256)); err != nil || n != len(tok.SHA256) || len(t.SHA256) != 2*len(tok.SHA256) {
			return nil, fmt.Errorf("admin.tokens[%d].sha256: not 64 hex digits; optguard token create prints the line to use", i)
		}
		tok.Name, tok.Role, tok.Organizations = t.Name, httpapi.Role(t.Role), t.Organizations
		out = append(out, tok)
	}
	return out, nil
}
