package smpp

import (
	"crypto/tls"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/smpp/pdu"
)

// Options configure a Server. The zero value of each field means its default.
type Options struct {
	// Logger receives the server's logs; each session logs through a sub-logger
	// with its session id, system_id and remote address. Default: discard.
	Logger zerolog.Logger

	// Router picks the SMSC for a bind's system_id. It is required.
	Router func(systemID string) Route

	// Interceptor sees every MT and MO message. Default: Forward (relay all).
	Interceptor Interceptor

	// Window is the number of outstanding requests per leg of a bind. Default 1000.
	Window int
	// ResponseTimeout bounds the wait for any response. Default 30s.
	ResponseTimeout time.Duration
	// TimeoutStatus answers a request whose response did not come in time or
	// whose leg was lost. Default ESME_RSYSERR.
	TimeoutStatus pdu.Status
	// EnquireLinkInterval: a leg that has been silent this long is sent an
	// enquire_link; if that is not answered in ResponseTimeout the leg is dropped.
	// Default 30s; negative disables.
	EnquireLinkInterval time.Duration
	// UnbindTimeout bounds the wait for unbind_resp in an orderly close. Default 5s.
	UnbindTimeout time.Duration
	// WriteTimeout drops a peer that does not read for this long. Default 30s.
	WriteTimeout time.Duration
	// BindTimeout: a connection must bind within this time. Default 10s.
	BindTimeout time.Duration
	// MaxPDUSize is the largest command_length accepted. Default pdu.DefaultMaxLen.
	MaxPDUSize uint32
	// RefuseUnknownCommands answers command ids SMPP v3.4 does not define with
	// generic_nack ESME_RINVCMDID instead of relaying them.
	RefuseUnknownCommands bool
	// WarnInterval and WarnBurst rate-limit the warnings a remote peer can
	// cause (a connection over MaxConnections, unframeable input, a refused
	// bind, no bind in time): per kind and remote host, the first WarnBurst
	// of each WarnInterval are logged and the rest summed up in one line at
	// its end. Defaults: ratelog.DefaultInterval and ratelog.DefaultBurst.
	WarnInterval time.Duration
	WarnBurst    int
	// MaxConnections bounds concurrent ESME connections; more are closed at
	// accept. Default 10000.
	MaxConnections int
	// MaxBindsPerSystemID bounds concurrent binds per system_id; 0 = unlimited.
	MaxBindsPerSystemID int

	// OnBind, if not nil, is told when a bind comes up (after the ESME got its
	// bind_resp ESME_ROK) and when it is gone, once each, ESME binds and
	// service binds alike. Events are delivered in order on a goroutine of the
	// server, never a session's, so the callback may call the Server (e.g.
	// Inject, to send what waited for the bind); while it runs, later events
	// wait. It must return: Shutdown waits for it.
	OnBind func(BindEvent)
}

// Route is where the binds of a system_id go.
type Route struct {
	Name           string        // route name, for logs and metrics
	Address        string        // host:port of the SMSC
	ConnectTimeout time.Duration // TCP connect and TLS handshake; default 5s
	TLS            *tls.Config   // nil = plain TCP
}

// Defaults.
const (
	DefaultWindow              = 1000
	DefaultResponseTimeout     = 30 * time.Second
	DefaultEnquireLinkInterval = 30 * time.Second
	DefaultUnbindTimeout       = 5 * time.Second
	DefaultWriteTimeout        = 30 * time.Second
	DefaultBindTimeout         = 10 * time.Second
	DefaultConnectTimeout      = 5 * time.Second
	DefaultMaxConnections      = 10000
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Interceptor == nil {
		o.Interceptor = Forward{}
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = DefaultResponseTimeout
	}
	if o.TimeoutStatus == pdu.ESME_ROK {
		o.TimeoutStatus = pdu.ESME_RSYSERR
	}
	if o.EnquireLinkInterval == 0 {
		o.EnquireLinkInterval = DefaultEnquireLinkInterval
	}
	if o.UnbindTimeout <= 0 {
		o.UnbindTimeout = DefaultUnbindTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = DefaultBindTimeout
	}
	if o.MaxPDUSize == 0 {
		o.MaxPDUSize = pdu.DefaultMaxLen
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	return o
}
