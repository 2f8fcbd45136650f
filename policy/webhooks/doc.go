// Package webhooks tells other systems (a CRM, a compliance archive) of
// consent changes as they happen: each configured endpoint is POSTed the
// ledger events it selects, as JSON, signed with HMAC-SHA256 over a
// timestamp and the body.
//
// # The outbox is the ledger
//
// The ledger is already durable and ordered, so nothing is queued anew on
// the way of a consent change: an endpoint has a cursor in the store (the
// last sequence number it is past, store.Webhooks), and one sender
// goroutine per endpoint reads the events after it, posts them in batches
// in sequence order, and moves the cursor, synced, only once the receiver
// answered 2xx. A failed attempt is retried with exponential backoff and
// jitter (Options.RetryMin up to Options.RetryMax), without end: an event
// is never dropped, and a receiver that refuses holds up its own endpoint
// only. A crash between a receiver's 2xx and the cursor's move sends that
// batch again at the next start; that, and a request whose answer was lost
// (a timeout after the receiver took it), are the only repeats. Each event
// has an id (sequence number and hash) for receivers to drop repeats by:
// delivery is at least once.
//
// # What is sent
//
// By default an endpoint gets the consent changes (events whose state
// differs from the one before) and the review items (possible opt-outs and
// their dismissals); it may list event types or "all" instead, and limit
// itself to organizations. The events are store.EventView with the number
// and an id; an event of an erased subject goes without its number.
//
// Every attempt is kept in the endpoint's delivery log in the store (the
// latest Options.Keep of them), which the operator API shows.
//
// # Reload
//
// Dispatcher.Reload swaps the endpoints and settings while serve runs (a
// SIGHUP): the running senders finish their requests and stop, then the
// new ones start from the cursors in the store, so that a reload is a
// restart of the senders only, with the same guarantees.
//
// webhooks uses the store and net/http only; it never imports smpp.
//
// DESIGN.md puts webhooks in policy/httpapi. They are a package of their
// own because the senders run for as long as serve does, on no request of
// the API's; the API only reads their cursors and delivery logs.
package webhooks
