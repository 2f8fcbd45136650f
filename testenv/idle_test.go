package testenv

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

func TestIdleBindsAnswerAndClose(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Record: true})
	ctx := Context(t, 20*time.Second)
	const n = 40
	var progress []int
	ib, err := BindIdle(ctx, IdleConfig{Addr: s.Addr(), Binds: n, Parallel: 8, Progress: func(b int) { progress = append(progress, b) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	if ib.Len() != n || ib.Alive() != n {
		t.Fatalf("Len %d, Alive %d; want %d each", ib.Len(), ib.Alive(), n)
	}
	if len(progress) == 0 || progress[len(progress)-1] != n {
		t.Fatalf("progress reports %v; want the last to be %d", progress, n)
	}
	sessions := s.Sessions()
	if len(sessions) != n {
		t.Fatalf("simulator has %d sessions; want %d", len(sessions), n)
	}
	for _, si := range sessions {
		if !si.Bound || si.Bind != pdu.BindTransceiver || si.SystemID != "idle" {
			t.Fatalf("session %+v; want a bound transceiver of system_id idle", si)
		}
	}

	for range 3 {
		if err := s.SendEnquireLink(ctx, "idle"); err != nil {
			t.Fatal(err)
		}
	}
	if got := ib.EnquireLinks(); got != 3 {
		t.Errorf("EnquireLinks = %d; want 3", got)
	}
	// A deliver_sm with a body (read past, answered), and a request only an
	// ESME sends (nacked).
	if st, err := s.SendMO(ctx, "idle", MO{From: "+15550002222", To: "+15550001111", Text: "hello"}); err != nil || len(st) != 1 || st[0] != pdu.ESME_ROK {
		t.Fatalf("deliver_sm answered %v, %v; want [ESME_ROK]", st, err)
	}
	resp, err := s.SendPDU(ctx, "idle", pdu.AppendHeaderOnly(nil, pdu.CancelSM, pdu.ESME_ROK, 0))
	if err != nil || pdu.ID(resp) != pdu.GenericNack || pdu.StatusOf(resp) != pdu.ESME_RINVCMDID {
		t.Fatalf("cancel_sm answered %x, %v; want generic_nack ESME_RINVCMDID", resp, err)
	}
	if err := ib.Err(); err != nil || ib.Alive() != n {
		t.Fatalf("after the requests: Alive %d, Err %v; want %d open", ib.Alive(), err, n)
	}
	// Nothing but the binds came from the clients on their own.
	for _, r := range s.Received() {
		if r.Dir == In && !r.Header.ID.IsResponse() && r.Header.ID != pdu.BindTransceiver {
			t.Fatalf("an idle client sent %s", r)
		}
	}

	// The server unbinds one: it answers and that connection ends.
	resp, err = s.SendPDU(ctx, "idle", pdu.AppendUnbind(nil, 0))
	if err != nil || pdu.ID(resp) != pdu.UnbindResp || pdu.StatusOf(resp) != pdu.ESME_ROK {
		t.Fatalf("unbind answered %x, %v; want unbind_resp ESME_ROK", resp, err)
	}
	Eventually(t, 10*time.Second, func() bool { return ib.Alive() == n-1 }, "Alive %d after an unbind; want %d", ib.Alive(), n-1)
	if err := ib.Err(); err == nil || !strings.Contains(err.Error(), "unbound by the server") {
		t.Errorf("Err after the server's unbind = %v; want unbound by the server", err)
	}

	ib.Close()
	ib.Close()
	if ib.Alive() != 0 {
		t.Errorf("Alive after Close = %d", ib.Alive())
	}
	Eventually(t, 10*time.Second, func() bool { return len(s.Sessions()) == 0 }, "simulator still has %d sessions after Close", len(s.Sessions()))
}

func TestIdleBindsRefused(t *testing.T) {
	s := startSMSC(t, SMSCConfig{Accounts: map[string]string{"idle": "right"}})
	ctx := Context(t, 20*time.Second)
	ib, err := BindIdle(ctx, IdleConfig{Addr: s.Addr(), Binds: 20, Password: "wrong"})
	var se *StatusError
	if err == nil || !errors.As(err, &se) || se.Status != pdu.ESME_RINVPASWD {
		t.Fatalf("BindIdle with a wrong password: %v, %v; want a bind refused with ESME_RINVPASWD", ib, err)
	}
	Eventually(t, 10*time.Second, func() bool { return len(s.Sessions()) == 0 }, "simulator still has %d sessions after a failed BindIdle", len(s.Sessions()))

	if _, err := BindIdle(ctx, IdleConfig{Addr: s.Addr(), Binds: 0}); err == nil {
		t.Error("BindIdle with 0 binds succeeded")
	}
}

func TestIdleBindsSeeTheServerGo(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	ctx := Context(t, 20*time.Second)
	ib, err := BindIdle(ctx, IdleConfig{Addr: s.Addr(), Binds: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	s.DropConnections()
	Eventually(t, 10*time.Second, func() bool { return ib.Alive() == 0 }, "Alive %d after the server dropped every connection", ib.Alive())
	if ib.Err() == nil {
		t.Error("Err is nil after the server dropped the connections")
	}
}

func TestIdleBindsNoServer(t *testing.T) {
	s := startSMSC(t, SMSCConfig{})
	addr := s.Addr()
	s.Close()
	ctx := Context(t, 20*time.Second)
	if _, err := BindIdle(ctx, IdleConfig{Addr: addr, Binds: 5, BindTimeout: 2 * time.Second}); err == nil || !strings.Contains(err.Error(), "dial") {
		t.Fatalf("BindIdle to a closed port: %v; want a dial error", err)
	}
}
