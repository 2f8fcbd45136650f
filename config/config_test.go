package config

import (
	"testing"
	"time"
)

func TestRoute(t *testing.T) {
	c := mustParse(t, `
upstream:
  default:
    address: "smsc:2775"
    connect_timeout: 7s
    tls:
      enabled: true
      server_name: default.example
  routes:
    - name: a
      system_ids: [acme, beta]
      address: "a:2775"
    - name: b
      system_ids: [gamma]
      address: "b:2775"
      connect_timeout: 2s
      tls:
        enabled: false
`)
	def := Upstream{Address: "smsc:2775", ConnectTimeout: Duration(7 * time.Second), TLS: UpstreamTLS{Enabled: true, ServerName: "default.example"}}
	tests := []struct {
		systemID string
		want     Upstream
	}{
		{"acme", Upstream{Address: "a:2775", ConnectTimeout: def.ConnectTimeout, TLS: def.TLS}}, // inherits both
		{"beta", Upstream{Address: "a:2775", ConnectTimeout: def.ConnectTimeout, TLS: def.TLS}},
		{"gamma", Upstream{Address: "b:2775", ConnectTimeout: Duration(2 * time.Second)}}, // tls replaced whole
		{"Acme", def}, // exact match only
		{"other", def},
		{"", def},
	}
	for _, tt := range tests {
		if got := c.Route(tt.systemID); got != tt.want {
			t.Errorf("Route(%q) = %+v, want %+v", tt.systemID, got, tt.want)
		}
	}
	names := map[string]string{"acme": "a", "beta": "a", "gamma": "b", "other": "default"}
	for id, want := range names {
		if name, _ := c.RouteFor(id); name != want {
			t.Errorf("RouteFor(%q) name = %q, want %q", id, name, want)
		}
	}
}

func TestRouteFirstMatchWins(t *testing.T) {
	// Validate forbids overlapping routes; Route itself still takes the first.
	c := Default()
	c.Upstream.Routes = []Route{
		{Name: "a", SystemIDs: []string{"x"}, Address: "a:1"},
		{Name: "b", SystemIDs: []string{"x"}, Address: "b:1"},
	}
	if got := c.Route("x").Address; got != "a:1" {
		t.Errorf("Route(x).Address = %q, want a:1", got)
	}
}

func TestRouteDoesNotAlias(t *testing.T) {
	tls := &UpstreamTLS{Enabled: true}
	c := Default()
	c.Upstream.Routes = []Route{{Name: "a", SystemIDs: []string{"x"}, Address: "a:1", TLS: tls}}
	u := c.Route("x")
	u.TLS.Enabled = false
	if !tls.Enabled {
		t.Error("changing the returned Upstream changed the route")
	}
}

func TestUsesSimulator(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"defaults", "", true},
		{"default address", "upstream:\n  default:\n    address: 'smsc:2775'\n", false},
		{"routes only", "upstream:\n  routes:\n    - name: a\n      system_ids: [acme]\n      address: 'a:2775'\n", false},
		{"empty routes", "upstream:\n  routes: []\n", true},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.in).UsesSimulator(); got != tt.want {
			t.Errorf("%s: UsesSimulator() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
