package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/optguard/optguard/store"
)

type reviewList struct {
	Items []struct {
		Seq          uint64
		Number       string
		Organization string
		MOText       string `json:"mo_text"`
	}
}

// The review queue lists possible opt-outs with the handset's words; an
// admin's decision is a ledger event with the admin as its actor, and
// takes the item off the queue.
func TestReviewQueue(t *testing.T) {
	e := newEnv(t)
	e.apply(store.OrgScope("acme", "+15551230030"), store.EventPossibleOptOut, store.MethodSMSKeyword, "please dont text me anymore")
	e.apply(store.OrgScope("acme", "+15551230031"), store.EventPossibleOptOut, store.MethodSMSKeyword, "not interested")
	e.apply(store.OrgScope("globex", "+447700900030"), store.EventPossibleOptOut, store.MethodSMSKeyword, "leave me alone")

	var l reviewList
	e.ok("acme-admin", "GET", "/api/v1/review", nil).json(t, &l)
	if len(l.Items) != 2 || l.Items[0].MOText != "please dont text me anymore" || l.Items[0].Organization != "acme" {
		t.Fatalf("acme's queue: %s", mustJSON(l))
	}
	e.ok("auditor", "GET", "/api/v1/review", nil).json(t, &l)
	if len(l.Items) != 3 {
		t.Fatalf("everyone's queue: %s", mustJSON(l))
	}

	decide := func(token, number, decision string) reply {
		return e.call(token, "POST", "/api/v1/review/decisions", map[string]any{"organization": "acme", "number": number, "decision": decision})
	}
	decide("agent", "+15551230030", "opt_out").wantError(t, http.StatusForbidden, "forbidden", "")
	decide("admin", "+15551230030", "maybe").wantError(t, http.StatusBadRequest, "invalid_field", "decision")
	var o outcome
	if r := decide("admin", "+15551230030", "opt_out"); r.Status != http.StatusOK {
		t.Fatalf("opt_out: %d %s", r.Status, r.Body)
	} else {
		r.json(t, &o)
	}
	if o.State != "opted_out" || o.Event.Actor != "admin" || o.Event.Method != "agent" {
		t.Fatalf("opt_out outcome: %+v", o)
	}
	if r := decide("admin", "+15551230031", "dismiss"); r.Status != http.StatusOK {
		t.Fatalf("dismiss: %d %s", r.Status, r.Body)
	} else {
		r.json(t, &o)
	}
	if o.Event.Type != "review_dismissed" || o.Event.Actor != "admin" {
		t.Fatalf("dismiss outcome: %+v", o)
	}
	decide("admin", "+15551230031", "dismiss").wantError(t, http.StatusConflict, "not_applicable", "")

	e.ok("acme-admin", "GET", "/api/v1/review", nil).json(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("acme's queue after the decisions: %s", mustJSON(l))
	}
}

// The ledger's head is the store's, and verification says the chain
// checks out over every event.
func TestLedgerProof(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"+15551230040", "+15551230041"} {
		e.apply(store.OrgScope("acme", n), store.EventOptedOut, store.MethodSMSKeyword, "STOP")
	}
	var head struct {
		Seq  uint64
		Hash string
	}
	e.ok("auditor", "GET", "/api/v1/ledger/head", nil).json(t, &head)
	if head.Seq != 2 || len(head.Hash) != 64 {
		t.Fatalf("head: %+v", head)
	}
	var v struct {
		OK       bool
		Events   uint64
		HeadHash string `json:"head_hash"`
	}
	e.ok("auditor", "POST", "/api/v1/ledger/verify", nil).json(t, &v)
	if !v.OK || v.Events != 2 || v.HeadHash != head.Hash {
		t.Fatalf("verify: %+v, head %+v", v, head)
	}
}
