package main

import (
	"testing"

	"github.com/optguard/optguard/smpp/pdu"
)

// The sender directory on a live optguard: a PUT changes {sender_name} in
// the very next consent request (and disclaimer) the SMSC carries to a
// handset, without a reload; the name survives a restart; deleting it
// brings back the configured one.
func TestAPISenderNameInTheNextConsentRequest(t *testing.T) {
	a := startAPI(t)
	e := a.esme("acme", pdu.BindTransceiver)
	first := func(handset, text string) {
		t.Helper()
		m := mtOf(text, 0)
		m.Dest.Addr = handset
		if r := submitTo(t, a.ctx, e, m); r.Header.Status != pdu.ESME_ROK {
			t.Fatalf("first MT to %s answered %v", handset, r.Header.Status)
		}
	}
	first(guest, "statement one")
	a.waitSubmit("the configured name's request", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == guest && textHas("Aaron Almaraz is trying to reach you")(m)
	})

	out := a.ok("compliance", "PUT", "/api/v1/senders/+1%20555%20000%209999", map[string]any{"organization": "acme", "name": "Aaron at ACME Billing"})
	if out["source"] != "directory" || out["changed_by"] != "compliance" || out["config_name"] != "Aaron Almaraz" {
		t.Fatalf("PUT: %v", out)
	}
	first(handsetB, "statement two")
	a.waitSubmit("the directory name's request", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == handsetB && textHas("Aaron at ACME Billing is trying to reach you")(m)
	})

	// A disclaimer (globex's mode) says it too, in globex's own entry.
	a.ok("compliance", "PUT", "/api/v1/senders/15550009999", map[string]any{"organization": "globex", "name": "Globex Desk"})
	g := a.esme("globex", pdu.BindTransceiver)
	m := mtOf("globex news", 0)
	m.Dest.Addr = "15551230005"
	if r := submitTo(t, a.ctx, g, m); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("globex MT answered %v", r.Header.Status)
	}
	a.waitSubmit("globex's disclaimer", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == "15551230005" && textHas("from Globex Desk of")(m)
	})

	// A restart reads the directory back from the store.
	a.p.stop()
	c := startWith(t, a.sim, a.cfg)
	a = &apiEnv{consentEnv: c, base: "http://" + c.p.admin.ln.Addr().String()}
	e = a.esme("acme", pdu.BindTransceiver)
	items := a.ok("globex.auditor", "GET", "/api/v1/senders", nil)["items"].([]any)
	if it := items[0].(map[string]any); len(items) != 1 || it["organization"] != "globex" || it["name"] != "Globex Desk" {
		t.Fatalf("globex's auditor sees %v; want globex's entry only", items)
	}
	items = a.ok("compliance", "GET", "/api/v1/senders?organization=acme", nil)["items"].([]any)
	if it := items[0].(map[string]any); len(items) != 1 || it["name"] != "Aaron at ACME Billing" || it["source"] != "directory" {
		t.Fatalf("after the restart: %v", items)
	}
	// From the employee's line written nationally this time: the entry of
	// its E.164 form applies.
	m = mtOf("statement three", 0)
	m.Source, m.Dest.Addr = pdu.Addr{TON: 2, NPI: 1, Addr: "5550009999"}, "15551230003"
	if r := submitTo(t, a.ctx, e, m); r.Header.Status != pdu.ESME_ROK {
		t.Fatalf("MT from the national form answered %v", r.Header.Status)
	}
	a.waitSubmit("the request after the restart", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == "15551230003" && textHas("Aaron at ACME Billing is trying to reach you")(m)
	})

	out = a.ok("compliance", "DELETE", "/api/v1/senders/15550009999?organization=acme", nil)
	if out["name"] != "Aaron Almaraz" || out["source"] != "config" {
		t.Fatalf("DELETE: %v", out)
	}
	first("15551230004", "statement four")
	a.waitSubmit("the configured name's request again", func(m *pdu.Message) bool {
		return string(m.Dest.Addr) == "15551230004" && textHas("Aaron Almaraz is trying to reach you")(m)
	})
}
