// Package policy is optguard's consent policy: it decides what happens to
// each message that crosses the proxy, keeps the consent of every handset in
// the store's ledger, and originates the automatic messages (consent
// requests, disclaimers, confirmations, help replies, notices to the
// sender, receipts for messages it refused).
//
// policy uses the pure wire package smpp/pdu (views, text codecs, UDH,
// builders), policy/keywords (detection) and the store's interfaces. It
// never imports smpp (sessions, sockets): the proxy asks through
// smpp.Interceptor, which cmd/optguard adapts to Engine, and what the policy
// originates goes out through the Transport it is given. Its decisions are
// its own types (Decision, Outgoing), so that nothing here depends on how
// the proxy carries them out.
//
// # Organizations
//
// Every bind belongs to an organization, found by its system_id (and, for
// sub-organizations, by the MT's sender number prefix); binds no
// organization claims belong to "default". A main organization and its
// sub-organizations form an account: consent is kept per account and
// handset (or per sender number and handset), the mode (consent,
// disclaimer, off) and the limits are the main organization's, and
// sub-organizations may change templates, sender names, keywords and help
// contact. The organizations are compiled into a table read through an
// atomic pointer, so Reload (SIGHUP) never stops a bind.
//
// # The hot path and the lanes
//
// MT decides from memory: the handset's E.164 digits are computed from the
// PDU's destination without allocating (a dial plan per account), the
// consent state comes from the store's in-memory index, and forward or
// refuse is answered at once (0 allocations; BenchmarkMTVerdict). What
// needs the disk returns Defer: the proxy keeps a copy of the PDU and
// hands it to Run, which queues a task on the lane of the handset. A lane
// is a goroutine that works its handsets' tasks in arrival order — the
// durable write (a hold, a consent change), then the PDU's answer, then
// what follows — so two replies of one handset are never decided out of
// order, while hundreds of lanes share the store's group commit. A full
// lane answers at once with a temporary error (ESME_RTHROTTLED to an ESME,
// ESME_RX_T_APPN to an SMSC) so that the peer sends the PDU again: nothing
// waits without bound and nothing acknowledged is lost. An opt-out marks
// its scope in an overlay before MO returns, so the next MT is refused
// even while the opt-out's write is still in its lane.
//
// While the store's disk is below its reserve (Store.Accepting fails), a
// PDU that needs a durable write is answered at once with a temporary
// error instead of going to its lane: an MT to hold or to precede with a
// disclaimer gets ESME_RMSGQFUL, an MO that would change consent, be held
// or get a help reply gets ESME_RX_T_APPN, so that the SMSC delivers it
// again later and the STOP is recorded then. A task already waiting in its
// lane is answered the same way before it starts. Everything that needs no
// write (forwarded MTs, refusals of opted-out handsets, plain MOs,
// receipts) goes on, and so does durable work once there is room again.
//
// # Flows
//
//   - MT, consent mode, no consent: the MT is held (on disk before the ESME
//     gets submit_sm_resp with an id in the SMSC's id form), the handset
//     gets the consent request from the sender's number and the sender the
//     "requested" notice; a pending scope holds up to its limit
//     (hold_full_status beyond) and gets another request after the resend
//     interval, up to the maximum. submit_multi never holds: destinations
//     without consent are taken out of the relayed PDU and listed in
//     submit_multi_resp.
//   - MT, disclaimer mode, first contact of the scope: the disclaimer is
//     recorded, then sent on the same SMSC connection just before the MT.
//   - MT to an opted-out handset, in any mode: refused with the
//     organization's refused_status (ESME_RX_P_APPN by default: Kannel and
//     most ESMEs resend on ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED and
//     ESME_RX_T_APPN forever, and treat a permanent application error as
//     final), never sent.
//   - MO opt-out: recorded with the MO's text before deliver_sm_resp, the
//     scope's held messages dropped (REJECTD receipts where asked for),
//     exactly one confirmation to the handset if it can leave within the
//     confirmation deadline (5 minutes, the FCC's allowance; otherwise the
//     ledger says why it was not sent), the "rejected" notice to the sender.
//   - MO opt-in: recorded, held messages released in order, confirmation
//     and "accepted" notice. MO help: the help reply, no state change.
//   - MO possible_opt_out (an opt-out word in a sentence no list matches):
//     relayed, recorded as a review item for a person.
//   - MO from a handset without consent in consent mode (the handset writes
//     first): held and not relayed, consent request to the handset,
//     "requested" notice to the sender; YES delivers it, STOP drops it.
//
// The state machine's channel rules (who may lift an opt-out) are
// CheckChange's, used as a Guard inside the store's transaction.
//
// # Receipts and message ids
//
// A held MT's id takes the form of the account's SMSC ids (hex or decimal,
// configured or learned from the receipts that pass); when the released
// message's receipt comes, its id (text and receipted_message_id) is
// rewritten to the one the ESME has. SMSC ids are matched in canonical form
// (case, leading zeros) and across hex and decimal. Receipts for optguard's
// own messages are consumed; receipts for messages never held pass
// untouched.
//
// # The outbox
//
// Released, dropped and expired held messages, and auto-messages no bind
// could carry, wait in the store's outbox until they went out; the outbox
// is worked at start (after a crash), when a bind comes up, and every few
// seconds.
package policy
