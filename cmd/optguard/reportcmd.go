package main

// `optguard report …`: seed 000's SMS Opt-In Report and seed 003's consent
// status report from the operator API, as a table, JSON or CSV.

import (
	"fmt"
	"io"
)

const reportUsage = `Usage:
  optguard report consent    [-org ORG] [-keyword K] [-number N] [-from T] [-to T] [-limit N] [-cursor C] [-all] [-csv] [-o FILE]
        the SMS Opt-In Report's "With Consent" tab: handsets that opted in
        while their organization was in consent mode
  optguard report disclaimer [same flags]
        its "With Disclaimer" tab: handsets sent the disclaimer
  optguard report status     [-org ORG] [-state S] [-number N] [-limit N] [-cursor C] [-all] [-csv] [-o FILE]
        the consent status report: every consent record with its state and
        when, how and by whom it was set

-keyword matches the organization, the sender's name or number; -number is
the handset or the sender (From or To), in any common form, or a prefix
ending in *; T is YYYY-MM-DD (a -to date includes its whole day) or an
RFC 3339 time. -csv downloads the whole report as the API's CSV, to stdout
or (atomically) to -o FILE. A page of the opt-in report may hold fewer rows
than -limit and still have a next one: -all follows them to the end.

Every command takes -server URL, -ca FILE, -json and -timeout D as
"optguard consent -h" explains; the token is $OPTGUARD_TOKEN.
`

func runReports(args []string, stdout, stderr io.Writer) int {
	cmd, c, args, code, done := newAPICommand("report", reportUsage, args, stdout, stderr)
	if done {
		return code
	}
	org := c.fs.String("org", "", "the organization (default: every one the token sees)")
	number := c.fs.String("number", "", "the handset or sender number, or a prefix ending in *")
	asCSV := c.fs.Bool("csv", false, "download the whole report as CSV")
	outFile := c.fs.String("o", "", "with -csv: write to FILE (atomically) instead of stdout")
	p := addPager(c.fs)
	var path string
	var cols []column
	params := map[string]*string{"organization": org, "number": number}
	switch cmd {
	case "consent", "disclaimer":
		params["keyword"] = c.fs.String("keyword", "", "organization, sender name or sender number containing this")
		params["from"] = c.fs.String("from", "", "at or after T")
		params["to"] = c.fs.String("to", "", "before T (a date: up to its end)")
		tab := cmd
		params["tab"] = &tab
		path = "/api/v1/reports/opt-in"
		cols = []column{{"ORGANIZATION", "organization_name"}, {"SENDER NAME", "sender_name"}, {"SENDER NUMBER", "sender_number"},
			{"HANDSET", "number"}, {"TIMESTAMP", "timestamp"}, {"METHOD", "method"}, {"STATE", "state"}, {"ERASED", "erased"}}
	case "status":
		params["state"] = c.fs.String("state", "", "opted_in, opted_out, pending or unknown (comma-separated)")
		path = "/api/v1/reports/consent-status"
		cols = []column{{"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"SENDER", "sender"}, {"STATE", "state"},
			{"CONSENTED", "consented"}, {"WHEN", "when"}, {"METHOD", "method"}, {"CHANGED BY", "changed_by"}, {"ERASED", "erased"}}
	default:
		fmt.Fprintf(stderr, "optguard report: unknown command %q\n\n%s", cmd, reportUsage)
		return 2
	}
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	q := orgQuery("")
	for k, v := range params {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	if *asCSV {
		q.Set("format", "csv")
		return c.download(path, q, *outFile, "report")
	}
	return p.listPages(c, path, q, cols)
}
