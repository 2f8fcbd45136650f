// Package httpapi is optguard's operator API: the JSON (and CSV) HTTP
// interface that compliance officers, agents and CRMs use around the
// proxy, served on the admin listener under /api/v1/ next to /metrics and
// /healthz, and described by the OpenAPI 3.1 document at /openapi.json.
//
// It holds no consent rule of its own. Every action is a call into the
// policy engine (RequestOptIn, VerifyPIN, RecordConsent, OptOut,
// RemoveOptOut, DecideReview), which checks the override rules and the
// allowed countries and writes the ledger; every read is the store's. What
// this package adds is the HTTP side: who is calling (auth.go), what they
// may see (tenancy in auth.go), reading requests strictly (decode.go),
// errors in one JSON shape with the right status (errors.go), and one
// route table (routes.go) that the mux, the OpenAPI check and the console
// share.
//
// Callers authenticate with a bearer token. The API keeps only each
// token's SHA-256, compares in constant time, and answers an address that
// keeps failing with 429 for a while, so that guessing is slow. Every write
// records the token's name as the actor in the ledger.
package httpapi
