// Package pdu is optguard's SMPP v3.4 wire format: pure functions over []byte with
// no I/O, no goroutines and no allocation on the relay path.
//
// It owns
//   - the header (command_length, command_id, command_status, sequence_number),
//     framing of a byte stream into PDUs with the length checks of the
//     specification (16 ≤ command_length ≤ a configured maximum), and patching the
//     sequence number of a PDU in place;
//   - every SMPP 3.4 command id and command_status as typed enums with String();
//   - a zero-copy scanner (Scan) that fills a caller-owned Message with views
//     (sub-slices of the PDU) of the mandatory fields and TLVs of submit_sm,
//     deliver_sm, data_sm and submit_multi, checking every C-octet string against
//     the specification's maximum length, sm_length against the body and every
//     TLV length against the end of the PDU;
//   - builders (Append*) for the PDUs optguard itself originates, with the
//     sequence number chosen by the caller, delivery receipts included;
//   - data_coding text codecs (table-driven, AppendText decodes without
//     allocating), the user data header (UDH) of concatenated messages,
//     splitting long text into concatenated parts, and the text of delivery
//     receipts;
//   - the only two rewrites of a relayed PDU besides its sequence number, each
//     a copy that keeps every other octet: a submit_multi with destinations
//     removed (and its submit_multi_resp merged with optguard's refusals), and
//     a receipt whose message id becomes the one optguard gave the ESME.
//
// Every length is checked before it is read: a malformed PDU yields an error, never
// a panic or a read past a length (FuzzFrame and FuzzScan prove it). Errors that
// map to an SMPP command_status are *StatusError values so that the proxy can
// answer with the right status.
//
// pdu imports only the standard library and golang.org/x/text (its charmaps
// build the ISO-8859 tables). github.com/fiorix/go-smpp's GSM 03.38 codec serves
// only as a reference in a test; its PDU encoder re-orders TLVs and rewrites
// bytes, so nothing here ever uses it: a relayed PDU is never decoded and
// re-encoded, only its sequence number is patched or it is copied with one
// field changed.
package pdu
