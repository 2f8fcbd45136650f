package main

import "testing"

// The organizations and templates page shows the running configuration:
// a sender name the directory gives acme's line makes its templates
// UCS-2, and the page says which character forced it.
func TestConsoleTemplatesPage(t *testing.T) {
	a := startAPI(t)
	a.ok("compliance", "PUT", "/api/v1/senders/"+employee, map[string]any{"organization": "acme", "name": "Zoë Almaraz"})
	b := openConsole(t, a)
	b.signIn("compliance")
	b.open("#/config", "Organizations & templates")
	b.waitText("#orgs", "acme", "ACME Bank", "consent", "US, CA", "globex", "disclaimer")
	b.waitText("#tpl-acme", "sender_first_request", "Zoë Almaraz is trying to reach you", "UCS-2", "forced by “ë”", "handset")
	b.waitText("#kw-acme", "STOP", "YES", "HELP")
	// globex is closed at first; its templates are GSM-7.
	b.click(`#orgs button[data-org=globex]`)
	b.eval(`document.getElementById('org-globex').open && document.activeElement === document.querySelector('#org-globex summary')`)
	b.waitText("#tpl-globex", "GSM-7")
	b.eval(`document.getElementById('org-globex').open = false; true`)
	b.shot("templates")
}
