// Package policy decides what happens to each message that crosses optguard: it
// detects opt-out, opt-in and help keywords in mobile-originated messages, runs the
// consent state machine per organization and handset, renders the automatic
// messages from versioned templates, and returns a verdict (forward, hold or
// reject) for each mobile-terminated message.
//
// policy uses the pure wire package smpp/pdu (views, text codecs, UDH) and the
// store package's interfaces. It must never import smpp (sessions, sockets): the
// proxy calls policy through a consumer-side interface that cmd/optguard adapts.
package policy
