package pdu

import (
	"strings"
	"testing"
)

// specCommands is SMPP v3.4 section 5.1.2.1, written out independently of
// command.go.
var specCommands = []struct {
	id   CommandID
	name string
}{
	{0x80000000, "generic_nack"},
	{0x00000001, "bind_receiver"},
	{0x80000001, "bind_receiver_resp"},
	{0x00000002, "bind_transmitter"},
	{0x80000002, "bind_transmitter_resp"},
	{0x00000003, "query_sm"},
	{0x80000003, "query_sm_resp"},
	{0x00000004, "submit_sm"},
	{0x80000004, "submit_sm_resp"},
	{0x00000005, "deliver_sm"},
	{0x80000005, "deliver_sm_resp"},
	{0x00000006, "unbind"},
	{0x80000006, "unbind_resp"},
	{0x00000007, "replace_sm"},
	{0x80000007, "replace_sm_resp"},
	{0x00000008, "cancel_sm"},
	{0x80000008, "cancel_sm_resp"},
	{0x00000009, "bind_transceiver"},
	{0x80000009, "bind_transceiver_resp"},
	{0x0000000B, "outbind"},
	{0x00000015, "enquire_link"},
	{0x80000015, "enquire_link_resp"},
	{0x00000021, "submit_multi"},
	{0x80000021, "submit_multi_resp"},
	{0x00000102, "alert_notification"},
	{0x00000103, "data_sm"},
	{0x80000103, "data_sm_resp"},
}

func TestCommandIDKnown(t *testing.T) {
	if len(specCommands) != len(KnownCommands) {
		t.Fatalf("KnownCommands has %d ids, the specification %d", len(KnownCommands), len(specCommands))
	}
	seen := map[int]bool{}
	for _, c := range specCommands {
		t.Run(c.name, func(t *testing.T) {
			if got := c.id.String(); got != c.name {
				t.Errorf("String() = %q", got)
			}
			i := c.id.Index()
			if i < 0 || i >= len(KnownCommands) || KnownCommands[i] != c.id {
				t.Fatalf("Index() = %d, not this command's place in KnownCommands", i)
			}
			if seen[i] {
				t.Errorf("Index %d shared", i)
			}
			seen[i] = true
			if !c.id.Known() {
				t.Error("Known() = false")
			}
			isResp := strings.HasSuffix(c.name, "_resp") || c.name == "generic_nack"
			if c.id.IsResponse() != isResp {
				t.Errorf("IsResponse() = %v", c.id.IsResponse())
			}
			isBind := strings.HasPrefix(c.name, "bind_") && !isResp
			if c.id.IsBind() != isBind {
				t.Errorf("IsBind() = %v", c.id.IsBind())
			}
			if isResp {
				if c.name != "generic_nack" {
					if got := c.id.Request().String() + "_resp"; got != c.name {
						t.Errorf("Request() = %v", c.id.Request())
					}
				}
				if c.id.Resp() != c.id {
					t.Errorf("Resp() of a response = %v", c.id.Resp())
				}
			} else {
				r := c.id.Resp()
				if !r.IsResponse() || r.Request() != c.id {
					t.Errorf("Resp() = %v, Request() back = %v", r, r.Request())
				}
				// Outbind and alert_notification have no response in the
				// specification; every other request's response is known.
				if c.id != Outbind && c.id != AlertNotification && r.String() != c.name+"_resp" {
					t.Errorf("Resp() = %v, want %s_resp", r, c.name)
				}
			}
		})
	}
	if NumCommandIndexes != len(KnownCommands)+1 {
		t.Errorf("NumCommandIndexes = %d", NumCommandIndexes)
	}
}

func TestCommandIDUnknown(t *testing.T) {
	tests := []struct {
		id   CommandID
		str  string
		resp bool
	}{
		{0x00010000, "0x00010000", false},
		{0x80010000, "0x80010000", true},
		{0x0000000A, "0x0000000a", false}, // the gap between bind_transceiver and outbind
		{0x00000000, "0x00000000", false},
		{0x00000111, "0x00000111", false}, // broadcast_sm is SMPP 5.0
		{0xFFFFFFFF, "0xffffffff", true},
	}
	for _, tc := range tests {
		if got := tc.id.String(); got != tc.str {
			t.Errorf("%#x String() = %q, want %q", uint32(tc.id), got, tc.str)
		}
		if tc.id.Known() || tc.id.Index() != len(KnownCommands) {
			t.Errorf("%v: Known %v Index %d", tc.id, tc.id.Known(), tc.id.Index())
		}
		if tc.id.IsResponse() != tc.resp || tc.id.IsBind() {
			t.Errorf("%v: IsResponse %v IsBind %v", tc.id, tc.id.IsResponse(), tc.id.IsBind())
		}
	}
	if got := CommandID(0x00010000).Resp(); got != 0x80010000 {
		t.Errorf("Resp of unknown = %v", got)
	}
	if got := CommandID(0x80010000).Request(); got != 0x00010000 {
		t.Errorf("Request of unknown = %v", got)
	}
}

// specStatuses is SMPP v3.4 section 5.1.3, written out independently of
// status.go.
var specStatuses = []struct {
	s    Status
	name string
}{
	{0x00, "ESME_ROK"}, {0x01, "ESME_RINVMSGLEN"}, {0x02, "ESME_RINVCMDLEN"},
	{0x03, "ESME_RINVCMDID"}, {0x04, "ESME_RINVBNDSTS"}, {0x05, "ESME_RALYBND"},
	{0x06, "ESME_RINVPRTFLG"}, {0x07, "ESME_RINVREGDLVFLG"}, {0x08, "ESME_RSYSERR"},
	{0x0A, "ESME_RINVSRCADR"}, {0x0B, "ESME_RINVDSTADR"}, {0x0C, "ESME_RINVMSGID"},
	{0x0D, "ESME_RBINDFAIL"}, {0x0E, "ESME_RINVPASWD"}, {0x0F, "ESME_RINVSYSID"},
	{0x11, "ESME_RCANCELFAIL"}, {0x13, "ESME_RREPLACEFAIL"}, {0x14, "ESME_RMSGQFUL"},
	{0x15, "ESME_RINVSERTYP"}, {0x33, "ESME_RINVNUMDESTS"}, {0x34, "ESME_RINVDLNAME"},
	{0x40, "ESME_RINVDESTFLAG"}, {0x42, "ESME_RINVSUBREP"}, {0x43, "ESME_RINVESMCLASS"},
	{0x44, "ESME_RCNTSUBDL"}, {0x45, "ESME_RSUBMITFAIL"}, {0x48, "ESME_RINVSRCTON"},
	{0x49, "ESME_RINVSRCNPI"}, {0x50, "ESME_RINVDSTTON"}, {0x51, "ESME_RINVDSTNPI"},
	{0x53, "ESME_RINVSYSTYP"}, {0x54, "ESME_RINVREPFLAG"}, {0x55, "ESME_RINVNUMMSGS"},
	{0x58, "ESME_RTHROTTLED"}, {0x61, "ESME_RINVSCHED"}, {0x62, "ESME_RINVEXPIRY"},
	{0x63, "ESME_RINVDFTMSGID"}, {0x64, "ESME_RX_T_APPN"}, {0x65, "ESME_RX_P_APPN"},
	{0x66, "ESME_RX_R_APPN"}, {0x67, "ESME_RQUERYFAIL"}, {0xC0, "ESME_RINVOPTPARSTREAM"},
	{0xC1, "ESME_ROPTPARNOTALLWD"}, {0xC2, "ESME_RINVPARLEN"}, {0xC3, "ESME_RMISSINGOPTPARAM"},
	{0xC4, "ESME_RINVOPTPARAMVAL"}, {0xFE, "ESME_RDELIVERYFAILURE"}, {0xFF, "ESME_RUNKNOWNERR"},
}

func TestStatusNamed(t *testing.T) {
	if NumStatusIndexes != len(specStatuses)+1 {
		t.Fatalf("NumStatusIndexes = %d, the specification names %d statuses", NumStatusIndexes, len(specStatuses))
	}
	seen := map[int]bool{}
	for _, c := range specStatuses {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.String(); got != c.name {
				t.Errorf("String() = %q", got)
			}
			i := c.s.Index()
			if i < 0 || i >= NumStatusIndexes-1 || seen[i] {
				t.Fatalf("Index() = %d (seen before: %v)", i, seen[i])
			}
			seen[i] = true
			if s, ok := StatusAt(i); !ok || s != c.s {
				t.Errorf("StatusAt(Index()) = %v, %v", s, ok)
			}
			for _, name := range []string{c.name, strings.ToLower(c.name)} {
				if s, ok := ParseStatus(name); !ok || s != c.s {
					t.Errorf("ParseStatus(%q) = %v, %v", name, s, ok)
				}
			}
		})
	}
}

func TestStatusOther(t *testing.T) {
	tests := []struct {
		s    Status
		name string
	}{
		{0x09, "0x00000009"}, // a gap in the specification's numbering
		{0x100, "0x00000100"},
		{0x3FF, "0x000003ff"},
		{0x400, "vendor_0x00000400"},
		{0x4AB, "vendor_0x000004ab"},
		{0x4FF, "vendor_0x000004ff"},
		{0x500, "0x00000500"},
		{0xFFFFFFFF, "0xffffffff"},
	}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.name {
			t.Errorf("%#x String() = %q, want %q", uint32(tc.s), got, tc.name)
		}
		if i := tc.s.Index(); i != NumStatusIndexes-1 {
			t.Errorf("%#x Index() = %d, want the shared %d", uint32(tc.s), i, NumStatusIndexes-1)
		}
	}
	for _, i := range []int{-1, NumStatusIndexes - 1, NumStatusIndexes, 1 << 20} {
		if s, ok := StatusAt(i); ok {
			t.Errorf("StatusAt(%d) = %v, true", i, s)
		}
	}
	for _, name := range []string{"", "ESME_", "ESME_ROKAY", "OK", "ROK"} {
		if s, ok := ParseStatus(name); ok {
			t.Errorf("ParseStatus(%q) = %v, true", name, s)
		}
	}
}

// Status.Index finds a status by binary search: the table must be sorted
// strictly by value, or some statuses become unfindable.
func TestStatusTableSortedStrictly(t *testing.T) {
	for i := 1; i < len(statusNames); i++ {
		if statusNames[i-1].s >= statusNames[i].s {
			t.Errorf("statusNames[%d] = %s %#x is not above statusNames[%d] = %s %#x",
				i, statusNames[i].name, uint32(statusNames[i].s), i-1, statusNames[i-1].name, uint32(statusNames[i-1].s))
		}
	}
	// And every status between the smallest and largest named one that is not
	// named maps to the shared index: a missorted table could find a wrong one.
	named := map[Status]bool{}
	for _, n := range statusNames {
		named[n.s] = true
	}
	for s := Status(0); s <= 0x4FF; s++ {
		i := s.Index()
		if named[s] {
			if got, _ := StatusAt(i); got != s {
				t.Fatalf("%#x: Index %d is %#x", uint32(s), i, uint32(got))
			}
		} else if i != NumStatusIndexes-1 {
			t.Fatalf("%#x unnamed but Index %d", uint32(s), i)
		}
	}
}
