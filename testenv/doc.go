// Package testenv holds the SMPP peers that optguard's tests and benchmarks run
// against on loopback: an SMSC simulator, an ESME client, a load generator (used by
// `optguard bench`) and small test helpers (an eventually-style poller, a goroutine
// leak check).
//
// testenv depends only on the pure wire package smpp/pdu. It never imports smpp,
// so that what the proxy does is always observed from outside, on the wire.
//
// # Peers
//
//   - SMSC (StartSMSC) listens on real TCP and answers binds (checking
//     Accounts), submit_sm / data_sm / submit_multi with counter-based hex or
//     decimal message ids, query_sm, cancel_sm, replace_sm, enquire_link and
//     unbind; it sends receipts (automatic, after a fixed delay or one drawn
//     per receipt, or SendReceipt), MO messages (SendMO: single,
//     UDH-concatenated, SAR, message_payload; StormMO: a count of them, or a
//     stream at a rate until stopped, with texts by share and a share of
//     two-part concatenated ones) and arbitrary requests (SendPDU). For fault
//     and load tests it can answer every submission with a chosen status, hold
//     or delay responses, answer under a LoadProfile, and drop every
//     connection. It records what crossed the wire when Record is on, and
//     always counts PDUs by command, answers, receipts and MOs (Stats).
//   - ESME (DialESME) is a client for tests: synchronous requests matched by
//     sequence number, windowed Send with a Responses channel, raw writes for bad
//     input, and a queue of what the server sends (NextDeliver).
//   - RunLoad binds groups of connections (transmitters, transceivers,
//     receivers; TLS) and follows a plan (loadplan.go): phases closed loop
//     with a window or open loop at a rate or a ramp (loadsched.go), a mix
//     of messages encoded once and patched per message (loadmix.go), a
//     handset population with named groups. It measures request→response
//     latency, latency from the intended send time in open loop, receipts
//     matched to their requests by id (loadreceipts.go), MOs, stalls, and
//     figures per phase, per group and per second (OnSecond).
//
// # I/O shape
//
// Every connection has one reader goroutine that reads into a reusable buffer
// and frames PDUs in place with pdu.Frame, and a mutex-protected 64 KiB
// bufio.Writer that the reader flushes when it has processed everything it read
// (flush-on-drain) and that synchronous senders flush themselves. There is no
// per-PDU goroutine, and the simulator's submit path (its receipts included),
// the MO storm's send path and the load generator's send and receive paths do
// not allocate (tests check them), so the tools do not become the bottleneck
// of the proxy they measure.
//
// # Lifetimes
//
// Everything is bounded: records (200,000 per peer), queued deliveries and
// responses (65,536), delayed responses (about a million), load errors (20).
// Every goroutine belongs to an SMSC, an ESME or a RunLoad call and ends in Close
// (idempotent, and it waits) or when RunLoad returns. Tests check with goleak
// (VerifyNoLeaks).
package testenv
