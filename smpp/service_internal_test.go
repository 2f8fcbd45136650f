package smpp

import (
	"bytes"
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
)

// TestServiceSessionRefusesRequests: a service bind is a transmitter; what
// the SMSC may not send it is refused with ESME_RINVBNDSTS, in the request's
// own response where it has one, and never reaches an Interceptor.
func TestServiceSessionRefusesRequests(t *testing.T) {
	srv := NewServer(Options{Logger: zerolog.Nop(), Router: func(string) Route { return Route{} }, Interceptor: panicky{}})
	s := srv.newSession(Upstream, discardConn{})
	s.svc = &serviceBind{srv: srv, ctx: context.Background()}
	deliver, _ := pdu.AppendDeliverSM(nil, 7, &pdu.SM{ShortMessage: []byte("STOP")})
	data := pdu.Begin(nil, pdu.DataSM, 0, 8)
	data.CString("").Address(1, 1, "1").Address(1, 1, "2").Byte(0).Byte(0).Byte(0)
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"deliver_sm", deliver, pdu.AppendResp(nil, pdu.DeliverSM, pdu.ESME_RINVBNDSTS, 7)},
		{"data_sm", data.End(), pdu.AppendResp(nil, pdu.DataSM, pdu.ESME_RINVBNDSTS, 8)},
		{"bind", pdu.AppendHeaderOnly(nil, pdu.BindTransmitter, 0, 9), pdu.AppendResp(nil, pdu.BindTransmitter, pdu.ESME_RINVBNDSTS, 9)},
		{"unknown", pdu.AppendHeaderOnly(nil, pdu.CommandID(0x00010200), 0, 10), pdu.AppendGenericNack(nil, pdu.ESME_RINVBNDSTS, 10)},
		{"outbind", pdu.AppendHeaderOnly(nil, pdu.Outbind, 0, 11), pdu.AppendGenericNack(nil, pdu.ESME_RINVBNDSTS, 11)},
		{"enquire_link", pdu.AppendEnquireLink(nil, 12), pdu.AppendEnquireLinkResp(nil, 12)},
		{"alert_notification", pdu.AppendHeaderOnly(nil, pdu.AlertNotification, 0, 13), nil},
		{"stray response", pdu.AppendSubmitSMResp(nil, 0, 14, "x"), nil},
	} {
		s.toSelf = s.toSelf[:0]
		s.handle(tc.in)
		if !bytes.Equal(s.toSelf, tc.want) {
			t.Errorf("%s: answered\n% x\nwant\n% x", tc.name, s.toSelf, tc.want)
		}
	}
}

// panicky fails the test by panicking if the proxy asks it anything.
type panicky struct{}

func (panicky) MT(*Call, *pdu.Message) Verdict { panic("MT called on a service bind") }
func (panicky) MO(*Call, *pdu.Message) Verdict { panic("MO called on a service bind") }
