package main

// `optguard consent …` and `optguard dnc …`: the operator API's consent
// actions and do-not-contact list for scripts, against a live optguard.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/optguard/optguard/policy/exports"
)

const consentUsage = `Usage:
  optguard consent get NUMBER [-org ORG]
        the number's consent state per scope, with its latest event
  optguard consent list [-org ORG] [-state S] [-mode M] [-prefix +1555] [-sender S] [-from T] [-to T] [-limit N] [-cursor C] [-all]
        consent records, newest change first; -all follows every page
  optguard consent optin NUMBER -org ORG [-sender S] -type TYPE -proof TEXT [-note TEXT]
        record consent given outside SMS, with its proof (TYPE: email, phone,
        paper, web, sms_response); refused when the handset opted out itself
  optguard consent optout NUMBER -org ORG -sender S [-note TEXT]
        an agent's opt-out: the handset gets the final confirmation from S
  optguard consent request NUMBER -org ORG -sender S [-reason R] [-double] [-note TEXT]
        text the handset a consent request (R: agent, quick, payment_plan,
        supervisor); with -double a PIN follows its YES, for verify-pin
  optguard consent verify-pin NUMBER -org ORG -sender S -pin PIN
        enter the PIN the customer read out
  optguard consent import FILE -cutoff DATE [-org ORG] [-dry-run]
        upload a consent list (CSV: number, organization, sender, state,
        consent_type, date) true as of DATE; -dry-run reports what would
        change and changes nothing
  optguard consent export -from T -to T [-org ORG] [-format csv|jsonl] [-o FILE]
        every ledger event of the time range, streamed

Every command takes -server URL (default $OPTGUARD_SERVER or ` + defaultServer + `),
-ca FILE for an HTTPS admin listener with a private CA, -json for the API's
JSON instead of a table, and -timeout D. The token is $OPTGUARD_TOKEN. NUMBER
may be written in any common form; T is YYYY-MM-DD or an RFC 3339 time.
Exit status: 0 done, 1 refused or failed (the API's reason on stderr), 2 usage.
`

const dncUsage = `Usage:
  optguard dnc list [-org ORG] [-limit N] [-cursor C] [-all] [-csv] [-o FILE]
        the do-not-contact list: opted-out numbers with when, how and by whom;
        -csv writes the API's CSV (all pages)
  optguard dnc add NUMBER -org ORG [-sender S] [-note TEXT]
        opt the number out (method api); with -sender the handset is told
  optguard dnc remove NUMBER -org ORG [-sender S] [-note TEXT]
        take the number off the list where the override rules allow it
        (never a handset's own STOP)
  optguard dnc daily -day YYYY-MM-DD [-dir DIR] [-org ORG]
        write that day's opt-out file (what serve writes each night with
        exports.opt_outs.dir) into DIR as optouts-YYYY-MM-DD.csv, whole or
        not at all; the day is a calendar day of the server's
        exports.opt_outs.time_zone

Every command takes -server URL, -ca FILE, -json and -timeout D as
"optguard consent -h" explains; the token is $OPTGUARD_TOKEN.
`

// apiCommand is one parsed API subcommand.
type apiCommand struct {
	fs             *flag.FlagSet
	api            apiFlags
	usage          string
	stdout, stderr io.Writer
}

// newAPICommand starts the flags of `optguard NAME CMD` or, for help or no
// command, prints usage.
func newAPICommand(name, usage string, args []string, stdout, stderr io.Writer) (string, *apiCommand, []string, int, bool) {
	cmd, fs, rest, code, done := subcommand(name, usage, args, stdout, stderr)
	if done {
		return cmd, nil, nil, code, true
	}
	timeout := time.Minute
	if cmd == "import" || cmd == "export" || (name == "dnc" && cmd == "list") {
		timeout = 2 * time.Hour
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nThe flags of %s:\n", usage, fs.Name())
		fs.PrintDefaults()
	}
	return cmd, &apiCommand{fs: fs, api: addAPIFlags(fs, timeout), usage: usage, stdout: stdout, stderr: stderr}, rest, 0, false
}

// parse parses args, allowing the flags after the positional arguments
// too, and wants exactly npos positional ones. ok is false when the
// command is to end with exit status code: 0 after -h, 2 on a usage error.
func (c *apiCommand) parse(args []string, npos int) (pos []string, code int, ok bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != npos {
		fmt.Fprintf(c.stderr, "%s: want %d argument(s), got %d\n\n%s", c.fs.Name(), npos, len(pos), c.usage)
		return nil, 2, false
	}
	return pos, 0, true
}

// fail prints err and returns exit status 1.
func (c *apiCommand) fail(err error) int {
	fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
	return 1
}

// need reports the flags among names that are empty, as a usage error.
func (c *apiCommand) need(vals map[string]string) bool {
	for name, v := range vals {
		if v == "" {
			fmt.Fprintf(c.stderr, "%s: -%s is required\n\n%s", c.fs.Name(), name, c.usage)
			return false
		}
	}
	return true
}

// callOnce makes one API call for the command and decodes its answer; ok
// is false when the command is to end with exit status code (its error
// printed).
func (c *apiCommand) callOnce(method, path string, q url.Values, body any) (out object, code int, ok bool) {
	cl, err := c.api.client()
	if err != nil {
		return nil, c.fail(err), false
	}
	ctx, cancel := c.api.context()
	defer cancel()
	if err := cl.call(ctx, method, path, q, body, &out); err != nil {
		return nil, c.fail(err), false
	}
	return out, 0, true
}

// showOutcome prints what an action did: its JSON, or a table row and the
// API's words on it.
func (c *apiCommand) showOutcome(out object, cols []column) int {
	if *c.api.json {
		printJSON(c.stdout, out)
		return 0
	}
	printTable(c.stdout, cols, []object{out})
	if d := cellText(out, "detail"); d != "-" {
		fmt.Fprintln(c.stdout, d)
	}
	return 0
}

func runConsent(args []string, stdout, stderr io.Writer) int {
	cmd, c, args, code, done := newAPICommand("consent", consentUsage, args, stdout, stderr)
	if done {
		return code
	}
	org := c.fs.String("org", "", "the organization (default: the token's own, if it has one)")
	switch cmd {
	case "get":
		return c.get(args, org)
	case "list":
		return c.list(args, org)
	case "optin", "optout", "request", "verify-pin":
		return c.action(cmd, args, org)
	case "import":
		return c.importList(args, org)
	case "export":
		return c.export(args, org)
	}
	fmt.Fprintf(stderr, "optguard consent: unknown command %q\n\n%s", cmd, consentUsage)
	return 2
}

func (c *apiCommand) get(args []string, org *string) int {
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	out, code, ok := c.callOnce("GET", numberPath(pos[0], ""), orgQuery(*org), nil)
	if !ok {
		return code
	}
	if *c.api.json {
		printJSON(c.stdout, out)
		return 0
	}
	scopes, _ := out["scopes"].([]any)
	rows := make([]object, 0, len(scopes))
	for _, s := range scopes {
		if o, ok := s.(map[string]any); ok {
			rows = append(rows, o)
		}
	}
	fmt.Fprintf(c.stdout, "%s\n", cellText(out, "number"))
	printTable(c.stdout, []column{{"ORGANIZATION", "organization"}, {"SENDER", "sender"}, {"STATE", "state"}, {"MODE", "mode"},
		{"UPDATED", "updated_at"}, {"LAST EVENT", "latest_event.type"}, {"BY", "latest_event.actor"}, {"CHANNEL", "latest_event.method"}}, rows)
	return 0
}

func orgQuery(org string) url.Values {
	q := url.Values{}
	if org != "" {
		q.Set("organization", org)
	}
	return q
}

// pager holds the paging flags of a list command.
type pager struct {
	limit  *int
	cursor *string
	all    *bool
}

func addPager(fs *flag.FlagSet) pager {
	return pager{
		limit:  fs.Int("limit", 100, "rows per page, 1 to 1000"),
		cursor: fs.String("cursor", "", "go on from a previous page's next_cursor"),
		all:    fs.Bool("all", false, "follow every page (with -json: one JSON object per line)"),
	}
}

// pages calls path page by page (one, or all with -all) and hands each
// page to fn.
func (p pager) pages(c *apiCommand, path string, q url.Values, fn func(page object)) int {
	cl, err := c.api.client()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := c.api.context()
	defer cancel()
	q.Set("limit", strconv.Itoa(*p.limit))
	cursor := *p.cursor
	for {
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page object
		if err := cl.call(ctx, "GET", path, q, nil, &page); err != nil {
			return c.fail(err)
		}
		fn(page)
		next, _ := page["next_cursor"].(string)
		if !*p.all || next == "" {
			return 0
		}
		cursor = next
	}
}

// listPages prints the pages of a list as a table, or as JSON: the page
// itself, or with -all each item on its own line.
func (p pager) listPages(c *apiCommand, path string, q url.Values, cols []column) int {
	var rows []object
	code := p.pages(c, path, q, func(page object) {
		switch {
		case *c.api.json && *p.all:
			for _, it := range items(page) {
				b, _ := jsonLine(it)
				c.stdout.Write(b)
			}
		case *c.api.json:
			printJSON(c.stdout, page)
		default:
			rows = append(rows, items(page)...)
			if next, _ := page["next_cursor"].(string); next != "" && !*p.all {
				defer fmt.Fprintf(c.stderr, "more: -cursor %s (or -all)\n", next)
			}
		}
	})
	if code == 0 && !*c.api.json {
		printTable(c.stdout, cols, rows)
	}
	return code
}

func (c *apiCommand) list(args []string, org *string) int {
	state := c.fs.String("state", "", "opted_in, opted_out, pending or unknown")
	mode := c.fs.String("mode", "", "consent, disclaimer or off")
	prefix := c.fs.String("prefix", "", "numbers starting with this (+1555)")
	sender := c.fs.String("sender", "", "records of this sender scope")
	from := c.fs.String("from", "", "changed at or after T")
	to := c.fs.String("to", "", "changed before T")
	p := addPager(c.fs)
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	q := orgQuery(*org)
	for k, v := range map[string]string{"state": *state, "mode": *mode, "number_prefix": *prefix, "sender": *sender, "updated_from": *from, "updated_to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return p.listPages(c, "/api/v1/consents", q, []column{{"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"SENDER", "sender"},
		{"STATE", "state"}, {"MODE", "mode"}, {"UPDATED", "updated_at"}, {"LAST EVENT", "last_event"}, {"ERASED", "erased"}})
}

// action runs optin, optout, request or verify-pin.
func (c *apiCommand) action(cmd string, args []string, org *string) int {
	sender := c.fs.String("sender", "", "the sender number (or name) the action is for")
	note := c.fs.String("note", "", "a note for the ledger")
	var typ, proof, reason, pin *string
	var double *bool
	switch cmd {
	case "optin":
		typ = c.fs.String("type", "", "how consent was given: email, phone, paper, web or sms_response")
		proof = c.fs.String("proof", "", "the proof: a reference or where it is kept")
	case "request":
		reason = c.fs.String("reason", "", "agent (default), quick, payment_plan or supervisor")
		double = c.fs.Bool("double", false, "double opt-in: a PIN follows the handset's YES")
	case "verify-pin":
		pin = c.fs.String("pin", "", "the PIN the customer read out")
	}
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	body := object{"organization": *org, "sender": *sender}
	var path string
	switch cmd {
	case "optin":
		if !c.need(map[string]string{"type": *typ, "proof": *proof}) {
			return 2
		}
		path, body["consent_type"], body["proof"], body["note"] = "/consents", *typ, *proof, *note
	case "optout":
		if !c.need(map[string]string{"sender": *sender}) {
			return 2
		}
		path, body["note"] = "/opt-out", *note
	case "request":
		path, body["reason"], body["double"], body["note"] = "/opt-in-requests", *reason, *double, *note
	case "verify-pin":
		if !c.need(map[string]string{"pin": *pin}) {
			return 2
		}
		path, body["pin"] = "/pin", *pin
		if *note != "" {
			fmt.Fprintf(c.stderr, "%s: -note is not taken by verify-pin\n", c.fs.Name())
			return 2
		}
	}
	out, code, ok := c.callOnce("POST", numberPath(pos[0], path), nil, body)
	if !ok {
		return code
	}
	return c.showOutcome(out, []column{{"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"SENDER", "sender"}, {"STATE", "state"},
		{"EVENT", "event.type"}, {"SEQ", "event.seq"}, {"PIN EXPIRES", "pin_expires_at"}})
}

func runDNC(args []string, stdout, stderr io.Writer) int {
	cmd, c, args, code, done := newAPICommand("dnc", dncUsage, args, stdout, stderr)
	if done {
		return code
	}
	org := c.fs.String("org", "", "the organization (default: the token's own, if it has one)")
	switch cmd {
	case "list":
		return c.dncList(args, org)
	case "add", "remove":
		return c.dncChange(cmd, args, org)
	case "daily":
		return c.dncDaily(args, org)
	}
	fmt.Fprintf(stderr, "optguard dnc: unknown command %q\n\n%s", cmd, dncUsage)
	return 2
}

func (c *apiCommand) dncList(args []string, org *string) int {
	p := addPager(c.fs)
	asCSV := c.fs.Bool("csv", false, "write the list as CSV (every page)")
	outFile := c.fs.String("o", "", "with -csv: write to FILE (atomically) instead of stdout")
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	q := orgQuery(*org)
	if *asCSV {
		q.Set("format", "csv")
		return c.download("/api/v1/dnc", q, *outFile, "rows")
	}
	return p.listPages(c, "/api/v1/dnc", q, []column{{"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"SENDER", "sender"},
		{"OPTED OUT", "opted_out_at"}, {"METHOD", "method"}, {"BY", "by"}, {"ERASED", "erased"}})
}

func (c *apiCommand) dncChange(cmd string, args []string, org *string) int {
	sender := c.fs.String("sender", "", "the sender scope; on add, the handset is told from this number")
	note := c.fs.String("note", "", "a note for the ledger")
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	method, path, q, body := "POST", "/api/v1/dnc", url.Values(nil), any(object{"organization": *org, "number": pos[0], "sender": *sender, "note": *note})
	if cmd == "remove" {
		method, path, q, body = "DELETE", "/api/v1/dnc/"+url.PathEscape(pos[0]), orgQuery(*org), nil
		for k, v := range map[string]string{"sender": *sender, "note": *note} {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	out, code, ok := c.callOnce(method, path, q, body)
	if !ok {
		return code
	}
	return c.showOutcome(out, []column{{"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"SENDER", "sender"}, {"STATE", "state"},
		{"EVENT", "event.type"}, {"SEQ", "event.seq"}})
}

func (c *apiCommand) dncDaily(args []string, org *string) int {
	day := c.fs.String("day", "", "the calendar day, YYYY-MM-DD")
	dir := c.fs.String("dir", ".", "the directory to write the file into")
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	if !c.need(map[string]string{"day": *day}) {
		return 2
	}
	d, err := exports.ParseDay(*day, time.UTC)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: -day: %v\n", c.fs.Name(), err)
		return 2
	}
	q := orgQuery(*org)
	q.Set("day", *day)
	path := filepath.Join(*dir, exports.OptOutFileName(d))
	if code := c.download("/api/v1/exports/opt-outs", q, path, "opt-outs"); code != 0 {
		return code
	}
	fmt.Fprintln(c.stdout, path)
	return 0
}
