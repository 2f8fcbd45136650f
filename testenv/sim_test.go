package testenv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// leakChecked holds the tests that already registered VerifyNoLeaks.
var leakChecked sync.Map

// startSMSC starts a simulator that the test closes (and checks for leaks).
func startSMSC(t *testing.T, cfg SMSCConfig) *SMSC {
	t.Helper()
	if _, done := leakChecked.LoadOrStore(t, true); !done {
		t.Cleanup(func() { VerifyNoLeaks(t); leakChecked.Delete(t) }) // runs after every later cleanup
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := StartSMSC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, s *SMSC, cfg ESMEConfig) *ESME {
	t.Helper()
	e, err := DialESME(Context(t, 5*time.Second), s.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// bound dials and binds; it fails the test unless the bind succeeds.
func bound(t *testing.T, s *SMSC, cfg ESMEConfig, id pdu.CommandID, systemID, password string) *ESME {
	t.Helper()
	e := dial(t, s, cfg)
	st, err := e.Bind(Context(t, 5*time.Second), id, systemID, password)
	if err != nil {
		t.Fatal(err)
	}
	if st != pdu.ESME_ROK {
		t.Fatalf("bind %s: %s", systemID, st)
	}
	return e
}

func mustScan(t *testing.T, p []byte) *pdu.Message {
	t.Helper()
	var m pdu.Message
	if err := pdu.Scan(p, &m); err != nil {
		t.Fatalf("scan %s: %v", pdu.ID(p), err)
	}
	return &m
}

func sm(text string) *pdu.SM {
	return &pdu.SM{
		Source:       pdu.Addr{TON: 1, NPI: 1, Addr: "+15550001111"},
		Dest:         pdu.Addr{TON: 1, NPI: 1, Addr: "+15550002222"},
		ShortMessage: []byte(text),
	}
}

func TestBind(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Accounts: map[string]string{"acme": "secret"}, SystemID: "sim1"})
	ctx := Context(t, 5*time.Second)
	for _, tc := range []struct {
		id               pdu.CommandID
		system, password string
		want             pdu.Status
	}{
		{pdu.BindTransmitter, "acme", "secret", pdu.ESME_ROK},
		{pdu.BindReceiver, "acme", "secret", pdu.ESME_ROK},
		{pdu.BindTransceiver, "acme", "secret", pdu.ESME_ROK},
		{pdu.BindTransceiver, "acme", "wrong", pdu.ESME_RINVPASWD},
		{pdu.BindTransmitter, "nobody", "secret", pdu.ESME_RINVSYSID},
	} {
		e := dial(t, s, ESMEConfig{})
		st, err := e.Bind(ctx, tc.id, tc.system, tc.password)
		if err != nil {
			t.Fatal(err)
		}
		if st != tc.want {
			t.Errorf("%s %s/%s: status %s, want %s", tc.id, tc.system, tc.password, st, tc.want)
		}
		resp := e.BindResp()
		h, _ := pdu.ParseHeader(resp)
		if h.ID != tc.id.Resp() {
			t.Errorf("%s: response %s", tc.id, h.ID)
		}
		if st != pdu.ESME_ROK {
			continue
		}
		id, rest, err := pdu.ParseMessageIDResp(resp)
		if err != nil || string(id) != "sim1" {
			t.Errorf("bind_resp system_id %q, %v", id, err)
		}
		if v, ok := pdu.TLVs(rest).Find(pdu.TagScInterfaceVersion); !ok || !bytes.Equal(v, []byte{0x34}) {
			t.Errorf("bind_resp sc_interface_version %x %v", v, ok)
		}
		// A second bind on a bound session is refused.
		if st, _ := e.Bind(ctx, tc.id, tc.system, tc.password); st != pdu.ESME_RALYBND {
			t.Errorf("second bind: %s", st)
		}
	}
	if err := s.WaitSessions(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var bound int
	for _, si := range s.Sessions() {
		if si.Bound {
			bound++
			if si.SystemID != "acme" || !si.Bind.IsBind() || si.Remote == "" {
				t.Errorf("session %+v", si)
			}
		}
	}
	if bound != 3 {
		t.Errorf("%d bound sessions, want 3: %+v", bound, s.Sessions())
	}
}

func TestRequestBeforeBind(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := dial(t, s, ESMEConfig{})
	raw, _ := pdu.AppendSubmitSM(nil, 0, sm("hi"))
	resp, err := e.Request(Context(t, 5*time.Second), raw)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := pdu.ParseHeader(resp); h.ID != pdu.GenericNack || h.Status != pdu.ESME_RINVBNDSTS {
		t.Fatalf("got %s %s, want generic_nack ESME_RINVBNDSTS", h.ID, h.Status)
	}
}

func TestSubmitUniqueIDs(t *testing.T) {
	for _, tc := range []struct {
		decimal bool
		re      *regexp.Regexp
	}{
		{false, regexp.MustCompile(`^[0-9a-f]+$`)},
		{true, regexp.MustCompile(`^[0-9]+$`)},
	} {
		t.Run(fmt.Sprintf("decimal=%v", tc.decimal), func(t *testing.T) {
			s := startSMSC(t, SMSCConfig{DecimalIDs: tc.decimal})
			e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
			e2 := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "other", "x")
			ctx := Context(t, 10*time.Second)
			seen := map[string]bool{}
			letters := false
			for i := range 200 {
				c := e
				if i%2 == 1 {
					c = e2
				}
				r, err := c.Submit(ctx, sm("hello"))
				if err != nil {
					t.Fatal(err)
				}
				if r.Header.ID != pdu.SubmitSMResp || r.Header.Status != pdu.ESME_ROK {
					t.Fatalf("response %s %s", r.Header.ID, r.Header.Status)
				}
				if !tc.re.MatchString(r.MessageID) {
					t.Fatalf("message id %q does not match %s", r.MessageID, tc.re)
				}
				if seen[r.MessageID] {
					t.Fatalf("message id %q twice", r.MessageID)
				}
				seen[r.MessageID] = true
				letters = letters || strings.ContainsAny(r.MessageID, "abcdef")
			}
			if !tc.decimal && !letters {
				t.Error("hex ids never contain a letter: are they decimal?")
			}
			if got := s.Count(pdu.SubmitSM); got != 200 {
				t.Errorf("Count(submit_sm) = %d, want 200", got)
			}
		})
	}
}

func TestSubmitStatusAndOtherCommands(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	rx := bound(t, s, ESMEConfig{}, pdu.BindReceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)

	s.SetSubmitStatus(pdu.ESME_RTHROTTLED)
	r, err := e.Submit(ctx, sm("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Status != pdu.ESME_RTHROTTLED || r.MessageID != "" || len(r.Raw) != pdu.HeaderLen {
		t.Errorf("throttled submit: %s id %q len %d", r.Header.Status, r.MessageID, len(r.Raw))
	}
	s.SetSubmitStatus(pdu.ESME_ROK)

	// A receiver cannot submit.
	if r, err := rx.Submit(ctx, sm("hi")); err != nil || r.Header.Status != pdu.ESME_RINVBNDSTS {
		t.Errorf("submit on a receiver: %s %v", r.Header.Status, err)
	}

	// query_sm echoes the id, DELIVERED.
	w := pdu.Begin(nil, pdu.QuerySM, 0, 0)
	w.CString("abc123").Address(1, 1, "+15550001111")
	resp, err := e.Request(ctx, w.End())
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, resp[:pdu.HeaderLen]...), "abc123\x00\x00\x02\x00"...)
	if pdu.ID(resp) != pdu.QuerySMResp || !bytes.Equal(resp, want) || binary.BigEndian.Uint32(resp) != uint32(len(resp)) {
		t.Errorf("query_sm_resp % x", resp)
	}

	// submit_multi: id and no_unsuccess 0.
	w = pdu.Begin(nil, pdu.SubmitMulti, 0, 0)
	w.CString("").Address(1, 1, "+1555").Byte(1).Byte(pdu.DestSME).Address(1, 1, "+1556").
		Byte(0).Byte(0).Byte(0).CString("").CString("").Byte(0).Byte(0).Byte(0).Byte(0).Byte(2).Octets([]byte("hi"))
	resp, err = e.Request(ctx, w.End())
	if err != nil {
		t.Fatal(err)
	}
	id, rest, err := pdu.ParseMessageIDResp(resp)
	if pdu.ID(resp) != pdu.SubmitMultiResp || err != nil || len(id) == 0 || !bytes.Equal(rest, []byte{0}) {
		t.Errorf("submit_multi_resp % x (%v)", resp, err)
	}

	for _, id := range []pdu.CommandID{pdu.CancelSM, pdu.ReplaceSM} {
		resp, err := e.Request(ctx, pdu.AppendHeaderOnly(nil, id, 0, 0))
		if err != nil || pdu.ID(resp) != id.Resp() || pdu.StatusOf(resp) != pdu.ESME_ROK {
			t.Errorf("%s: % x %v", id, resp, err)
		}
	}

	// data_sm gets a message id too.
	w = pdu.Begin(nil, pdu.DataSM, 0, 0)
	w.CString("").Address(1, 1, "+1555").Address(1, 1, "+1556").Byte(0).Byte(0).Byte(0)
	resp, err = e.Request(ctx, w.End())
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := pdu.ParseMessageIDResp(resp); pdu.ID(resp) != pdu.DataSMResp || err != nil || len(id) == 0 {
		t.Errorf("data_sm_resp % x %v", resp, err)
	}

	if err := e.EnquireLink(ctx); err != nil {
		t.Error(err)
	}
	if err := s.SendEnquireLink(ctx, "acme"); err != nil {
		t.Error(err)
	}
}

func TestUnknownCommandFromESME(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	resp, err := e.Request(Context(t, 5*time.Second), pdu.AppendHeaderOnly(nil, 0x00010200, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pdu.ParseHeader(resp)
	if h.ID != pdu.GenericNack || h.Status != pdu.ESME_RINVCMDID {
		t.Fatalf("got %s %s, want generic_nack ESME_RINVCMDID", h.ID, h.Status)
	}
	if got := s.Count(0x00010200); got != 1 {
		t.Errorf("Count(0x00010200) = %d", got)
	}
}

func TestBadCommandLength(t *testing.T) {
	for _, length := range []uint32{8, pdu.DefaultMaxLen + 1} {
		t.Run(fmt.Sprint(length), func(t *testing.T) {
			s := startSMSC(t, SMSCConfig{})
			e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
			bad := binary.BigEndian.AppendUint32(nil, length)
			bad = binary.BigEndian.AppendUint32(bad, uint32(pdu.SubmitSM))
			bad = binary.BigEndian.AppendUint32(bad, 0)
			bad = binary.BigEndian.AppendUint32(bad, 77)
			if err := e.WriteRaw(bad); err != nil {
				t.Fatal(err)
			}
			select {
			case <-e.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the simulator did not close the connection")
			}
			recs := e.Received()
			last := recs[len(recs)-1]
			if last.Header.ID != pdu.GenericNack || last.Header.Status != pdu.ESME_RINVCMDLEN || last.Header.Seq != 77 {
				t.Fatalf("last PDU %v, want generic_nack ESME_RINVCMDLEN seq 77", last)
			}
			if e.Err() == nil {
				t.Error("Err() is nil after the close")
			}
		})
	}
}

func TestAutoReceipts(t *testing.T) {
	s := startSMSC(t, SMSCConfig{AutoReceipts: true, ReceiptDelay: 20 * time.Millisecond, Record: true})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)

	m := sm("Hello receipts")
	m.RegisteredDelivery = 1
	r, err := e.Submit(ctx, m)
	if err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatal(r.Header.Status, err)
	}
	// No receipt for a message that asked for none.
	if r2, err := e.Submit(ctx, sm("no receipt")); err != nil || r2.Header.Status != pdu.ESME_ROK {
		t.Fatal(err)
	}

	d, err := e.NextDeliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dm := mustScan(t, d)
	if dm.ID != pdu.DeliverSM || dm.EsmClass&pdu.EsmClassTypeMask != pdu.EsmClassReceipt {
		t.Fatalf("%s esm_class %#x", dm.ID, dm.EsmClass)
	}
	if string(dm.Source.Addr) != m.Dest.Addr || string(dm.Dest.Addr) != m.Source.Addr {
		t.Errorf("receipt from %s to %s", dm.Source.Addr, dm.Dest.Addr)
	}
	v, ok := dm.TLVs.Find(pdu.TagReceiptedMessageID)
	if !ok || string(v) != r.MessageID+"\x00" {
		t.Errorf("receipted_message_id %q, want %q", v, r.MessageID)
	}
	if v, ok := dm.TLVs.Find(pdu.TagMessageState); !ok || !bytes.Equal(v, []byte{stateDelivered}) {
		t.Errorf("message_state %x", v)
	}
	if id, _, ok := pdu.ReceiptField(dm.ShortMessage, "id"); !ok || string(id) != r.MessageID {
		t.Errorf("text id %q, want %q (text %q)", id, r.MessageID, dm.ShortMessage)
	}
	if st, _, _ := pdu.ReceiptField(dm.ShortMessage, "stat"); string(st) != "DELIVRD" {
		t.Errorf("stat %q", st)
	}
	if txt, _, _ := pdu.ReceiptField(dm.ShortMessage, "text"); string(txt) != "Hello receipts" {
		t.Errorf("text %q", txt)
	}
	// The receipt was answered automatically.
	if _, err := s.WaitFor(ctx, func(r Record) bool { return r.Dir == In && r.Header.ID == pdu.DeliverSMResp }); err != nil {
		t.Fatal(err)
	}
	// The response to the submit_sm went out before the receipt.
	var respAt, receiptAt int
	for i, rec := range s.Received() {
		switch {
		case rec.Dir == Out && rec.Header.ID == pdu.SubmitSMResp && respAt == 0:
			respAt = i
		case rec.Dir == Out && rec.Header.ID == pdu.DeliverSM:
			receiptAt = i
		}
	}
	if respAt == 0 || receiptAt < respAt {
		t.Errorf("submit_sm_resp at %d, receipt at %d", respAt, receiptAt)
	}
	time.Sleep(50 * time.Millisecond)
	if n := s.Count(pdu.DeliverSMResp); n != 1 {
		t.Errorf("%d deliver_sm_resp, want 1 (one receipt)", n)
	}
}

func TestSendReceipt(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindReceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)
	st, err := s.SendReceipt(ctx, "acme", ReceiptSpec{MessageID: "4f2a", From: "+15550002222", To: "+15550001111", Stat: "UNDELIV", Err: 12})
	if err != nil || st != pdu.ESME_ROK {
		t.Fatal(st, err)
	}
	d, err := e.NextDeliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := mustScan(t, d)
	v, _ := m.TLVs.Find(pdu.TagReceiptedMessageID)
	ms, _ := m.TLVs.Find(pdu.TagMessageState)
	stat, _, _ := pdu.ReceiptField(m.ShortMessage, "stat")
	errf, _, _ := pdu.ReceiptField(m.ShortMessage, "err")
	if !m.IsReceipt() || string(v) != "4f2a\x00" || !bytes.Equal(ms, []byte{stateUndeliverable}) ||
		string(stat) != "UNDELIV" || string(errf) != "012" || string(m.Source.Addr) != "+15550002222" {
		t.Errorf("receipt %q tlv %q state %x", m.ShortMessage, v, ms)
	}
}

func TestSendMO(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	ctx := Context(t, 10*time.Second)
	latin1 := pdu.CodingLatin1
	long := strings.Repeat("STOP sending me these messages please. ", 8) // 312 characters

	for _, tc := range []struct {
		name string
		mo   MO
		dc   byte
		n    int
	}{
		{"gsm7", MO{Text: "STOP"}, pdu.CodingDefault, 1},
		{"ucs2", MO{Text: "Arrête 🛑 СТОП"}, pdu.CodingUCS2, 1},
		{"latin1", MO{Text: "arrête", DataCoding: &latin1}, pdu.CodingLatin1, 1},
		{"concat", MO{Text: long, Parts: 3}, pdu.CodingDefault, 3},
		{"concat-ucs2", MO{Text: "😀😀😀😀😀 stop", Parts: 3}, pdu.CodingUCS2, 3},
		{"sar", MO{Text: long, Parts: 3, UseSAR: true}, pdu.CodingDefault, 3},
		{"payload", MO{Text: long, Payload: true}, pdu.CodingDefault, 1},
		{"payload-concat", MO{Text: long, Payload: true, Parts: 2}, pdu.CodingDefault, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mo := tc.mo
			mo.From, mo.To = "+15550002222", "+15550001111"
			mo.TLVs = []pdu.TLV{{Tag: pdu.TagUserMessageReference, Value: []byte{0, 7}}}
			statuses, err := s.SendMO(ctx, "acme", mo)
			if err != nil {
				t.Fatal(err)
			}
			if len(statuses) != tc.n {
				t.Fatalf("%d statuses, want %d", len(statuses), tc.n)
			}
			var text strings.Builder
			var ref uint16
			for i := range tc.n {
				d, err := e.NextDeliver(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if statuses[i] != pdu.ESME_ROK {
					t.Errorf("part %d status %s", i+1, statuses[i])
				}
				m := mustScan(t, d)
				if m.ID != pdu.DeliverSM || m.IsReceipt() || m.DataCoding != tc.dc ||
					string(m.Source.Addr) != mo.From || string(m.Dest.Addr) != mo.To || m.Source.TON != 1 {
					t.Fatalf("part %d: %s esm %#x dc %#x from %s to %s", i+1, m.ID, m.EsmClass, m.DataCoding, m.Source.Addr, m.Dest.Addr)
				}
				if v, ok := m.TLVs.Find(pdu.TagUserMessageReference); !ok || !bytes.Equal(v, []byte{0, 7}) {
					t.Errorf("extra TLV missing")
				}
				ud := m.ShortMessage
				if mo.Payload {
					if len(m.ShortMessage) != 0 {
						t.Errorf("short_message %q with message_payload", m.ShortMessage)
					}
					ud, _ = m.TLVs.Find(pdu.TagMessagePayload)
				}
				switch {
				case tc.n > 1 && mo.UseSAR:
					r, _ := m.TLVs.Find(pdu.TagSarMsgRefNum)
					tot, _ := m.TLVs.Find(pdu.TagSarTotalSegments)
					seq, _ := m.TLVs.Find(pdu.TagSarSegmentSeqnum)
					if m.HasUDH() || len(r) != 2 || !bytes.Equal(tot, []byte{byte(tc.n)}) || !bytes.Equal(seq, []byte{byte(i + 1)}) {
						t.Fatalf("part %d SAR %x %x %x udhi %v", i+1, r, tot, seq, m.HasUDH())
					}
				case tc.n > 1:
					if !m.HasUDH() {
						t.Fatalf("part %d without UDHI", i+1)
					}
					udh, rest, err := pdu.SplitUDH(ud)
					if err != nil {
						t.Fatal(err)
					}
					c, ok := pdu.ParseConcat(udh)
					if !ok || len(udh) != 6 || c.Total != uint8(tc.n) || c.Part != uint8(i+1) || (i > 0 && c.Ref != ref) {
						t.Fatalf("part %d UDH % x → %+v", i+1, udh, c)
					}
					ref = c.Ref
					ud = rest
				default:
					if m.HasUDH() {
						t.Fatal("single part with UDHI")
					}
				}
				part, err := pdu.DecodeText(m.DataCoding, ud)
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				text.WriteString(part)
			}
			if text.String() != mo.Text {
				t.Errorf("text %q, want %q", text.String(), mo.Text)
			}
		})
	}
}

func TestSendMOWaitsForReceiver(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x") // cannot receive
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.SendMO(ctx, "acme", MO{Text: "hi"}); !errors.Is(err, ErrNoSession) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendMO without a receiver: %v", err)
	}
	// A receiver that binds later gets it.
	errc := make(chan error, 1)
	go func() {
		st, err := s.SendMO(Context(t, 5*time.Second), "acme", MO{Text: "hi"})
		if err == nil && st[0] != pdu.ESME_ROK {
			err = fmt.Errorf("status %s", st[0])
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	bound(t, s, ESMEConfig{}, pdu.BindReceiver, "acme", "x")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestManualDeliverResp(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{ManualDeliverResp: true}, pdu.BindTransceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)
	type result struct {
		st  []pdu.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := s.SendMO(ctx, "acme", MO{From: "+15550002222", To: "+15550001111", Text: "STOP"})
		done <- result{st, err}
	}()
	d, err := e.NextDeliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("SendMO returned %v before the deliver_sm was answered", r)
	case <-time.After(50 * time.Millisecond):
	}
	if err := e.Respond(pdu.AppendDeliverSMResp(nil, pdu.ESME_RX_T_APPN, pdu.Seq(d))); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.st) != 1 || r.st[0] != pdu.ESME_RX_T_APPN {
		t.Fatalf("SendMO: %v %v, want [ESME_RX_T_APPN]", r.st, r.err)
	}

	// DeliverStatus answers automatically with a non-zero status.
	e2 := bound(t, s, ESMEConfig{DeliverStatus: pdu.ESME_RX_P_APPN}, pdu.BindReceiver, "other", "x")
	st, err := s.SendMO(ctx, "other", MO{Text: "hi"})
	if err != nil || st[0] != pdu.ESME_RX_P_APPN {
		t.Fatalf("auto DeliverStatus: %v %v", st, err)
	}
	if _, err := e2.NextDeliver(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSendPDU(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)

	// data_sm is answered by the client.
	w := pdu.Begin(nil, pdu.DataSM, 0, 0)
	w.CString("").Address(1, 1, "+15550002222").Address(1, 1, "+15550001111").Byte(0).Byte(0).Byte(0).
		TLV(pdu.TagMessagePayload, []byte("STOP"))
	dataSM := w.End()
	resp, err := s.SendPDU(ctx, "acme", dataSM)
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(resp) != pdu.DataSMResp || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("data_sm answered with %s %s", pdu.ID(resp), pdu.StatusOf(resp))
	}
	d, err := e.NextDeliver(ctx)
	if err != nil || !bytes.Equal(d[4:12], dataSM[4:12]) || !bytes.Equal(d[16:], dataSM[16:]) {
		t.Fatalf("NextDeliver % x %v", d, err)
	}
	if pdu.Seq(dataSM) != 0 {
		t.Error("SendPDU changed the caller's bytes")
	}

	// An unknown vendor command: the test on the ESME side answers it.
	vendor := pdu.Begin(nil, 0x00010200, 0, 0)
	vendor.Octets([]byte{1, 2, 3})
	type result struct {
		raw []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := s.SendPDU(ctx, "acme", vendor.End())
		done <- result{raw, err}
	}()
	d, err = e.NextDeliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pdu.ID(d) != 0x00010200 || !bytes.Equal(d[16:], []byte{1, 2, 3}) {
		t.Fatalf("NextDeliver % x", d)
	}
	answer := pdu.Begin(nil, 0x80010200, pdu.ESME_ROK, pdu.Seq(d))
	answer.Octets([]byte{9})
	ans := answer.End()
	if err := e.Respond(ans); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || !bytes.Equal(r.raw, ans) {
		t.Fatalf("SendPDU returned % x %v, want % x", r.raw, r.err, ans)
	}
	if s.Count(0x80010200) != 1 {
		t.Errorf("Count(0x80010200) = %d", s.Count(0x80010200))
	}

	// alert_notification has no response.
	alert := pdu.Begin(nil, pdu.AlertNotification, 0, 0)
	alert.Address(1, 1, "+15550002222").Address(1, 1, "+15550001111")
	if resp, err := s.SendPDU(ctx, "acme", alert.End()); err != nil || resp != nil {
		t.Fatalf("alert_notification: % x %v", resp, err)
	}
	if d, err := e.NextDeliver(ctx); err != nil || pdu.ID(d) != pdu.AlertNotification {
		t.Fatalf("NextDeliver after alert_notification: % x %v", d, err)
	}

	if _, err := s.SendPDU(ctx, "acme", pdu.AppendEnquireLinkResp(nil, 1)); err == nil {
		t.Error("SendPDU accepted a response PDU")
	}

	// unbind from the SMSC: the client answers and the connection closes.
	resp, err = s.SendPDU(ctx, "acme", pdu.AppendUnbind(nil, 0))
	if err != nil || pdu.ID(resp) != pdu.UnbindResp {
		t.Fatalf("unbind: % x %v", resp, err)
	}
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after unbind")
	}
}

func TestESMEUnbind(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	if err := e.Unbind(Context(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the simulator did not close after unbind")
	}
	Eventually(t, 5*time.Second, func() bool { return len(s.Sessions()) == 0 }, "sessions left: %v", s.Sessions())
}

func TestHoldThenDrop(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	ctx := Context(t, 5*time.Second)
	s.HoldResponses(true)
	raw, _ := pdu.AppendSubmitSM(nil, 0, sm("held"))
	seq, err := e.Send(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.WaitFor(ctx, func(r Record) bool { return r.Dir == In && r.Header.ID == pdu.SubmitSM })
	if err != nil {
		t.Fatal(err)
	}
	if rec.Header.Seq != seq || rec.SystemID != "acme" || rec.Session == 0 || !bytes.Equal(rec.Raw[16:], raw[16:]) {
		t.Errorf("record %v", rec)
	}
	// enquire_link is still answered while messages are held.
	if err := e.EnquireLink(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-e.Responses():
		t.Fatalf("held submit_sm answered: % x", r)
	case <-time.After(50 * time.Millisecond):
	}
	s.DropConnections()
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed by DropConnections")
	}
	if e.Err() == nil {
		t.Error("Err() nil after drop")
	}
	if _, ok := <-e.Responses(); ok {
		t.Error("a response arrived for the held submit_sm")
	}
	if _, err := e.Send(raw); err == nil {
		t.Error("Send on a closed client succeeded")
	}
}

func TestResponseDelay(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	ctx := Context(t, 30*time.Second)
	timing(t, 3, func(a *attempt) { responseDelay(ctx, t, a, s, e) })
}

func responseDelay(ctx context.Context, t *testing.T, a *attempt, s *SMSC, e *ESME) {
	const d, n = 300 * time.Millisecond, 10
	s.SetResponseDelay(d)
	raw, _ := pdu.AppendSubmitSM(nil, 0, sm("slow"))
	start := time.Now()
	for range n {
		if _, err := e.Send(raw); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case r := <-e.Responses():
			if pdu.ID(r) != pdu.SubmitSMResp {
				t.Fatalf("got %s", pdu.ID(r))
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	// Every response was delayed, all at the same time: the reader went on
	// reading (answering one after the other would take n·d).
	if el := time.Since(start); el < d || el > n*d/2 {
		a.Errorf("%d delayed responses took %s with a delay of %s", n, el, d)
	}
	s.SetResponseDelay(0)
	start = time.Now()
	if _, err := e.Submit(ctx, sm("fast")); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el >= d {
		a.Errorf("undelayed submit took %s", el)
	}
}

func TestRecordAndCount(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	ctx := Context(t, 5*time.Second)

	// WaitFor sees the future …
	type result struct {
		r   Record
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := s.WaitFor(ctx, func(r Record) bool { return r.Dir == Out && r.Header.ID == pdu.SubmitSMResp })
		done <- result{r, err}
	}()
	resp, err := e.Submit(ctx, sm("one"))
	if err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || !bytes.Equal(got.r.Raw, resp.Raw) || got.r.Header.Seq != resp.Header.Seq {
		t.Fatalf("WaitFor: %v %v", got.r, got.err)
	}
	// … and the past.
	if r, err := s.WaitFor(ctx, func(r Record) bool { return r.Header.ID == pdu.BindTransceiver }); err != nil || r.Dir != In {
		t.Fatalf("WaitFor bind: %v %v", r, err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := s.WaitFor(short, func(r Record) bool { return r.Header.ID == pdu.CancelSM }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor of nothing: %v", err)
	}

	var ids []pdu.CommandID
	for _, r := range s.Received() {
		ids = append(ids, r.Header.ID)
		if r.At.IsZero() || len(r.Raw) != int(r.Header.Length) {
			t.Errorf("record %v", r)
		}
	}
	want := []pdu.CommandID{pdu.BindTransceiver, pdu.BindTransceiverResp, pdu.SubmitSM, pdu.SubmitSMResp}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("records %v, want %v", ids, want)
	}
	if len(e.Received()) != 2 {
		t.Errorf("client received %d PDUs, want 2", len(e.Received()))
	}

}

// Counts survive the session and do not need Record.
func TestCountWithoutRecord(t *testing.T) {
	s2 := startSMSC(t, SMSCConfig{})
	ctx := Context(t, 5*time.Second)
	e2 := bound(t, s2, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	for range 5 {
		if _, err := e2.Submit(ctx, sm("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := e2.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, func() bool { return len(s2.Sessions()) == 0 }, "session still open")
	if s2.Count(pdu.SubmitSM) != 5 || s2.Count(pdu.BindTransmitter) != 1 || s2.Count(pdu.Unbind) != 1 || s2.Count(pdu.DeliverSM) != 0 {
		t.Errorf("counts: submit_sm %d bind %d unbind %d", s2.Count(pdu.SubmitSM), s2.Count(pdu.BindTransmitter), s2.Count(pdu.Unbind))
	}
	if len(s2.Received()) != 0 {
		t.Error("records kept with Record off")
	}
}

func TestSequenceWrap(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	s.startSeq.Store(pdu.MaxSeq - 1)
	e := dial(t, s, ESMEConfig{})
	e.mu.Lock()
	e.seq = pdu.MaxSeq - 1
	e.mu.Unlock()
	ctx := Context(t, 5*time.Second)
	if st, err := e.Bind(ctx, pdu.BindTransceiver, "acme", "x"); err != nil || st != pdu.ESME_ROK {
		t.Fatal(st, err)
	}
	var got []uint32
	for range 3 {
		if _, err := s.SendMO(ctx, "acme", MO{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		d, err := e.NextDeliver(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pdu.Seq(d))
	}
	if fmt.Sprint(got) != fmt.Sprint([]uint32{pdu.MaxSeq - 1, pdu.MaxSeq, 1}) {
		t.Errorf("simulator sequence numbers %v", got)
	}
	// The client wrapped too: bind used MaxSeq-1; these use MaxSeq, 1, 2.
	got = got[:0]
	for range 3 {
		r, err := e.Submit(ctx, sm("x"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Header.Seq)
	}
	if fmt.Sprint(got) != fmt.Sprint([]uint32{pdu.MaxSeq, 1, 2}) {
		t.Errorf("client sequence numbers %v", got)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransceiver, "acme", "x")
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(2)
		go func() { defer wg.Done(); s.Close() }()
		go func() { defer wg.Done(); e.Close() }()
	}
	wg.Wait()
	select {
	case <-e.Done():
	default:
		t.Fatal("Done open after Close")
	}
	if err := s.WaitSessions(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitSessions after Close: %v", err)
	}
	if _, err := DialESME(Context(t, time.Second), s.Addr(), ESMEConfig{}); err == nil {
		t.Error("dial after Close succeeded")
	}
}

// discardConn is a net.Conn that accepts and drops every write, for
// allocation tests of the session's hot path.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, errors.New("no reads") }
func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

func TestSubmitPathDoesNotAllocate(t *testing.T) {
	for _, cfg := range []SMSCConfig{{}, {DecimalIDs: true}} {
		s := &SMSC{cfg: cfg, sessions: map[uint64]*session{}, unknown: map[pdu.CommandID]uint64{}, schedWake: make(chan struct{}, 1), done: make(chan struct{})}
		ss := newSession(s, 1, discardConn{})
		ss.rBound, ss.rBindID, ss.rSystemID = true, pdu.BindTransmitter, "acme"
		raw, _ := pdu.AppendSubmitSM(nil, 5, sm(strings.Repeat("x", 160)))
		allocs := testing.AllocsPerRun(1000, func() {
			ss.handle(raw)
			ss.drained()
		})
		if allocs != 0 {
			t.Errorf("%+v: %.1f allocations per submit_sm", cfg, allocs)
		}
	}
}

func TestCloseWithResponsesFull(t *testing.T) {
	old := responsesCap
	responsesCap = 2
	defer func() { responsesCap = old }()
	s := startSMSC(t, SMSCConfig{})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	raw, _ := pdu.AppendSubmitSM(nil, 0, sm("x"))
	for range 5 {
		if _, err := e.Send(raw); err != nil {
			t.Fatal(err)
		}
	}
	Eventually(t, 5*time.Second, func() bool { return s.Count(pdu.SubmitSM) == 5 }, "submit_sm not received")
	time.Sleep(20 * time.Millisecond) // the reader is now blocked on the full channel
	closed := make(chan struct{})
	go func() { e.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs while Responses is full")
	}
	n := 0
	for range e.Responses() {
		n++
	}
	if n != 2 {
		t.Errorf("%d responses kept, want 2", n)
	}
}

// TestInspectSeesSubmissions: Inspect is shown every submission as it
// arrives, scanned; nothing else (an enquire_link) reaches it.
func TestInspectSeesSubmissions(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := startSMSC(t, SMSCConfig{Inspect: func(m *pdu.Message) {
		mu.Lock()
		seen = append(seen, m.ID.String()+" "+string(m.Dest.Addr))
		mu.Unlock()
	}})
	e := bound(t, s, ESMEConfig{}, pdu.BindTransmitter, "acme", "x")
	ctx := Context(t, 5*time.Second)
	if r, err := e.Submit(ctx, sm("one")); err != nil || r.Header.Status != pdu.ESME_ROK {
		t.Fatal(r.Header.Status, err)
	}
	if err := e.EnquireLink(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "submit_sm "+sm("one").Dest.Addr {
		t.Fatalf("Inspect saw %q", seen)
	}
}
