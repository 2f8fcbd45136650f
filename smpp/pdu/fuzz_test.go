package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets: the codec must never panic, never hand out a view that reaches
// past the PDU, and agree with its own builders. Run one with e.g.
//
//	go test -run='^$' -fuzz='^FuzzScan$' -fuzztime=45s ./smpp/pdu/
//
// Crashers found so far are kept in testdata/fuzz as regression seeds.

// messageIDs are the commands Scan reads; FuzzScan picks one with a fuzz octet.
var messageIDs = [...]CommandID{SubmitSM, DeliverSM, DataSM, SubmitMulti}

// messageSeeds are the hand-assembled message PDUs plus a few broken ones.
func messageSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, h := range []string{hexSubmitSM, hexDeliverMO, hexDeliverReceipt, hexDataSM, hexSubmitMulti} {
		p := mustPDU(tb, h).raw()
		seeds = append(seeds, p, p[:len(p)-1], p[:HeaderLen+3])
	}
	return append(seeds, typicalSubmitSM(tb), make([]byte, HeaderLen))
}

// frameAs forces data into a framed PDU: at least a header, command_length
// equal to its size, and command_id id. The PDU is copied into a buffer with
// spare capacity full of junk, so that a view escaping the PDU shows.
func frameAs(data []byte, id CommandID) []byte {
	p := make([]byte, len(data), len(data)+64)
	copy(p, data)
	for len(p) < HeaderLen {
		p = append(p, 0)
	}
	binary.BigEndian.PutUint32(p, uint32(len(p)))
	binary.BigEndian.PutUint32(p[4:], uint32(id))
	junk := p[len(p):cap(p)]
	for i := range junk {
		junk[i] = 0xEE
	}
	return p
}

func idIndex(id CommandID) byte {
	for i, m := range messageIDs {
		if m == id {
			return byte(i)
		}
	}
	return 0
}

func FuzzFrame(f *testing.F) {
	for _, p := range messageSeeds(f) {
		f.Add(p, uint32(DefaultMaxLen))
		f.Add(p, uint32(len(p)))
		f.Add(p, uint32(len(p)-1))
	}
	f.Add([]byte{}, uint32(DefaultMaxLen))
	f.Add([]byte{0, 0, 0}, uint32(DefaultMaxLen))
	f.Add([]byte{0, 0, 0, 15}, uint32(DefaultMaxLen))
	f.Add([]byte{0x80, 0, 0, 0, 1, 2}, uint32(0xFFFFFFFF))
	f.Add([]byte{0, 1, 0, 1}, uint32(DefaultMaxLen))
	f.Fuzz(func(t *testing.T, buf []byte, maxLen uint32) {
		n, err := Frame(buf, maxLen)
		if n < 0 || n > len(buf) {
			t.Fatalf("n = %d with %d octets", n, len(buf))
		}
		if n != 0 && (n < HeaderLen || uint64(n) > uint64(maxLen)) {
			t.Fatalf("n = %d outside 16..%d", n, maxLen)
		}
		if len(buf) < 4 {
			if n != 0 || err != nil {
				t.Fatalf("%d octets: %d, %v; want 0, nil", len(buf), n, err)
			}
			return
		}
		l := binary.BigEndian.Uint32(buf)
		switch {
		case l < HeaderLen:
			wantStatusErr(t, err, ErrLengthTooShort)
		case l > maxLen:
			wantStatusErr(t, err, ErrLengthTooLong)
		case err != nil:
			t.Fatalf("command_length %d in range, error %v", l, err)
		case uint64(len(buf)) >= uint64(l) && n != int(l):
			t.Fatalf("whole PDU of %d there, n = %d", l, n)
		case uint64(len(buf)) < uint64(l) && n != 0:
			t.Fatalf("partial PDU of %d, n = %d", l, n)
		}
		if err != nil && n != 0 {
			t.Fatalf("n = %d with error %v", n, err)
		}
	})
}

func FuzzScan(f *testing.F) {
	for _, p := range messageSeeds(f) {
		f.Add(p, idIndex(ID(p)))
		f.Add(p, idIndex(ID(p))+1)
	}
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		id := messageIDs[int(which)%len(messageIDs)]
		p := frameAs(data, id)
		var m Message
		err := Scan(p, &m)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *StatusError", err)
			}
			return
		}
		checkMessage(t, p, &m)
		if id == SubmitSM || id == DeliverSM {
			rebuildSM(t, p, &m)
		}
	})
}

// checkMessage verifies a scanned message: every view inside p, lengths within
// the specification, TLV and destination iteration complete and terminating.
func checkMessage(t *testing.T, p []byte, m *Message) {
	t.Helper()
	if m.ID != ID(p) || m.Seq != Seq(p) {
		t.Fatalf("header %v %d", m.ID, m.Seq)
	}
	addrMax := maxAddr21
	if m.ID == DataSM {
		addrMax = maxAddr65
	}
	for _, v := range []struct {
		name string
		b    []byte
		max  int // octets, NUL excluded; 0: not a C-octet string
	}{
		{"service_type", m.ServiceType, maxServiceType - 1},
		{"source_addr", m.Source.Addr, addrMax - 1},
		{"destination_addr", m.Dest.Addr, addrMax - 1},
		{"schedule_delivery_time", m.ScheduleDeliveryTime, maxTime - 1},
		{"validity_period", m.ValidityPeriod, maxTime - 1},
		{"short_message", m.ShortMessage, MaxShortMessage},
		{"TLVs", m.TLVs, len(p)},
	} {
		if !inside(p, v.b) {
			t.Fatalf("%s escapes the PDU", v.name)
		}
		if len(v.b) > v.max {
			t.Fatalf("%s has %d octets, max %d", v.name, len(v.b), v.max)
		}
		if v.name != "short_message" && v.name != "TLVs" && bytes.IndexByte(v.b, 0) >= 0 {
			t.Fatalf("%s holds a NUL: %q", v.name, v.b)
		}
	}
	if len(m.TLVs) > 0 && &m.TLVs[len(m.TLVs)-1] != &p[len(p)-1] {
		t.Fatal("TLVs do not end where the PDU ends")
	}
	// TLVs: iteration covers exactly the TLV part, each value inside it.
	total := 0
	for it, steps := m.TLVs.Iter(), 0; ; steps++ {
		tag, v, ok := it.Next()
		if !ok {
			break
		}
		if steps > len(m.TLVs) {
			t.Fatal("TLV iteration does not end")
		}
		if !inside(m.TLVs, v) {
			t.Fatalf("TLV %#04x value escapes the TLVs", tag)
		}
		if _, ok := m.TLVs.Find(tag); !ok {
			t.Fatalf("Find(%#04x) misses a TLV the iterator yields", tag)
		}
		total += 4 + len(v)
	}
	if total != len(m.TLVs) {
		t.Fatalf("TLVs of %d octets, iteration covered %d", len(m.TLVs), total)
	}
	if ud := m.UserData(); !inside(p, ud) {
		t.Fatal("UserData escapes the PDU")
	}
	// Destinations: exactly NumDests for submit_multi, none otherwise.
	if m.ID != SubmitMulti && m.NumDests != 0 {
		t.Fatalf("%v with NumDests %d", m.ID, m.NumDests)
	}
	if m.ID == SubmitMulti && (m.NumDests < 1 || m.NumDests > MaxDests) {
		t.Fatalf("NumDests %d", m.NumDests)
	}
	n := 0
	for it := m.Dests(); ; n++ {
		d, ok := it.Next()
		if !ok {
			break
		}
		if n > m.NumDests {
			t.Fatal("destination iteration does not end")
		}
		if !inside(p, d.Addr.Addr) || !inside(p, d.DLName) || len(d.Addr.Addr) >= maxAddr21 || len(d.DLName) >= maxDLName {
			t.Fatalf("destination %d = %+v", n, d)
		}
		if (d.Flag == DestSME) == (d.DLName != nil) || d.Flag != DestSME && d.Flag != DestDistributionList {
			t.Fatalf("destination %d = %+v", n, d)
		}
	}
	if n != m.NumDests {
		t.Fatalf("iterated %d destinations, NumDests %d", n, m.NumDests)
	}
}

// rebuildSM re-encodes a scanned submit_sm/deliver_sm with the builder: the
// result must be p itself, octet for octet, or Scan lost or moved something.
func rebuildSM(t *testing.T, p []byte, m *Message) {
	t.Helper()
	sm := &SM{
		ServiceType: string(m.ServiceType),
		Source:      Addr{m.Source.TON, m.Source.NPI, string(m.Source.Addr)},
		Dest:        Addr{m.Dest.TON, m.Dest.NPI, string(m.Dest.Addr)},
		EsmClass:    m.EsmClass, ProtocolID: m.ProtocolID, PriorityFlag: m.PriorityFlag,
		ScheduleDeliveryTime: string(m.ScheduleDeliveryTime), ValidityPeriod: string(m.ValidityPeriod),
		RegisteredDelivery: m.RegisteredDelivery, ReplaceIfPresent: m.ReplaceIfPresent,
		DataCoding: m.DataCoding, SMDefaultMsgID: m.SMDefaultMsgID, ShortMessage: m.ShortMessage,
	}
	for it := m.TLVs.Iter(); ; {
		tag, v, ok := it.Next()
		if !ok {
			break
		}
		sm.TLVs = append(sm.TLVs, TLV{tag, v})
	}
	build := AppendSubmitSM
	if m.ID == DeliverSM {
		build = AppendDeliverSM
	}
	out, err := build(nil, m.Seq, sm)
	if err != nil {
		t.Fatalf("builder refuses what Scan accepted: %v", err)
	}
	// The status octets are not part of the view; take them from p.
	copy(out[8:12], p[8:12])
	if !bytes.Equal(out, p) {
		t.Fatalf("rebuilt PDU differs:\n got %x\nwant %x", out, p)
	}
}

func FuzzParseBind(f *testing.F) {
	bind := mustPDU(f, hexBindTRX).raw()
	f.Add(bind, byte(0))
	f.Add(bind[:len(bind)-1], byte(1))
	f.Add(append(bind[:len(bind):len(bind)], 1, 2, 3), byte(2))
	f.Add(make([]byte, HeaderLen), byte(0))
	binds := [...]CommandID{BindReceiver, BindTransmitter, BindTransceiver}
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		id := binds[int(which)%len(binds)]
		p := frameAs(data, id)
		b, err := ParseBind(p)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *StatusError", err)
			}
			return
		}
		for _, v := range []struct {
			b   []byte
			max int
		}{{b.SystemID, maxSystemID}, {b.Password, maxPassword}, {b.SystemType, maxSystemType}, {b.AddressRange, maxAddressRange}} {
			if !inside(p, v.b) || len(v.b) >= v.max || bytes.IndexByte(v.b, 0) >= 0 {
				t.Fatalf("field %q (max %d) in %+v", v.b, v.max, b)
			}
		}
		out, err := AppendBind(nil, Seq(p), BindRequest{
			ID: b.ID, SystemID: string(b.SystemID), Password: string(b.Password), SystemType: string(b.SystemType),
			InterfaceVersion: b.InterfaceVersion, AddrTON: b.AddrTON, AddrNPI: b.AddrNPI, AddressRange: string(b.AddressRange),
		})
		if err != nil {
			t.Fatalf("AppendBind refuses what ParseBind accepted: %v", err)
		}
		// ParseBind ignores octets after address_range; the rest must match.
		if len(out) > len(p) || !bytes.Equal(out[4:8], p[4:8]) || !bytes.Equal(out[12:], p[12:len(out)]) {
			t.Fatalf("rebuilt bind differs:\n got %x\nwant %x", out, p)
		}
	})
}

func FuzzParseMessageIDResp(f *testing.F) {
	for _, h := range []string{hexSubmitSMResp, hexSubmitSMRespErr, hexDataSMResp, hexBindTRXResp} {
		p := mustPDU(f, h).raw()
		f.Add(p, uint32(ID(p)))
	}
	f.Add([]byte{}, uint32(SubmitMultiResp))
	f.Fuzz(func(t *testing.T, data []byte, id uint32) {
		p := frameAs(data, CommandID(id))
		msgID, rest, err := ParseMessageIDResp(p)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *StatusError", err)
			}
			return
		}
		if !inside(p, msgID) || !inside(p, rest) || bytes.IndexByte(msgID, 0) >= 0 || len(msgID) >= maxMessageID {
			t.Fatalf("id %q rest %x", msgID, rest)
		}
		if len(rest) > 0 && &rest[len(rest)-1] != &p[len(p)-1] {
			t.Fatal("rest does not end where the PDU ends")
		}
	})
}

func FuzzDecodeText(f *testing.F) {
	for _, dc := range []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10, 0x18, 0xC0, 0xE0, 0xF0, 0xF4} {
		f.Add(dc, []byte("STOP"))
	}
	f.Add(byte(0), []byte{0x1b, 0x65, 0x1b})
	f.Add(byte(8), []byte{0xd8, 0x3d, 0xde, 0xd1, 0x00})
	f.Add(byte(8), []byte{0xd8, 0x3d})
	f.Add(byte(7), []byte{0xbf, 0xe0})
	f.Fuzz(func(t *testing.T, dc byte, data []byte) {
		s, err := DecodeText(dc, data)
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 %q", s)
		}
		if !IsText(dc) {
			if s != "" || (err != ErrBinaryData && err != ErrCodingNotSup) {
				t.Fatalf("non-text data_coding %#02x: %q, %v", dc, s, err)
			}
			return
		}
		if err != nil || strings.ContainsRune(s, utf8.RuneError) {
			return
		}
		// Text that decoded cleanly encodes back to the same octets.
		back, err := EncodeText(dc, s)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("dc %#02x: %x decodes to %q, which encodes to %x, %v", dc, data, s, back, err)
		}
	})
}

func FuzzEncodeText(f *testing.F) {
	for _, s := range []string{"STOP", "€[]{}~|^\\\f", "café", "Привет", "שלום", "Hi 🛑", "", "\xff"} {
		for _, dc := range []byte{0x00, 0x01, 0x03, 0x06, 0x07, 0x08} {
			f.Add(dc, s)
		}
	}
	f.Fuzz(func(t *testing.T, dc byte, s string) {
		b, err := EncodeText(dc, s)
		if err != nil {
			if b != nil {
				t.Fatalf("output %x with error %v", b, err)
			}
			return
		}
		if !utf8.ValidString(s) {
			// Only UCS2 accepts invalid UTF-8 (as U+FFFD).
			if alphabetOf(dc) != alphaUCS2 && alphabetOf(dc) != alphaASCII {
				t.Fatalf("dc %#02x encoded invalid UTF-8 %q to %x", dc, s, b)
			}
			return
		}
		back, err := DecodeText(dc, b)
		if err != nil || back != s {
			t.Fatalf("dc %#02x: %q encodes to %x, which decodes to %q, %v", dc, s, b, back, err)
		}
		if alphabetOf(dc) == alphaGSM7 {
			if dc2, b2 := EncodeBest(s); dc2 != CodingDefault || !bytes.Equal(b2, b) {
				t.Fatalf("EncodeBest(%q) = %#02x %x, but GSM7 encodes it as %x", s, dc2, b2, b)
			}
		}
	})
}

func FuzzParseConcat(f *testing.F) {
	for _, h := range []string{"050003a70201", "0608041234 0302", "0b05040b8423f0 0003a70201", "050005a70201", "00", ""} {
		f.Add(unhex(f, h))
	}
	f.Fuzz(func(t *testing.T, ud []byte) {
		ud = ud[:len(ud):len(ud)]
		udh, rest, err := SplitUDH(ud)
		if err != nil {
			if err != ErrUDHLength {
				t.Fatalf("SplitUDH error %v", err)
			}
			udh = ud
		} else if len(udh)+len(rest) != len(ud) || !inside(ud, udh) || !inside(ud, rest) || int(udh[0])+1 != len(udh) {
			t.Fatalf("SplitUDH(%x) = %x, %x", ud, udh, rest)
		}
		c, ok := ParseConcat(udh)
		if !ok {
			if c != (Concat{}) {
				t.Fatalf("not ok but %+v", c)
			}
			return
		}
		if c.Total == 0 || c.Part == 0 || c.Part > c.Total {
			t.Fatalf("ParseConcat(%x) = %+v", udh, c)
		}
		// The header AppendConcatUDH writes for it reads back the same.
		for _, ref16 := range []bool{false, true} {
			want := c
			if !ref16 {
				want.Ref &= 0xFF
			}
			if got, ok := ParseConcat(AppendConcatUDH(nil, c, ref16)); !ok || got != want {
				t.Fatalf("round trip of %+v (ref16 %v) = %+v, %v", c, ref16, got, ok)
			}
		}
	})
}

func FuzzReceiptField(f *testing.F) {
	for _, name := range []string{"id", "stat", "submit date", "text", "err", "TEXT"} {
		f.Add([]byte(receiptText), name)
	}
	f.Add([]byte("id:"), "id")
	f.Fuzz(func(t *testing.T, text []byte, name string) {
		text = text[:len(text):len(text)]
		v, off, ok := ReceiptField(text, name)
		if !ok {
			if v != nil || off != 0 {
				t.Fatalf("not found but %q at %d", v, off)
			}
			return
		}
		if off < len(name)+1 || off+len(v) > len(text) || !inside(text, v) || (len(v) > 0 && &v[0] != &text[off]) {
			t.Fatalf("value %q at %d in %q", v, off, text)
		}
		if !bytes.EqualFold(text[off-len(name)-1:off-1], []byte(name)) || text[off-1] != ':' {
			t.Fatalf("value at %d does not follow %q: in %q", off, name, text)
		}
		if !strings.EqualFold(name, "text") && bytes.IndexByte(v, ' ') >= 0 {
			t.Fatalf("value %q runs past a space", v)
		}
	})
}

// Scan and the other parsers allocate nothing, whatever the input: checked on
// the fuzz seeds, valid and broken, outside the fuzz body (AllocsPerRun does
// not mix with the fuzzing engine).
func TestParsersNoAllocsOnSeeds(t *testing.T) {
	var m Message
	for i, p := range messageSeeds(t) {
		for _, id := range messageIDs {
			q := frameAs(p, id)
			if n := testing.AllocsPerRun(20, func() { _ = Scan(q, &m) }); n != 0 {
				t.Errorf("seed %d as %v: Scan made %v allocations", i, id, n)
			}
			if n := testing.AllocsPerRun(20, func() { _, _ = ParseBind(q) }); n != 0 {
				t.Errorf("seed %d: ParseBind made %v allocations", i, n)
			}
			if n := testing.AllocsPerRun(20, func() { _, _ = Frame(q, DefaultMaxLen) }); n != 0 {
				t.Errorf("seed %d: Frame made %v allocations", i, n)
			}
		}
	}
}
