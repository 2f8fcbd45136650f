package smpp

import (
	"errors"
	"strconv"

	"github.com/optguard/optguard/smpp/pdu"
)

// Leg says which side of optguard a session faces.
type Leg uint8

const (
	// Downstream is the ESME side.
	Downstream Leg = iota
	// Upstream is the SMSC side.
	Upstream
)

func (l Leg) String() string {
	switch l {
	case Downstream:
		return "downstream"
	case Upstream:
		return "upstream"
	}
	return "leg(" + itoa(int(l)) + ")"
}

// BindType is how an ESME bound.
type BindType uint8

const (
	Unbound BindType = iota
	Transmitter
	Receiver
	Transceiver
)

// bindTypeOf maps a bind command id to its BindType.
func bindTypeOf(id pdu.CommandID) BindType {
	switch id {
	case pdu.BindTransmitter:
		return Transmitter
	case pdu.BindReceiver:
		return Receiver
	case pdu.BindTransceiver:
		return Transceiver
	}
	return Unbound
}

func (b BindType) String() string {
	switch b {
	case Unbound:
		return "unbound"
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	case Transceiver:
		return "transceiver"
	}
	return "bind(" + itoa(int(b)) + ")"
}

// CanTransmit reports whether the bind may send MT messages.
func (b BindType) CanTransmit() bool { return b == Transmitter || b == Transceiver }

// CanReceive reports whether the bind may receive MO messages and receipts.
func (b BindType) CanReceive() bool { return b == Receiver || b == Transceiver }

// Errors.
var (
	ErrServerClosed    = errors.New("smpp: server closed")
	ErrSessionClosed   = errors.New("smpp: session closed")
	ErrResponseTimeout = errors.New("smpp: response timeout")
	ErrWindowFull      = errors.New("smpp: window full")
	ErrNoRoute         = errors.New("smpp: no bound session can carry the PDU")
	ErrNotRequest      = errors.New("smpp: injected PDU is not a request")
	ErrUnexpectedPDU   = errors.New("smpp: unexpected PDU during bind")
	// ErrBadReplace: an ActReplace verdict's bytes are not one whole PDU of
	// the command they replace; the message was refused instead.
	ErrBadReplace = errors.New("smpp: replacement is not a PDU of the same command")

	// ErrNotDeferred: Finish on the nil Deferred that Defer returns outside an
	// Interceptor call, or an ActDefer verdict without a Defer (the message is
	// then refused with ESME_RSYSERR).
	ErrNotDeferred = errors.New("smpp: no deferred message")
	// ErrDeferredDone: Finish was called before, or the message was answered
	// by the verdict the Interceptor returned.
	ErrDeferredDone = errors.New("smpp: deferred message already answered")

	errUnknownAction = errors.New("smpp: unknown verdict action")
)

func itoa(i int) string { return strconv.Itoa(i) }
