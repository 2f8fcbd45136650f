package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps the package map of DESIGN.md: arrows point one way.
// policy may use the pure wire package smpp/pdu but never smpp (sessions,
// sockets); store imports neither; smpp knows nothing of consent; testenv
// observes the proxy only from outside.
func TestLayering(t *testing.T) {
	const mod = "github.com/optguard/optguard"
	rules := []struct {
		pkgs      string
		forbidden []string // exact import paths, or prefixes ending in "/"
	}{
		{mod + "/policy/...", []string{mod + "/smpp", mod + "/testenv", mod + "/cmd/"}},
		{mod + "/store/...", []string{mod + "/smpp", mod + "/smpp/", mod + "/policy", mod + "/policy/", mod + "/testenv"}},
		{mod + "/smpp/...", []string{mod + "/policy", mod + "/policy/", mod + "/store", mod + "/config", mod + "/testenv"}},
		{mod + "/smpp/pdu/...", []string{mod + "/smpp", mod + "/policy", mod + "/store", mod + "/config", mod + "/testenv"}},
		{mod + "/config/...", []string{mod + "/smpp", mod + "/smpp/", mod + "/policy", mod + "/store", mod + "/testenv"}},
		{mod + "/testenv/...", []string{mod + "/smpp", mod + "/policy", mod + "/store", mod + "/config"}},
		{mod + "/ratelog/...", []string{mod + "/smpp", mod + "/policy", mod + "/store", mod + "/config", mod + "/testenv"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", r.pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range r.forbidden {
				if dep == f || strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s (see the package map in DESIGN.md)", r.pkgs, dep)
				}
			}
		}
	}
}
