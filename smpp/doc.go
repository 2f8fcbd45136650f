// Package smpp is optguard's SMPP v3.4 proxy: the TCP/TLS server that ESMEs bind
// to, the upstream sessions it opens to the SMSC on their behalf, and the relay
// between the two legs of each bind.
//
// # Shape
//
// Every connection is a Session with exactly one reader and one writer
// goroutine. The reader reads into a per-connection buffer that grows under load
// and shrinks when idle, frames PDUs in place (smpp/pdu) and handles each one.
// What the batch produces for its own connection and for the other leg is staged
// and written once the batch is handled, by the reader itself when no one else is
// writing to that connection (nats-server's flush in place): one write system
// call carries many PDUs and no goroutine is woken per batch. The writer
// goroutine finishes what a slow peer did not take within the reader's short
// budget and writes what other goroutines queue (timeouts, injections,
// teardown). Housekeeping (response timeouts, enquire_link on idle links) runs
// for all sessions from a few shared goroutines, not a timer per session
// (housekeeping.go). Counters are kept per reader and published once per batch.
//
// The relay path allocates nothing per PDU; the pending table is lock-free
// between the reader that adds requests and the one that takes responses.
//
// A bind is a pair of sessions: the downstream one (the ESME's connection) and
// the upstream one that optguard opened to the SMSC chosen for the ESME's
// system_id, bound with the ESME's own bind PDU (transparent mode). Each leg has
// its own sequence counter (1 … 0x7FFFFFFF, wrapping) and a pending table, a ring
// indexed by sequence number whose size the window bounds.
//
// # Relay rules
//
// Hop-by-hop PDUs are handled on each leg and never relayed: bind_*, unbind,
// enquire_link, generic_nack and outbind. Every other PDU, including command ids
// this package does not know, is relayed as the exact bytes that arrived with only
// the sequence number rewritten. A request that would exceed the window of the leg
// it must go out on is answered at once with ESME_RTHROTTLED. A request whose
// response does not come within the response timeout, or whose leg is lost, is
// answered with the configured timeout status (ESME_RSYSERR by default). Loss of
// either leg closes the other in order: outstanding requests are answered, the
// survivor is unbound, then both connections close.
//
// Local answers the relay gives itself, each documented where it is made:
//   - a bind beyond Options.MaxBindsPerSystemID, or to an SMSC that cannot be
//     reached or does not answer: bind_resp ESME_RBINDFAIL;
//   - a second bind on a bound connection: ESME_RALYBND;
//   - any other request before a bind, or while the bind is being torn down:
//     ESME_RINVBNDSTS;
//   - submit_sm, data_sm or submit_multi from an ESME bound as a receiver:
//     ESME_RINVBNDSTS, before the Interceptor sees it;
//   - a malformed submit_sm, submit_multi, data_sm or deliver_sm (a field longer
//     than the specification allows, sm_length or a TLV past the end): its
//     response with the status the scanner names; it is not relayed, because an
//     unreadable message cannot be checked for consent;
//   - a command_length below 16 or above the maximum: generic_nack
//     ESME_RINVCMDLEN, then the connection closes (the stream cannot be framed);
//   - an unknown command id when Options.RefuseUnknownCommands is set:
//     generic_nack ESME_RINVCMDID.
//
// # Interception
//
// smpp knows nothing about consent. It calls an Interceptor, declared here, for
// every submit_sm, data_sm and submit_multi from an ESME (MT) and every
// deliver_sm and data_sm from the SMSC (MO and receipts), with a read-only scanned
// view of the PDU. The verdict:
//   - forwards the PDU (ActForward);
//   - rejects it with a status (ActReject);
//   - holds it: answers ESME_ROK, with an optguard message_id for an MT, and
//     does not relay it (ActHold);
//   - relays other bytes instead (ActReplace): a receipt whose message id
//     optguard rewrites, a submit_multi with refused destinations removed. The
//     bytes must be one whole PDU of the same command within the size limit,
//     or the message is refused with ESME_RSYSERR: garbage never goes out;
//   - or answers later (ActDefer): the Interceptor calls Call.Defer, which
//     copies the PDU, and gives the verdict with Deferred.Finish from any
//     goroutine, e.g. once a batch of consent changes is on disk. SMPP allows
//     responses out of order, so one durable write per PDU does not cap a
//     bind's rate. A bind torn down meanwhile never answers the PDU and Finish
//     says ErrSessionClosed: the SMSC redelivers what it never had answered.
//
// For a submit_multi the verdict may list destinations optguard refused
// (Verdict.Unsuccess). A relayed one keeps them in a side table of the SMSC's
// leg until its submit_multi_resp comes back and merges them after the SMSC's
// own unsuccess_sme entries; a rejected or held one answers with them.
//
// A verdict may also originate PDUs (injections) on either leg: InjectBefore
// ahead of the verdict's own relay or answer, on the same connection when it
// can carry them (a disclaimer right before the MT), and Inject after it (a
// confirmation after the relayed MO). Server.Inject originates them at any
// time. Their responses are consumed by optguard and handed to a callback.
//
// # Bind events and service binds
//
// Options.OnBind hears of each bind coming up (once the ESME has its bind_resp,
// so that what waited for it can be injected at once) and going away, in
// order, on a goroutine of the server; Server.Binds lists the binds that are
// up. Server.SetServiceBinds keeps optguard's own bind_transmitter per account
// up, for injections to handsets when no ESME transmitter of the account is
// bound; it reconnects with a backoff of 1 s doubling to 30 s and is unbound
// when removed and at Shutdown. A service bind takes only responses,
// enquire_link and unbind from the SMSC; any other request is answered
// ESME_RINVBNDSTS, and nothing on it reaches the Interceptor.
//
// smpp imports smpp/pdu and no other package of optguard.
package smpp
