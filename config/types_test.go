package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDurationParse(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"72h", 72 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5s", 1500 * time.Millisecond},
		{"0s", 0},
		{"0", 0},
		{"-1s", -time.Second}, // parses; Validate rejects it where it matters
	}
	for _, tt := range good {
		var d Duration
		if err := yaml.Unmarshal([]byte("d: "+tt.in), &struct{ D *Duration }{&d}); err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if time.Duration(d) != tt.want {
			t.Errorf("%q = %v, want %v", tt.in, time.Duration(d), tt.want)
		}
	}

	bad := []struct{ in, want string }{
		{"30", "cannot use 30 as a duration: durations are written with a unit, like 30s"},
		{"'30'", "cannot use 30 as a duration: durations are written with a unit, like 30s"},
		{"2.5", "cannot use 2.5 as a duration: durations are written with a unit, like 30s"},
		{"-5", "cannot use -5 as a duration: durations are written with a unit, like 30s"},
		{"abc", `cannot use "abc" as a duration (write it like 30s, 500ms or 72h)`},
		{"30 s", `cannot use "30 s" as a duration (write it like 30s, 500ms or 72h)`},
		{"3d", `cannot use "3d" as a duration (write it like 30s, 500ms or 72h)`},
		{"''", `cannot use "" as a duration (write it like 30s, 500ms or 72h)`},
		{"{a: 1}", `cannot use a mapping as a duration (write it like 30s, 500ms or 72h)`},
	}
	for _, tt := range bad {
		var d Duration
		err := yaml.Unmarshal([]byte("d: "+tt.in), &struct{ D *Duration }{&d})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestDurationFormat(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{30 * time.Second, "30s"},
		{500 * time.Millisecond, "500ms"},
		{10 * time.Minute, "10m"},
		{72 * time.Hour, "72h"},
		{720 * time.Hour, "720h"},
		{90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"},
		{time.Hour + 30*time.Second, "1h0m30s"},
		{1500 * time.Millisecond, "1.5s"},
		{-time.Minute, "-1m"},
	}
	for _, tt := range tests {
		d := Duration(tt.d)
		if got := d.String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
		out, err := yaml.Marshal(map[string]Duration{"d": d})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "d: "+tt.want {
			t.Errorf("yaml.Marshal(%v) = %q, want %q", tt.d, got, "d: "+tt.want)
		}
		text, _ := d.MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("round trip of %v: got %v, %v", tt.d, time.Duration(back), err)
		}
	}
}

func TestStatusParse(t *testing.T) {
	good := []struct {
		in   string
		want Status
	}{
		{"ESME_ROK", 0x00},
		{"ESME_RINVMSGLEN", 0x01},
		{"ESME_RSYSERR", 0x08},
		{"esme_rsyserr", 0x08},
		{"Esme_RThrottled", 0x58},
		{"ESME_RMSGQFUL", 0x14},
		{"ESME_RX_T_APPN", 0x64},
		{"ESME_RX_P_APPN", 0x65},
		{"ESME_RX_R_APPN", 0x66},
		{"ESME_RSUBMITFAIL", 0x45},
		{"ESME_RINVDSTADR", 0x0B},
		{"ESME_RUNKNOWNERR", 0xFF},
		{"ESME_RDELIVERYFAILURE", 0xFE},
		{"0x08", 0x08},
		{"0X45", 0x45},
		{"8", 8},
		{"08", 8}, // decimal, not octal
		{"69", 0x45},
		{"0x0400", 0x400},
		{"'0x58'", 0x58},
		{"4294967295", 0xFFFFFFFF},
	}
	for _, tt := range good {
		var s Status
		if err := yaml.Unmarshal([]byte("s: "+tt.in), &struct{ S *Status }{&s}); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if s != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.in, uint32(s), uint32(tt.want))
		}
	}

	for _, in := range []string{"ESME_RNOPE", "-1", "4294967296", "0x1FFFFFFFF", "0x", "''", "1.5", "8h", "[8]"} {
		var s Status
		err := yaml.Unmarshal([]byte("s: "+in), &struct{ S *Status }{&s})
		if err == nil || !strings.Contains(err.Error(), "as a command_status") {
			t.Errorf("%s: error %v, want a command_status error", in, err)
		}
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{0x08, "ESME_RSYSERR"},
		{0x00, "ESME_ROK"},
		{0xFE, "ESME_RDELIVERYFAILURE"},
		{0x0A, "0x0000000A"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%#x).String() = %q, want %q", uint32(tt.s), got, tt.want)
		}
		text, _ := tt.s.MarshalText()
		var back Status
		if err := back.UnmarshalText(text); err != nil || back != tt.s {
			t.Errorf("round trip of %q: got %#x, %v", tt.want, uint32(back), err)
		}
	}
}

func TestStatusNamesUnique(t *testing.T) {
	names, values := map[string]bool{}, map[Status]bool{}
	for _, e := range statusNames {
		if names[e.name] || values[e.status] {
			t.Errorf("status table repeats %s / %#x", e.name, uint32(e.status))
		}
		names[e.name], values[e.status] = true, true
	}
	if len(statusNames) != 12 {
		t.Errorf("status table has %d names, want the 12 documented ones", len(statusNames))
	}
}

// TestMarshalRoundTrip checks that a marshalled Config parses back to itself,
// so Duration and Status marshal in the form they are read.
func TestMarshalRoundTrip(t *testing.T) {
	c := Default()
	c.Session.TimeoutStatus = 0x0A // no name: written as a number
	c.Upstream.Default.Address = "smsc:2775"
	c.Upstream.Routes = []Route{{Name: "a", SystemIDs: []string{"acme"}, Address: "a:1", ConnectTimeout: Duration(1500 * time.Millisecond), TLS: &UpstreamTLS{Enabled: true}}}
	c.Store.HoldMaxPerScope = 50
	c.Admin.Tokens = []APIToken{{Name: "desk", Role: RoleAgent, Organizations: []string{"acme"}, SHA256: TokenHash("og_x")}}
	c.Admin.MaxUploadBytes = 1e9
	c.Organizations = mustParse(t, fullFile).Organizations // sub-organizations too: unset keys stay unset
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"response_timeout: 30s", "id_map_ttl: 72h", "timeout_status: \"0x0000000A\"", "connect_timeout: 1.5s", "refused_status: ESME_RX_R_APPN", "relay_keyword_mo: false", "max_upload_bytes: \"1000000000\"", "role: agent"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("marshalled config lacks %q:\n%s", want, out)
		}
	}
	back := mustParse(t, string(out))
	if !sameConfig(back, c) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", back, c)
	}
}
