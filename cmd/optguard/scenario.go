package main

import (
	"crypto/tls"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// A scenario is one `optguard bench -scenario` run written down: the binds,
// the phases and their pace, the message mix, the handsets and their consent
// states, the MO traffic and the simulator's behaviour. docs/SCENARIOS.md
// describes the format key by key. It is decoded as strictly as optguard's
// config file, and its errors name the file, the line and the dotted key
// (as config.Error values).

//go:embed scenarios/*.yaml
var builtinScenarioFS embed.FS

// builtinScenarios are the scenarios shipped in the binary, in the order
// listScenarios prints them.
var builtinScenarios = []string{"relay", "consent-mix", "stop-storm", "long-messages"}

type scenario struct {
	Name        string          `yaml:"name"`
	Description string          `yaml:"description"`
	Warmup      config.Duration `yaml:"warmup"`
	Binds       []bindGroup     `yaml:"binds"`
	Phases      []phaseSpec     `yaml:"phases"`
	Messages    []messageSpec   `yaml:"messages"`
	Receipts    share           `yaml:"receipts"`
	ReceiptWait config.Duration `yaml:"receipt_wait"`
	Handsets    handsetSpec     `yaml:"handsets"`
	MO          *moSpec         `yaml:"mo"`
	Sim         simSpec         `yaml:"sim"`
	Through     string          `yaml:"through"`
	Policy      *policySpec     `yaml:"policy"`
	Seed        uint64          `yaml:"seed"`

	file  string              // as given to parseScenario
	lines map[string]int      // dotted key → line of the key in the file
	plan  []testenv.LoadPhase // Phases with steps expanded, rates not yet split
	errs  []error
}

// bindGroup is Count binds of one kind and account.
type bindGroup struct {
	Count         int    `yaml:"count"`
	Bind          string `yaml:"bind"` // tx, trx or rx
	SystemID      string `yaml:"system_id"`
	Password      string `yaml:"password"`
	Window        int    `yaml:"window"`
	TLS           bool   `yaml:"tls"`
	TLSSkipVerify bool   `yaml:"tls_skip_verify"`
}

type phaseSpec struct {
	Name     string          `yaml:"name"`
	Duration config.Duration `yaml:"duration"`
	Rate     float64         `yaml:"rate"`
	RateTo   float64         `yaml:"rate_to"`
	Window   int             `yaml:"window"`
	Steps    *stepSpec       `yaml:"steps"`
}

// stepSpec expands into one phase per rate from From to To by Step.
type stepSpec struct {
	From float64         `yaml:"from"`
	To   float64         `yaml:"to"`
	Step float64         `yaml:"step"`
	Each config.Duration `yaml:"each"`
}

type messageSpec struct {
	Name   string    `yaml:"name"`
	Share  share     `yaml:"share"`
	Kind   string    `yaml:"kind"`   // submit_sm, data_sm or submit_multi
	Text   string    `yaml:"text"`   // "" = testenv's 160-character GSM-7 text
	Coding string    `yaml:"coding"` // gsm7 or ucs2
	Concat string    `yaml:"concat"` // udh or sar
	Dests  int       `yaml:"dests"`
	Source string    `yaml:"source"`
	TLVs   []tlvSpec `yaml:"tlvs"`
}

type tlvSpec struct {
	Tag tlvTag `yaml:"tag"`
	Hex string `yaml:"hex"`
}

type handsetSpec struct {
	First  msisdn      `yaml:"first"`
	Count  int         `yaml:"count"`
	TON    int         `yaml:"ton"`
	NPI    int         `yaml:"npi"`
	Plus   bool        `yaml:"plus"`
	Random bool        `yaml:"random"`
	Groups []groupSpec `yaml:"groups"`
}

type groupSpec struct {
	Name   string `yaml:"name"`
	Count  int    `yaml:"count"`
	State  string `yaml:"state"`  // opted_in, opted_out or unknown
	Expect string `yaml:"expect"` // delivered, refused or held
}

type moSpec struct {
	Rate     float64          `yaml:"rate"`
	Mix      map[string]share `yaml:"mix"`
	Long     share            `yaml:"long"`
	Handsets moHandsets       `yaml:"handsets"`
	To       string           `yaml:"to"`
}

type moHandsets struct {
	First msisdn `yaml:"first"`
	Count int    `yaml:"count"`
}

type simSpec struct {
	Latency       string `yaml:"latency"`
	Errors        string `yaml:"errors"`
	Drop          share  `yaml:"drop"`
	ReceiptStates string `yaml:"receipt_states"`
	ReceiptDelay  string `yaml:"receipt_delay"`
	DecimalIDs    bool   `yaml:"decimal_ids"`
}

type policySpec struct {
	Mode string `yaml:"mode"`
}

// share is a fraction of 1, written as a percentage ("70%") or a fraction (0.7).
type share float64

func (v *share) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("cannot use %s as a share (write it like 70%% or 0.7)", config.DescribeNode(n))
	}
	f, err := parseShare(n.Value)
	if err != nil {
		return err
	}
	*v = share(f)
	return nil
}

func parseShare(s string) (float64, error) {
	t, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("cannot use %q as a share (write it like 70%% or 0.7)", s)
	}
	if pct {
		f /= 100
	}
	switch {
	case f < 0:
		return 0, fmt.Errorf("share %s is negative", s)
	case f > 1 && !pct && f <= 100:
		// The likeliest slip: 70 meant as 70 %.
		return 0, fmt.Errorf("share %s is above 1: write %s%% for a percentage, or a fraction such as 0.7", s, s)
	case f > 1:
		return 0, fmt.Errorf("share %s is above 100%%", s)
	}
	return f, nil
}

// fmtShare writes a share as a percentage for messages.
func fmtShare(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 8, 64) + "%"
}

// tlvTag is a TLV tag, written as a number (0x1403 or 5123).
type tlvTag uint16

func (t *tlvTag) UnmarshalYAML(n *yaml.Node) error {
	v, err := strconv.ParseUint(n.Value, 0, 16)
	if n.Kind != yaml.ScalarNode || err != nil || v == 0 {
		return fmt.Errorf("cannot use %s as a TLV tag (write a number from 0x0001 to 0xFFFF, like 0x1403)", config.DescribeNode(n))
	}
	*t = tlvTag(v)
	return nil
}

// msisdn is a number's E.164 digits without the '+'.
type msisdn uint64

func (m *msisdn) UnmarshalYAML(n *yaml.Node) error {
	s := n.Value
	if n.Kind != yaml.ScalarNode || s == "" || len(s) > 15 || strings.Trim(s, "0123456789") != "" {
		hint := ""
		if strings.HasPrefix(s, "+") {
			hint = " without the +"
		}
		return fmt.Errorf("cannot use %s as a number: write its 1 to 15 digits%s, like 15550000000", config.DescribeNode(n), hint)
	}
	v, _ := strconv.ParseUint(s, 10, 64)
	*m = msisdn(v)
	return nil
}

// The values of the scenario's enumerations.
var (
	bindKinds     = []string{"tx", "trx", "rx"}
	messageKinds  = map[string]pdu.CommandID{"submit_sm": pdu.SubmitSM, "data_sm": pdu.DataSM, "submit_multi": pdu.SubmitMulti}
	codings       = []string{"gsm7", "ucs2"}
	concats       = []string{"udh", "sar"}
	groupStates   = []string{"opted_in", "opted_out", "unknown"}
	groupExpects  = []string{"delivered", "refused", "held"}
	throughs      = []string{"direct", "proxy", "policy"}
	policyModes   = []string{string(config.ModeConsent), string(config.ModeDisclaimer), string(config.ModeOff)}
	scenarioName  = regexp.MustCompile(`^[a-z0-9-]+$`)
	groupName     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	shareEpsilon  = 1e-6
	maxSteps      = 1000
	maxPayload    = 60000 // octets of message_payload: the PDU stays within pdu.DefaultMaxLen
	generatorTags = map[pdu.Tag]string{
		pdu.TagMessagePayload:   "message_payload",
		pdu.TagSarMsgRefNum:     "sar_msg_ref_num",
		pdu.TagSarTotalSegments: "sar_total_segments",
		pdu.TagSarSegmentSeqnum: "sar_segment_seqnum",
	}
)

// The defaults of keys a scenario leaves out.
const (
	defaultBindWindow   = 256
	defaultBindAccount  = "bench"
	defaultFirstHandset = 15550000000
	defaultHandsets     = 10000
	defaultMOFirst      = 15560000000
	defaultMOTo         = "+15550000001"
	defaultReceiptWait  = 5 * time.Second
)

// loadScenario reads a built-in scenario by name, or else the file at
// nameOrPath.
func loadScenario(nameOrPath string) (*scenario, error) {
	if slices.Contains(builtinScenarios, nameOrPath) {
		data, err := builtinScenarioFS.ReadFile("scenarios/" + nameOrPath + ".yaml")
		if err != nil {
			return nil, err
		}
		return parseScenario(data, "scenarios/"+nameOrPath+".yaml")
	}
	data, err := os.ReadFile(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(nameOrPath, `/\.`) {
		return nil, fmt.Errorf("scenario %q: not a built-in scenario (%s) and no such file", nameOrPath, strings.Join(builtinScenarios, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return parseScenario(data, nameOrPath)
}

// parseScenario decodes one YAML document strictly, fills in the defaults
// and validates the result; name is the file name its errors give. The
// errors are *config.Error values, several joined with errors.Join.
func parseScenario(data []byte, name string) (*scenario, error) {
	s := &scenario{
		Warmup:  config.Duration(time.Second),
		Through: "proxy",
		Seed:    1,
		Handsets: handsetSpec{
			First: defaultFirstHandset, Count: defaultHandsets, TON: 1, NPI: 1, Plus: true,
		},
		file:  name,
		lines: map[string]int{},
	}
	if err := s.decode(data); err != nil {
		return nil, err
	}
	s.defaults()
	s.validate()
	if len(s.errs) > 0 {
		return nil, errors.Join(s.errs...)
	}
	return s, nil
}

// decode reads data into s strictly, as the config file is read
// (config.DecodeStrict): unknown and duplicate keys and ill-typed values are
// errors with their file, line and dotted key, and every key's line is kept
// for the errors validation finds.
func (s *scenario) decode(data []byte) error {
	lines, err := config.DecodeStrict(data, s.file, "a scenario file", s)
	if err != nil {
		return err
	}
	s.lines = lines
	return nil
}

// has reports whether the file sets key.
func (s *scenario) has(key string) bool {
	_, ok := s.lines[key]
	return ok
}

// fail records a problem with key, at the key's line or, when the file
// does not set it, the line of the closest enclosing key it does set.
func (s *scenario) fail(key, format string, args ...any) {
	s.errs = append(s.errs, &config.Error{File: s.file, Line: config.Locate(s.lines, key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// defaults fills in what list elements and optional sections leave out
// (the top level's defaults are set before decoding).
func (s *scenario) defaults() {
	for i := range s.Binds {
		g, k := &s.Binds[i], fmt.Sprintf("binds[%d]", i)
		if !s.has(k + ".count") {
			g.Count = 1
		}
		if !s.has(k + ".bind") {
			g.Bind = "tx"
		}
		if !s.has(k + ".system_id") {
			g.SystemID = defaultBindAccount
		}
		if !s.has(k + ".password") {
			g.Password = defaultBindAccount
		}
		if !s.has(k+".window") && g.submits() {
			g.Window = defaultBindWindow
		}
	}
	for i := range s.Phases {
		if p := &s.Phases[i]; p.Name == "" && p.Steps == nil {
			p.Name = fmt.Sprintf("phase %d", i+1)
		}
	}
	if len(s.Messages) == 0 {
		s.Messages = []messageSpec{{Share: 1}}
	}
	for i := range s.Messages {
		m, k := &s.Messages[i], fmt.Sprintf("messages[%d]", i)
		if m.Kind == "" {
			m.Kind = "submit_sm"
		}
		if m.Coding == "" {
			m.Coding = "gsm7"
		}
		if m.Concat == "" {
			m.Concat = "udh"
		}
		if !s.has(k+".share") && len(s.Messages) == 1 {
			m.Share = 1
		}
		if m.Kind == "submit_multi" && !s.has(k+".dests") {
			m.Dests = 2
		}
		if m.Name == "" {
			m.Name = m.defaultName()
		}
	}
	if !s.has("receipt_wait") && s.Receipts > 0 {
		s.ReceiptWait = config.Duration(defaultReceiptWait)
	}
	if s.Through == "policy" && s.Policy == nil {
		s.Policy = &policySpec{}
	}
	if s.Policy != nil && !s.has("policy.mode") {
		s.Policy.Mode = string(config.ModeDisclaimer) // what bench's policy target runs
	}
	for i := range s.Handsets.Groups {
		g := &s.Handsets.Groups[i]
		if g.State == "" {
			g.State = "unknown"
		}
		if g.Expect == "" {
			g.Expect = s.expectFor(g.State)
		}
	}
	if s.MO != nil {
		if !s.has("mo.mix") {
			s.MO.Mix = map[string]share{"STOP": 1}
		}
		if !s.has("mo.handsets.first") {
			s.MO.Handsets.First = defaultMOFirst
		}
		if !s.has("mo.handsets.count") {
			s.MO.Handsets.Count = defaultHandsets
		}
		if !s.has("mo.to") {
			s.MO.To = defaultMOTo
		}
	}
}

// expectFor is what a group's messages meet when the file does not say:
// an opt-out refuses, and consent mode holds the messages of handsets that
// have not consented.
func (s *scenario) expectFor(state string) string {
	switch {
	case state == "opted_out":
		return "refused"
	case state == "unknown" && s.policyMode() == config.ModeConsent:
		return "held"
	}
	return "delivered"
}

// policyMode is the mode the in-process policy runs in; "" without one.
func (s *scenario) policyMode() config.Mode {
	if s.Through != "policy" || s.Policy == nil {
		return ""
	}
	if s.Policy.Mode == "" {
		return config.ModeDisclaimer
	}
	return config.Mode(s.Policy.Mode)
}

func (m *messageSpec) defaultName() string {
	name := m.Kind
	if m.Coding == "ucs2" {
		name += "-ucs2"
	}
	if m.Concat == "sar" {
		name += "-sar"
	}
	return name
}

func (g *bindGroup) submits() bool  { return g.Bind == "tx" || g.Bind == "trx" }
func (g *bindGroup) receives() bool { return g.Bind == "rx" || g.Bind == "trx" }

func (g *bindGroup) bindID() pdu.CommandID {
	switch g.Bind {
	case "trx":
		return pdu.BindTransceiver
	case "rx":
		return pdu.BindReceiver
	}
	return pdu.BindTransmitter
}

// tlsConfig is the group's client TLS configuration; nil without TLS.
func (g *bindGroup) tlsConfig() *tls.Config {
	if !g.TLS {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: g.TLSSkipVerify, MinVersion: tls.VersionTLS12}
}

func oneOf(v string, vals []string) string {
	return fmt.Sprintf("%q: want %s", v, strings.Join(vals, ", "))
}

func (s *scenario) validate() {
	switch {
	case s.Name == "":
		s.fail("name", "is required (lower-case letters, digits and -)")
	case !scenarioName.MatchString(s.Name):
		s.fail("name", "%q: use lower-case letters, digits and - only", s.Name)
	}
	if strings.ContainsAny(s.Description, "\r\n") {
		s.fail("description", "must be one line")
	}
	if s.Warmup < 0 {
		s.fail("warmup", "must not be negative")
	}
	s.validateBinds()
	s.validatePhases()
	s.validateHandsets()
	s.validateMessages()
	if s.ReceiptWait < 0 {
		s.fail("receipt_wait", "must not be negative")
	}
	if s.Receipts > 0 && !s.anyBind((*bindGroup).receives) {
		s.fail("receipts", "asks for receipts, but no bind group receives them (add a trx or rx group)")
	}
	s.validateMO()
	s.validateSim()
	if !slices.Contains(throughs, s.Through) {
		s.fail("through", "%s", oneOf(s.Through, throughs))
	}
	if s.has("policy") && s.Through != "policy" {
		s.fail("policy", "goes with through: policy only")
	}
	if s.Policy != nil && !slices.Contains(policyModes, s.Policy.Mode) {
		s.fail("policy.mode", "%s", oneOf(s.Policy.Mode, policyModes))
	}
}

func (s *scenario) anyBind(f func(*bindGroup) bool) bool {
	for i := range s.Binds {
		if f(&s.Binds[i]) {
			return true
		}
	}
	return false
}

func (s *scenario) validateBinds() {
	if len(s.Binds) == 0 {
		s.fail("binds", "needs at least one group of binds that submits (bind: tx or trx)")
		return
	}
	for i := range s.Binds {
		g, k := &s.Binds[i], fmt.Sprintf("binds[%d]", i)
		if g.Count < 1 || g.Count > 10000 {
			s.fail(k+".count", "%d: want 1 … 10000 binds", g.Count)
		}
		if !slices.Contains(bindKinds, g.Bind) {
			s.fail(k+".bind", "%s", oneOf(g.Bind, bindKinds))
			continue
		}
		if g.SystemID == "" || len(g.SystemID) > 15 {
			s.fail(k+".system_id", "%q: want 1 … 15 characters (SMPP's limit)", g.SystemID)
		}
		if len(g.Password) > 8 {
			s.fail(k+".password", "longer than SMPP's 8 characters")
		}
		switch {
		case !g.submits() && s.has(k+".window"):
			s.fail(k+".window", "rx binds send no requests: window goes with tx and trx only")
		case g.submits() && (g.Window < 1 || g.Window > 65536):
			s.fail(k+".window", "%d: want 1 … 65536 outstanding requests", g.Window)
		}
		if g.TLSSkipVerify && !g.TLS {
			s.fail(k+".tls_skip_verify", "goes with tls: true")
		}
	}
	known := !s.anyBind(func(g *bindGroup) bool { return !slices.Contains(bindKinds, g.Bind) })
	if known && !s.anyBind((*bindGroup).submits) {
		s.fail("binds", "no group submits: add one with bind: tx or trx")
	}
}

// validatePhases checks the phases and expands them into s.plan.
func (s *scenario) validatePhases() {
	if len(s.Phases) == 0 {
		s.fail("phases", "needs at least one phase")
		return
	}
	for i := range s.Phases {
		p, k := &s.Phases[i], fmt.Sprintf("phases[%d]", i)
		if p.Steps != nil {
			for _, other := range []string{"name", "duration", "rate", "rate_to", "window"} {
				if s.has(k + "." + other) {
					s.fail(k+"."+other, "does not go with steps (each step is a phase of its own: steps.each is its duration)")
				}
			}
			s.expandSteps(p.Steps, k+".steps")
			continue
		}
		if p.Duration <= 0 {
			s.fail(k+".duration", "is required and must be positive, like 10s")
		}
		if p.Rate < 0 {
			s.fail(k+".rate", "must not be negative")
		}
		switch {
		case p.RateTo < 0:
			s.fail(k+".rate_to", "must not be negative")
		case p.RateTo > 0 && p.Rate <= 0:
			s.fail(k+".rate_to", "a ramp needs a starting rate above 0: set rate")
		}
		if p.Window < 0 || p.Window > 65536 {
			s.fail(k+".window", "%d: want 1 … 65536 outstanding requests per bind (or none: the binds' own window)", p.Window)
		}
		s.plan = append(s.plan, testenv.LoadPhase{Name: p.Name, Duration: time.Duration(p.Duration), Rate: p.Rate, RateTo: p.RateTo, Window: p.Window})
	}
}

func (s *scenario) expandSteps(st *stepSpec, k string) {
	bad := false
	for _, f := range []struct {
		key string
		v   float64
	}{{"from", st.From}, {"to", st.To}, {"step", st.Step}} {
		if f.v <= 0 {
			s.fail(k+"."+f.key, "is required and must be above 0 (messages per second)")
			bad = true
		}
	}
	if st.Each <= 0 {
		s.fail(k+".each", "is required and must be positive: each step's duration, like 5s")
		bad = true
	}
	if bad {
		return
	}
	span := math.Abs(st.To - st.From)
	n := span / st.Step
	switch {
	case span == 0:
		s.fail(k+".to", "equals from: write one phase with that rate instead")
		return
	case st.Step > span:
		s.fail(k+".step", "%g is more than the span from %g to %g", st.Step, st.From, st.To)
		return
	case math.Abs(n-math.Round(n)) > 1e-9*max(n, 1):
		s.fail(k+".step", "%g does not divide the span from %g to %g into whole steps", st.Step, st.From, st.To)
		return
	case n+1 > float64(maxSteps):
		s.fail(k+".step", "makes %.0f steps: at most %d", n+1, maxSteps)
		return
	}
	dir := 1.0
	if st.To < st.From {
		dir = -1 // stepping down
	}
	for i := 0; i <= int(math.Round(n)); i++ {
		r := st.From + dir*float64(i)*st.Step
		s.plan = append(s.plan, testenv.LoadPhase{Name: fmt.Sprintf("step %g/s", r), Duration: time.Duration(st.Each), Rate: r})
	}
}

func (s *scenario) validateHandsets() {
	h := &s.Handsets
	if h.First == 0 {
		s.fail("handsets.first", "must be a number above 0")
	}
	if h.Count < 1 {
		s.fail("handsets.count", "%d: want at least 1 handset", h.Count)
	} else if err := sameWidth(uint64(h.First), h.Count); err != nil {
		s.fail("handsets.count", "%v", err)
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"ton", h.TON}, {"npi", h.NPI}} {
		if f.v < 0 || f.v > 255 {
			s.fail("handsets."+f.key, "%d: want 0 … 255", f.v)
		}
	}
	names := map[string]bool{}
	total := 0
	for i := range h.Groups {
		g, k := &h.Groups[i], fmt.Sprintf("handsets.groups[%d]", i)
		switch {
		case g.Name == "":
			s.fail(k+".name", "is required")
		case !groupName.MatchString(g.Name):
			s.fail(k+".name", "%q: use letters, digits, _ and - only", g.Name)
		case names[g.Name]:
			s.fail(k+".name", "%q names two groups", g.Name)
		}
		names[g.Name] = true
		if g.Count < 1 {
			s.fail(k+".count", "%d: want at least 1 handset", g.Count)
		} else if total += g.Count; total > h.Count && h.Count > 0 {
			s.fail(k+".count", "the groups reach %d handsets here, more than the population's %d (handsets.count)", total, h.Count)
		}
		if !slices.Contains(groupStates, g.State) {
			s.fail(k+".state", "%s", oneOf(g.State, groupStates))
		} else if g.State != "unknown" && s.Through != "policy" {
			s.fail(k+".state", "%s needs through: policy (only the policy keeps consent)", g.State)
		}
		switch {
		case !s.has(k + ".expect"):
			// Derived from the state: consistent with it.
		case !slices.Contains(groupExpects, g.Expect):
			s.fail(k+".expect", "%s", oneOf(g.Expect, groupExpects))
		case g.Expect == "held" && s.policyMode() != config.ModeConsent:
			s.fail(k+".expect", "held needs through: policy with policy.mode consent (only consent mode holds messages)")
		case g.Expect == "refused" && s.Through != "policy":
			s.fail(k+".expect", "refused needs through: policy (only the policy refuses messages)")
		}
	}
}

// sameWidth checks that count numbers from first keep one length of at most
// 15 digits, as the load generator patches them in place.
func sameWidth(first uint64, count int) error {
	a := strconv.FormatUint(first, 10)
	b := strconv.FormatUint(first+uint64(max(count, 1)-1), 10)
	if len(a) != len(b) || len(a) > 15 {
		return fmt.Errorf("%d handsets from %s end at %s: the numbers must keep one length of at most 15 digits", count, a, b)
	}
	return nil
}

func (s *scenario) validateMessages() {
	total := 0.0
	names := map[string]int{}
	for i := range s.Messages {
		m, k := &s.Messages[i], fmt.Sprintf("messages[%d]", i)
		if first, dup := names[m.Name]; dup {
			s.fail(k+".name", "%q is also messages[%d]'s name: give each message a name of its own", m.Name, first)
		}
		names[m.Name] = i
		if len(s.Messages) > 1 && !s.has(k+".share") {
			s.fail(k+".share", "is required when the mix has more than one message")
		}
		total += float64(m.Share)
		kind, ok := messageKinds[m.Kind]
		if !ok {
			s.fail(k+".kind", "%s", oneOf(m.Kind, slices.Sorted(maps.Keys(messageKinds))))
		}
		if !slices.Contains(codings, m.Coding) {
			s.fail(k+".coding", "%s", oneOf(m.Coding, codings))
		}
		if !slices.Contains(concats, m.Concat) {
			s.fail(k+".concat", "%s", oneOf(m.Concat, concats))
		} else if kind == pdu.DataSM && s.has(k+".concat") {
			s.fail(k+".concat", "data_sm carries the whole text in message_payload: concat does not apply")
		}
		if ok && slices.Contains(codings, m.Coding) {
			s.validateText(m, kind, k)
		}
		switch {
		case kind != pdu.SubmitMulti && s.has(k+".dests"):
			s.fail(k+".dests", "goes with kind: submit_multi only")
		case kind == pdu.SubmitMulti && (m.Dests < 2 || m.Dests > 254):
			s.fail(k+".dests", "%d: want 2 … 254 destinations", m.Dests)
		case kind == pdu.SubmitMulti && m.Dests > s.Handsets.Count:
			s.fail(k+".dests", "%d destinations, more than the %d handsets of the population", m.Dests, s.Handsets.Count)
		}
		if s.has(k + ".source") {
			if err := checkAddress(m.Source); err != nil {
				s.fail(k+".source", "%v", err)
			}
		}
		for j, t := range m.TLVs {
			tk := fmt.Sprintf("%s.tlvs[%d]", k, j)
			if !s.has(tk + ".tag") {
				s.fail(tk+".tag", "is required")
			} else if name, ok := generatorTags[pdu.Tag(t.Tag)]; ok {
				s.fail(tk+".tag", "0x%04X (%s) is written by bench itself", uint16(t.Tag), name)
			}
			if v, err := hex.DecodeString(t.Hex); err != nil {
				s.fail(tk+".hex", "%q is not hexadecimal octets, like \"0102\"", t.Hex)
			} else if len(v) > 65535 {
				s.fail(tk+".hex", "longer than a TLV's 65535 octets")
			}
		}
	}
	if math.Abs(total-1) > shareEpsilon {
		s.fail("messages", "the shares add up to %s: want 100%%", fmtShare(total))
	}
}

// validateText checks that m's text can be sent as the message asks.
func (s *scenario) validateText(m *messageSpec, kind pdu.CommandID, k string) {
	if m.Text == "" {
		return // testenv's default text: 160 GSM-7 characters
	}
	key := k + ".text"
	if !utf8.ValidString(m.Text) {
		s.fail(key, "is not valid UTF-8")
		return
	}
	ucs2 := m.Coding == "ucs2"
	if !ucs2 {
		if _, bad, ok := pdu.GSM7Fit(m.Text); !ok {
			s.fail(key, "%q is not in the GSM 03.38 alphabet: set coding: ucs2", bad)
			return
		}
	}
	if kind == pdu.DataSM {
		n, _, _ := pdu.GSM7Fit(m.Text) // unpacked: an octet per septet
		if ucs2 {
			n = 2 * len(utf16Units(m.Text))
		}
		if n > maxPayload {
			s.fail(key, "takes %d octets of message_payload: at most %d", n, maxPayload)
		}
		return
	}
	if parts, err := textParts(m.Text, ucs2); err != nil {
		s.fail(key, "%v", err)
	} else if s.has(k+".concat") && parts == 1 {
		s.fail(k+".concat", "the text fits one SMS: nothing to concatenate")
	}
}

// textParts is how many short_messages text takes, as the load generator
// splits it (an 8-bit concatenation UDH in each part of a long text).
func textParts(text string, ucs2 bool) (int, error) {
	if !ucs2 {
		_, parts, err := pdu.SplitText(text, 0, false)
		return len(parts), err
	}
	units := utf16Units(text)
	if 2*len(units) <= 140 {
		return 1, nil
	}
	n := 0
	for off := 0; off < len(units); n++ {
		end := min(off+67, len(units))
		if end < len(units) && units[end-1] >= 0xD800 && units[end-1] < 0xDC00 {
			end-- // a surrogate pair stays in one part
		}
		off = end
	}
	if n > 255 {
		return n, pdu.ErrTextTooLong
	}
	return n, nil
}

func utf16Units(s string) []uint16 {
	var u []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			u = append(u, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		u = append(u, uint16(r))
	}
	return u
}

// checkAddress checks a source or destination address as written.
func checkAddress(a string) error {
	switch {
	case a == "":
		return errors.New("must not be empty")
	case len(a) > 20:
		return fmt.Errorf("%q is longer than SMPP's 20 characters", a)
	}
	for _, r := range a {
		if r < 0x20 || r > 0x7E {
			return fmt.Errorf("%q: printable ASCII only", a)
		}
	}
	return nil
}

// sourceAddr is source_addr as written: international (TON 1) with a
// leading +, else unknown (TON 0), both with the E.164 plan (NPI 1).
func sourceAddr(a string) pdu.Addr {
	if a == "" {
		return pdu.Addr{} // the generator's default, +15550000001
	}
	if strings.HasPrefix(a, "+") {
		return pdu.Addr{TON: 1, NPI: 1, Addr: a}
	}
	return pdu.Addr{TON: 0, NPI: 1, Addr: a}
}

func (s *scenario) validateMO() {
	mo := s.MO
	if mo == nil {
		return
	}
	if mo.Rate <= 0 {
		s.fail("mo.rate", "is required and must be above 0 (MOs per second)")
	}
	if !s.anyBind((*bindGroup).receives) {
		s.fail("mo", "MOs need a bind group that receives them (add a trx or rx group)")
	}
	if len(mo.Mix) == 0 {
		s.fail("mo.mix", "needs at least one text")
	}
	total := 0.0
	for _, text := range slices.Sorted(maps.Keys(mo.Mix)) {
		total += float64(mo.Mix[text])
		if !oneSMS(text) {
			s.fail("mo.mix."+text, "each text must be one SMS (1 … 160 GSM-7 or 70 UCS2 characters)")
		}
	}
	if len(mo.Mix) > 0 && math.Abs(total-1) > shareEpsilon {
		s.fail("mo.mix", "the shares add up to %s: want 100%%", fmtShare(total))
	}
	if mo.Handsets.First == 0 {
		s.fail("mo.handsets.first", "must be a number above 0")
	}
	if mo.Handsets.Count < 1 {
		s.fail("mo.handsets.count", "%d: want at least 1 handset", mo.Handsets.Count)
	} else if err := sameWidth(uint64(mo.Handsets.First), mo.Handsets.Count); err != nil {
		s.fail("mo.handsets.count", "%v", err)
	}
	if err := checkAddress(mo.To); err != nil {
		s.fail("mo.to", "%v", err)
	}
}

// oneSMS reports whether the simulator sends text as one SMS: GSM-7 when
// it can carry the text (160 septets), else UCS2 (70 UTF-16 units).
func oneSMS(text string) bool {
	if text == "" {
		return false
	}
	if n, _, ok := pdu.GSM7Fit(text); ok {
		return n <= 160
	}
	return len(utf16Units(text)) <= 70
}

// validateSim checks the simulator's specs key by key, with the parsers the
// sim command uses, then builds the profile as sim does.
func (s *scenario) validateSim() {
	sim := &s.Sim
	ok := true
	check := func(key string, err error) {
		if err != nil {
			s.fail("sim."+key, "%v", err)
			ok = false
		}
	}
	if l, err := testenv.ParseLatency(sim.Latency); err != nil {
		check("latency", err)
	} else {
		check("latency", checkLatency(l))
	}
	sum := float64(sim.Drop)
	names, shares, err := testenv.ParseShares(sim.Errors)
	check("errors", err)
	for i, name := range names {
		st, known := pdu.ParseStatus(name)
		switch {
		case !known:
			check("errors", fmt.Errorf("%q is not a command_status name (such as ESME_RTHROTTLED)", name))
		case st == pdu.ESME_ROK:
			check("errors", fmt.Errorf("ESME_ROK is not a refusal: the rest of the answers are ESME_ROK"))
		}
		sum += shares[i]
	}
	if sum > 1+shareEpsilon {
		check("errors", fmt.Errorf("the error shares and sim.drop add up to %s: want at most 100%%", fmtShare(sum)))
	}
	names, shares, err = testenv.ParseShares(sim.ReceiptStates)
	check("receipt_states", err)
	rs := 0.0
	for i, name := range names {
		if len(name) > 7 || strings.Trim(strings.ToUpper(name), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			check("receipt_states", fmt.Errorf("%q: a state is up to 7 letters, like DELIVRD", name))
		}
		rs += shares[i]
	}
	if len(names) > 0 && math.Abs(rs-1) > shareEpsilon {
		check("receipt_states", fmt.Errorf("the shares add up to %s: want 100%%", fmtShare(rs)))
	}
	if _, err := parseReceiptDelay(sim.ReceiptDelay); err != nil {
		check("receipt_delay", err)
	}
	if ok {
		if _, err := s.simProfile(); err != nil {
			s.fail("sim", "%v", err)
		}
	}
}

func checkLatency(l testenv.Latency) error {
	switch {
	case l.Base < 0 || l.Max < 0 || l.Sigma < 0:
		return errors.New("no value may be negative")
	case l.Kind == testenv.LatencyUniform && l.Max < l.Base:
		return fmt.Errorf("uniform %v-%v: the most is below the least", l.Base, l.Max)
	}
	return nil
}

// parseReceiptDelay reads sim.receipt_delay: a duration (1s) or a latency
// spec (lognormal:1s,0.5,5s).
func parseReceiptDelay(v string) (testenv.Latency, error) {
	if v == "" {
		return testenv.Latency{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return testenv.Latency{}, errors.New("must not be negative")
		}
		return testenv.Latency{Kind: testenv.LatencyFixed, Base: d}, nil
	}
	l, err := testenv.ParseLatency(v)
	if err != nil {
		return l, fmt.Errorf("%q: want a duration such as 1s or a latency spec such as lognormal:1s,0.5", v)
	}
	return l, checkLatency(l)
}

// loadConfig is the whole scenario as one RunLoad to addr: every bind
// group, the receive-only ones too (receipts arriving on them are matched
// to the requests of the same run), sharing the phases' pace.
func (s *scenario) loadConfig(addr string) (testenv.LoadConfig, error) {
	c, err := s.baseLoad(addr)
	if err != nil {
		return c, err
	}
	for i := range s.Binds {
		c.BindGroups = append(c.BindGroups, s.Binds[i].loadGroup())
	}
	c.Phases = slices.Clone(s.plan)
	c.Seed = s.Seed
	return c, nil
}

// loadConfigs is the scenario as one RunLoad per bind group that submits,
// to addr: the phases' rates split across the groups in proportion to
// their binds, each group with a seed of its own. Receive-only groups are
// not in it (see receivers), so receipts and MOs they take are not in
// these runs' figures: loadConfig is the one run that has them all.
func (s *scenario) loadConfigs(addr string) ([]testenv.LoadConfig, error) {
	var groups []*bindGroup
	total := 0
	for i := range s.Binds {
		if g := &s.Binds[i]; g.submits() {
			groups, total = append(groups, g), total+g.Count
		}
	}
	if len(groups) == 0 {
		return nil, errors.New("scenario: no bind group submits")
	}
	given := make([]struct{ rate, rateTo float64 }, len(s.plan))
	out := make([]testenv.LoadConfig, len(groups))
	for j, g := range groups {
		phases := slices.Clone(s.plan)
		for k := range phases {
			p := &phases[k]
			if j == len(groups)-1 {
				// The last group takes what is left, so that the groups'
				// rates add up to the phase's exactly.
				p.Rate, p.RateTo = p.Rate-given[k].rate, p.RateTo-given[k].rateTo
				p.Rate, p.RateTo = max(p.Rate, 0), max(p.RateTo, 0)
			} else {
				f := float64(g.Count) / float64(total)
				p.Rate, p.RateTo = p.Rate*f, p.RateTo*f
				given[k].rate += p.Rate
				given[k].rateTo += p.RateTo
			}
		}
		c, err := s.baseLoad(addr)
		if err != nil {
			return nil, err
		}
		c.Binds, c.Window, c.SystemID, c.Password, c.BindID = g.Count, g.Window, g.SystemID, g.Password, g.bindID()
		if g.TLS {
			// Only a bind group carries TLS; it replaces the fields above.
			c.BindGroups = []testenv.LoadBindGroup{g.loadGroup()}
		}
		c.Phases = phases
		c.Seed = groupSeed(s.Seed, j)
		out[j] = c
	}
	return out, nil
}

// baseLoad is what every run of the scenario shares: the mix, the
// population, the receipts, the warmup and the measured period.
func (s *scenario) baseLoad(addr string) (testenv.LoadConfig, error) {
	mix, err := s.loadMix()
	if err != nil {
		return testenv.LoadConfig{}, err
	}
	var measured time.Duration
	for _, p := range s.plan {
		measured += p.Duration
	}
	h := s.loadHandsets()
	return testenv.LoadConfig{
		Addr:         addr,
		Warmup:       time.Duration(s.Warmup),
		Duration:     measured,
		Mix:          mix,
		Handsets:     &h,
		ReceiptShare: float64(s.Receipts),
		ReceiptWait:  time.Duration(s.ReceiptWait),
	}, nil
}

func (g *bindGroup) loadGroup() testenv.LoadBindGroup {
	return testenv.LoadBindGroup{
		Count: g.Count, BindID: g.bindID(), SystemID: g.SystemID, Password: g.Password,
		Window: g.Window, TLS: g.tlsConfig(),
	}
}

// groupSeed gives each bind group its own draws (a Weyl sequence: distinct
// for distinct groups of one run).
func groupSeed(seed uint64, group int) uint64 {
	return seed + uint64(group)*0x9E3779B97F4A7C15
}

// receivers returns the receive-only (rx) bind groups, which loadConfigs
// leaves out.
func (s *scenario) receivers() []bindGroup {
	return slices.DeleteFunc(slices.Clone(s.Binds), func(g bindGroup) bool { return g.submits() })
}

// loadMix is the message mix, the shares scaled to add up to 1 exactly.
func (s *scenario) loadMix() ([]testenv.LoadMessage, error) {
	total := 0.0
	for _, m := range s.Messages {
		total += float64(m.Share)
	}
	mix := make([]testenv.LoadMessage, len(s.Messages))
	for i, m := range s.Messages {
		lm := testenv.LoadMessage{
			Name:   m.Name,
			Share:  float64(m.Share) / total,
			Kind:   messageKinds[m.Kind],
			Text:   m.Text,
			UCS2:   m.Coding == "ucs2",
			SAR:    m.Concat == "sar",
			Source: sourceAddr(m.Source),
		}
		if lm.Kind == pdu.SubmitMulti {
			lm.Dests = m.Dests
		}
		for _, t := range m.TLVs {
			v, err := hex.DecodeString(t.Hex)
			if err != nil {
				return nil, fmt.Errorf("scenario: messages[%d]: tlv 0x%04X: %w", i, uint16(t.Tag), err)
			}
			lm.TLVs = append(lm.TLVs, pdu.TLV{Tag: pdu.Tag(t.Tag), Value: v})
		}
		mix[i] = lm
	}
	return mix, nil
}

func (s *scenario) loadHandsets() testenv.LoadHandsets {
	h := testenv.LoadHandsets{
		First: uint64(s.Handsets.First), Count: s.Handsets.Count,
		TON: byte(s.Handsets.TON), NPI: byte(s.Handsets.NPI),
		Plus: s.Handsets.Plus, Random: s.Handsets.Random,
	}
	for _, g := range s.Handsets.Groups {
		h.Groups = append(h.Groups, testenv.HandsetGroup{Name: g.Name, Count: g.Count})
	}
	return h
}

// simProfile is the in-process simulator's load profile, as the sim command
// builds it from the same specs; nil when the scenario asks for none.
func (s *scenario) simProfile() (*testenv.LoadProfile, error) {
	drop := strconv.FormatFloat(float64(s.Sim.Drop), 'g', -1, 64)
	p, err := simLoadProfile(s.Sim.Latency, s.Sim.Errors, drop, s.Sim.ReceiptStates, s.Seed)
	if err != nil {
		return nil, fmt.Errorf("scenario: sim: %w", err)
	}
	return p, nil
}

// smscConfig is the in-process simulator's configuration: the load
// profile, and receipts when the scenario asks for them.
func (s *scenario) smscConfig() (testenv.SMSCConfig, error) {
	p, err := s.simProfile()
	if err != nil {
		return testenv.SMSCConfig{}, err
	}
	l, err := parseReceiptDelay(s.Sim.ReceiptDelay)
	if err != nil {
		return testenv.SMSCConfig{}, fmt.Errorf("scenario: sim.receipt_delay: %w", err)
	}
	if l.Kind != testenv.LatencyNone {
		if p == nil {
			p = &testenv.LoadProfile{Seed: s.Seed}
		}
		p.ReceiptDelay = l // drawn per receipt
	}
	return testenv.SMSCConfig{
		AutoReceipts: s.Receipts > 0,
		DecimalIDs:   s.Sim.DecimalIDs,
		Load:         p,
	}, nil
}

// moStorm is the MO traffic the in-process simulator sends beside the load,
// until the run's context ends; nil without mo.
func (s *scenario) moStorm() *testenv.StormConfig {
	if s.MO == nil {
		return nil
	}
	total := 0.0
	for _, v := range s.MO.Mix {
		total += float64(v)
	}
	var mix []testenv.TextShare
	for _, text := range slices.Sorted(maps.Keys(s.MO.Mix)) { // sorted: the same draws every run
		mix = append(mix, testenv.TextShare{Text: text, Share: float64(s.MO.Mix[text]) / total})
	}
	var systemID string
	for _, g := range s.Binds {
		if g.receives() {
			systemID = g.SystemID
			break
		}
	}
	return &testenv.StormConfig{
		SystemID:     systemID,
		Count:        0, // with Rate: until the context ends
		Rate:         s.MO.Rate,
		Mix:          mix,
		Handsets:     s.MO.Handsets.Count,
		FirstHandset: uint64(s.MO.Handsets.First),
		To:           s.MO.To,
		Seed:         s.Seed ^ 0x6d6f, // not the MT draws' seed
		LongShare:    float64(s.MO.Long),
	}
}

// listScenarios prints the built-in scenarios' names and descriptions.
func listScenarios(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range builtinScenarios {
		desc := ""
		if sc, err := loadScenario(name); err != nil {
			desc = "(broken: " + err.Error() + ")"
		} else {
			desc = sc.Description
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, desc)
	}
	tw.Flush()
}
