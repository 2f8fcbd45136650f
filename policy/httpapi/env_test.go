package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/store"
	"github.com/rs/zerolog"
)

// The tokens every test environment has, by name: the secret is the name
// itself, so that a test reads as who is calling.
var testTokens = []struct {
	name string
	role httpapi.Role
	orgs []string
}{
	{"admin", httpapi.RoleAdmin, nil},
	{"agent", httpapi.RoleAgent, nil},
	{"auditor", httpapi.RoleAuditor, nil},
	{"acme-admin", httpapi.RoleAdmin, []string{"acme"}},
	{"acme-sales-agent", httpapi.RoleAgent, []string{"acme-sales"}},
	{"globex-auditor", httpapi.RoleAuditor, []string{"globex"}},
}

// handsetOut records what the policy texted to handsets: the Transport is
// where the SMPP layer would take over, and the tests read the PDUs it got,
// joining the parts of a long text.
type handsetOut struct {
	mu      sync.Mutex
	texts   []sentText
	partial map[uint16][]string // concatenation ref → parts so far
}

type sentText struct {
	To, From, Text string
	Parts          int  // short_messages it came in
	DataCoding     byte // of its parts
}

func (h *handsetOut) Send(o policy.Outgoing) error {
	var m pdu.Message
	if err := pdu.Scan(o.PDU, &m); err != nil {
		return err
	}
	ud := m.ShortMessage
	var c pdu.Concat
	if m.EsmClass&pdu.EsmClassUDHI != 0 {
		udh, rest, err := pdu.SplitUDH(ud)
		if err != nil {
			return err
		}
		c, _ = pdu.ParseConcat(udh)
		ud = rest
	}
	text, err := pdu.DecodeText(m.DataCoding, ud)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if c.Total > 1 {
		if h.partial == nil {
			h.partial = map[uint16][]string{}
		}
		parts := append(h.partial[c.Ref], text)
		h.partial[c.Ref] = parts
		if len(parts) == int(c.Total) {
			delete(h.partial, c.Ref)
			h.texts = append(h.texts, sentText{To: string(m.Dest.Addr), From: string(m.Source.Addr), Text: strings.Join(parts, ""), Parts: len(parts), DataCoding: m.DataCoding})
		}
	} else {
		h.texts = append(h.texts, sentText{To: string(m.Dest.Addr), From: string(m.Source.Addr), Text: text, Parts: 1, DataCoding: m.DataCoding})
	}
	h.mu.Unlock()
	if o.OnResponse != nil {
		o.OnResponse(pdu.AppendSubmitSMResp(nil, pdu.ESME_ROK, m.Seq, "smsc-1"), nil)
	}
	return nil
}

// to returns the texts sent to number.
func (h *handsetOut) to(number string) []sentText {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sentText
	for _, t := range h.texts {
		if t.To == strings.TrimPrefix(number, "+") {
			out = append(out, t)
		}
	}
	return out
}

// clock is the time of a test: it moves only when the test says.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t    testing.TB
	clk  *clock
	st   *store.Badger
	eng  *policy.Engine
	api  *httpapi.API
	srv  *httptest.Server
	out  *handsetOut
	opts httpapi.Options
}

// testOrgs: acme (US and Canada only) with its sub-organization
// acme-sales, globex (any country) and the default organization.
func testOrgs() []policy.Organization {
	return []policy.Organization{
		{Name: "acme", Main: "acme", DisplayName: "Acme", SystemIDs: []string{"acme"}, Mode: policy.ModeConsent,
			AllowedCountries: []string{"US", "CA"}, DefaultCountry: "US", SenderNames: map[string]string{"15550001000": "Acme Billing"}},
		{Name: "acme-sales", Main: "acme", SenderPrefixes: []string{"1555000"}, Mode: policy.ModeConsent,
			AllowedCountries: []string{"US", "CA"}, DefaultCountry: "US"},
		{Name: "globex", Main: "globex", SystemIDs: []string{"globex"}, Mode: policy.ModeConsent, DefaultCountry: "GB"},
		{Name: policy.DefaultOrganizationName, Main: policy.DefaultOrganizationName, Mode: policy.ModeOff},
	}
}

func newEnv(t testing.TB, tweak ...func(*httpapi.Options)) *env {
	t.Helper()
	st, err := store.OpenBadger(store.Options{Dir: t.TempDir(), MessageLog: store.MessageLogOptions{Mode: store.LogFull}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, out: &handsetOut{}, clk: &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}}
	e.eng, err = policy.New(policy.Options{Store: st, Transport: e.out, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Organizations: testOrgs(), Clock: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Start()
	t.Cleanup(func() { e.eng.Close(t.Context()) })
	e.opts = httpapi.Options{Store: st, Policy: e.eng, Logger: zerolog.New(zerolog.NewTestWriter(t)), Clock: e.clk.now}
	for _, tk := range testTokens {
		e.opts.Tokens = append(e.opts.Tokens, httpapi.Token{Name: tk.name, Role: tk.role, Organizations: tk.orgs, SHA256: sha256.Sum256([]byte(tk.name))})
	}
	for _, f := range tweak {
		f(&e.opts)
	}
	e.api, err = httpapi.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	return e
}

// reply is one answer of the API.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into v, failing the test if it is not JSON.
func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("reply %d is not JSON: %v\n%s", r.Status, err, r.Body)
	}
}

// apiErr is the API's error body.
type apiErr struct {
	Error struct{ Code, Message, Field string }
}

// wantError checks status, code and field of an error reply, and that
// its message has words in it.
func (r reply) wantError(t *testing.T, status int, code, field string) apiErr {
	t.Helper()
	var e apiErr
	r.json(t, &e)
	if r.Status != status || e.Error.Code != code || e.Error.Field != field || len(e.Error.Message) < 10 {
		t.Fatalf("got %d %+v, want %d code %q field %q with a message", r.Status, e.Error, status, code, field)
	}
	return e
}

// call sends method path as token (none when ""), with body marshalled as
// JSON unless it is a string or []byte (sent as is).
func (e *env) call(token, method, path string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ok is call that expects 200.
func (e *env) ok(token, method, path string, body any) reply {
	e.t.Helper()
	r := e.call(token, method, path, body)
	if r.Status != http.StatusOK {
		e.t.Fatalf("%s %s as %s: %d\n%s", method, path, token, r.Status, r.Body)
	}
	return r
}

// apply writes a consent event as the SMS path would have: the handset's
// own STOP, a possible opt-out, an opt-in by keyword.
func (e *env) apply(s store.Scope, typ store.EventType, method store.Method, moText string) store.Applied {
	e.t.Helper()
	e.clk.add(time.Second)
	ch := store.Change{Scope: s, Type: typ, Mode: store.ModeConsent, OccurredAt: e.clk.now(), Method: method, Actor: "handset"}
	if method != store.MethodSMSKeyword {
		ch.Actor = "system"
	}
	if moText != "" {
		ch.MO = &store.MO{Raw: []byte(moText), Text: moText}
	}
	a, err := e.st.Apply(e.t.Context(), ch)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// head is the ledger's latest sequence number: a refused call leaves it.
func (e *env) head() uint64 {
	e.t.Helper()
	seq, _, err := e.st.Head(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return seq
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// waitFor polls cond for up to 5 s: the message log is written off the
// request's path.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
