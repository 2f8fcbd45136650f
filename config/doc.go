// Package config owns optguard's configuration: the Config type with its
// defaults, strict loading from a YAML file, and validation.
//
// Loading is three steps, in this order:
//
//  1. Strict decoding. Every key must be known, appear once, and hold a value
//     of the right type; otherwise the error names the file, the line and the
//     dotted key path, e.g.
//     `optguard.yaml:12: unknown key "session.windw" (did you mean "session.window"?)`.
//     A file holds exactly one YAML document. Anchors, aliases and merge keys
//     (<<) work as in YAML.
//  2. Defaults. Decoding starts from Default(), so every key the file leaves
//     out keeps its default. An empty file is the default configuration. A key
//     written with no value (`address:`) is an error rather than a silent
//     default, because for some keys the empty value means something
//     (admin.address: "" turns the admin listener off).
//  3. Validation. Config.Validate reports every problem at once, each naming
//     the dotted key and, when the Config came from a file, the line, e.g.
//     `optguard.yaml:9: session.window: must be between 1 and 100000, got 0`.
//     The CLI calls Validate again after applying command-line overrides;
//     the line then still points at the key in the file.
//
// Keys inside lists and mappings are named like
// `upstream.routes[0].address` and `organizations[1].templates.help`.
//
// # Organizations
//
// The organizations list holds the tenants: each claims bind system_ids
// (and optionally sender number prefixes) and has its own consent mode,
// keywords and templates. An organization with a parent is a
// sub-organization; chains may be of any depth (a region, then a
// department) but not cycles. A sub-organization inherits every key it
// leaves unset from its parent; the keys that apply to the whole account
// (mode, consent_scope, revoke_all, possible_opt_out, relay_keyword_mo,
// hold, consent_requests, refused_status, hold_full_status, countries,
// service_bind, message_ids) may be set on the main organization only.
// Within a list entry a key is unset when the file leaves it out (or, for
// a Config built in code, when it holds its zero value; relay_keyword_mo
// and numeric_replies are pointers so that false can be set). The
// organization "default" covers binds no organization claims; when the
// file lists none it is implicit, in mode off. Config.ResolvedOrganizations
// returns every organization with inheritance and defaults applied: that,
// not the raw list, is what policy compiles. The default refused_status is
// ESME_RX_P_APPN, a permanent error: ESMEs (Kannel, for one) resend MTs
// answered with ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED or
// ESME_RX_T_APPN every minute without end, so Validate refuses those there.
//
// Templates and keyword lists are checked here as far as config can
// without policy: template names and variables (TemplateNames,
// TemplateVariables, CheckTemplate), language tags, entry lengths, and an
// entry in two of opt_out, opt_in and help. Policy's own compilation finds
// the rest and reports it with Config.KeyError, in the same form.
//
// # Operator API tokens
//
// admin.tokens lists who may call the operator API on the admin listener.
// Each entry has a name (the actor the ledger records for the token's
// writes), a Role (auditor < agent < admin; see Role.Allows), optionally
// the organizations it may see, and the token's SHA-256 (TokenHash): the
// token itself is never in the file. ParseRole and CheckTokenName are the
// rules `optguard token create` checks too.
//
// Durations are written with a unit (30s, 500ms, 72h; see Duration), sizes
// as bytes or with a unit (256MiB, 10GB; see ByteSize) and SMPP
// command_status values as a number or an ESME_* name (see Status). File
// paths are used as written: relative paths are relative to the working
// directory.
//
// Config imports only the standard library and go.yaml.in/yaml/v3, nothing
// else of optguard's. In particular it does not import smpp/pdu: the few
// command_status names a config file may use are kept in a small local table
// (types.go).
package config
