package main

import (
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/optguard/optguard/testenv"
)

// With no ESME transmitter of the account bound (the ESME binds as a
// receiver only), the consent request to a handset that wrote first goes
// out on the organization's service bind.
func TestServiceBindCarriesAutoMessages(t *testing.T) {
	c := startConsent(t, consentOrg+`    service_bind:
      system_id: acme-auto
      password: pw
`)
	e := c.esme("acme", pdu.BindReceiver)
	if err := c.sim.WaitSessions(c.ctx, 2); err != nil {
		t.Fatalf("the service bind did not come up: %v", err)
	}
	c.mo("acme", "hello?")
	req := c.waitSubmit("the consent request", textHas("You are trying to reach"))
	if req.SystemID != "acme-auto" {
		t.Fatalf("consent request went out on a bind of %q; want the service bind acme-auto", req.SystemID)
	}
	if _, m := nextDeliver(t, c.ctx, e); noticeOf(m) != "requested" {
		t.Fatalf("the ESME's receiver got %q; want the requested notice", decode(m))
	}
}

const revokeAllOrg = `
organizations:
  - name: agency
    system_ids: [agency]
    mode: off
    consent_scope: sender
    revoke_all: %s
`

// Consent per sender number: a STOP to one employee's line stops that line
// only, unless revoke_all is on (the FCC's revoke-all rule), when it stops
// every line of the account. /metrics counts the change.
func TestRevokeAll(t *testing.T) {
	for _, revokeAll := range []bool{false, true} {
		name := "per-sender"
		if revokeAll {
			name = "revoke-all"
		}
		t.Run(name, func(t *testing.T) {
			sim := recordingSMSC(t)
			yaml := strings.Replace(revokeAllOrg, "%s", map[bool]string{false: "false", true: "true"}[revokeAll], 1)
			cfg := consentConfig(t, sim, yaml, t.TempDir())
			cfg.Admin.Address = "127.0.0.1:0" // for /metrics
			c := startWith(t, sim, cfg)
			e := c.esme("agency", pdu.BindTransceiver)
			if st, err := sim.SendMO(c.ctx, "agency", testenv.MO{From: guest, To: "15550001111", Text: "STOP"}); err != nil || st[0] != pdu.ESME_ROK {
				t.Fatalf("STOP: %v %v", st, err)
			}
			c.waitSubmit("the opt-out confirmation", textHas("opted out"))
			// A sender scope names its line itself; the account-wide
			// opt-out of revoke-all names it as its conversation's.
			c.checkVia(store.SenderScope("agency", "15550001111", "+"+guest), "")
			if revokeAll {
				c.checkVia(store.OrgScope("agency", "+"+guest), "15550001111")
			}
			for _, line := range []string{"15550001111", "15550002222"} {
				sm := mtOf("from "+line, 0)
				sm.Source.Addr = line
				r, err := e.Submit(c.ctx, sm)
				if err != nil {
					t.Fatal(err)
				}
				refused := line == "15550001111" || revokeAll
				if got := r.Header.Status == pdu.ESME_RX_P_APPN; got != refused {
					t.Errorf("MT from line %s: %v; refused should be %v", line, r.Header.Status, refused)
				}
			}
			time.Sleep(50 * time.Millisecond)
			if n := len(c.submits(textHas("from 15550001111"))); n != 0 {
				t.Error("MT from the line the handset stopped reached the SMSC")
			}
			metrics := get(t, "http://"+c.p.admin.ln.Addr().String()+"/metrics", 200)
			for _, want := range []string{
				`optguard_consent_changes_total{method="sms_keyword",organization="agency",type="opted_out"} 1`,
				`optguard_detections_total{class="opt_out",rule="keyword"} 1`,
				`optguard_auto_messages_total{outcome="sent",template="opt_out_confirmation"} 1`,
				`optguard_mt_verdicts_total{reason="opted_out"}`,
				`optguard_held_messages 0`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}
