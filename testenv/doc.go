// Package testenv holds the SMPP peers that optguard's tests and benchmarks run
// against on loopback: an SMSC simulator, an ESME client, a load generator (used by
// `optguard bench`) and small test helpers (an eventually-style poller, a goroutine
// leak check).
//
// testenv depends only on the pure wire package smpp/pdu. It never imports smpp,
// so that what the proxy does is always observed from outside, on the wire.
package testenv
