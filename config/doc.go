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
// Durations are written with a unit (30s, 500ms, 72h; see Duration) and SMPP
// command_status values as a number or an ESME_* name (see Status). File
// paths are used as written: relative paths are relative to the working
// directory.
//
// Config imports only the standard library and go.yaml.in/yaml/v3, nothing
// else of optguard's. In particular it does not import smpp/pdu: the few
// command_status names a config file may use are kept in a small local table
// (types.go).
package config
