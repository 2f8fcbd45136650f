// Package exports writes optguard's export files from the ledger: the
// daily opt-out file (seed 004's nightly file: every opt-out of one day,
// for the CRM or database that keeps consent outside optguard), and the CSV
// rows every export shares, which a spreadsheet opens without running
// anything in them.
//
// Both the operator API (policy/httpapi serves the same file over HTTP)
// and the command line use it: WriteOptOuts streams a day's file from the
// store to any writer in constant memory, and WriteAtomic puts a file into
// a directory so that a reader sees the old complete file or the new
// complete one, never part of one, whatever happens while it is written.
//
// It reads the store only (store.Ledger's Events) and holds no consent
// rule; it must not import the HTTP API, smpp or the command.
//
// DESIGN.md puts exports in policy/httpapi. They are a package of their
// own because serve writes the nightly file with no HTTP request in sight,
// and the API, serve and the command line all need the same file.
package exports
