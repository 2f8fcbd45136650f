package main

// `optguard consent import` and `optguard consent export`: the long
// operations, with their progress on a terminal.

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"
)

func (c *apiCommand) importList(args []string, org *string) int {
	cutoff := c.fs.String("cutoff", "", "the date (YYYY-MM-DD) or time the list is true as of")
	dry := c.fs.Bool("dry-run", false, "report what would change, and change nothing")
	pos, code, ok := c.parse(args, 1)
	if !ok {
		return code
	}
	if !c.need(map[string]string{"cutoff": *cutoff}) {
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return c.fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c.fail(err)
	}
	cl, err := c.api.client()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := c.api.context()
	defer cancel()
	q := orgQuery(*org)
	q.Set("cutoff", *cutoff)
	q.Set("dry_run", strconv.FormatBool(*dry))
	up := newMeter(c.stderr, "uploading", st.Size())
	resp, err := cl.do(ctx, "POST", "/api/v1/imports", q, meterReader{f, up}, "text/csv")
	up.done()
	if err != nil {
		return c.fail(err)
	}
	var job object
	err = decodeBody(resp, &job)
	if err != nil {
		return c.fail(err)
	}
	id, _ := job["id"].(string)
	m := newMeter(c.stderr, "importing", 0)
	job, err = pollJob(ctx, cl, "/api/v1/imports/"+url.PathEscape(id), m, 500*time.Millisecond)
	m.done()
	if err != nil {
		return c.fail(err)
	}
	if *c.api.json {
		printJSON(c.stdout, job)
	} else {
		printImport(c, job)
	}
	if job["status"] != "done" {
		return c.fail(fmt.Errorf("import %s %s: %s", id, cellText(job, "status"), cellText(job, "error")))
	}
	return 0
}

// printImport shows a finished import: its counts, then each reported line.
func printImport(c *apiCommand, job object) {
	rep, _ := job["report"].(map[string]any)
	what := "import"
	if job["dry_run"] == true {
		what = "dry run (nothing was changed)"
	}
	fmt.Fprintf(c.stdout, "%s %s as of %s: %s rows, %s changed, %s unchanged, %s kept, %s bad\n", what, cellText(job, "id"), cellText(job, "cutoff"),
		cellText(rep, "rows"), cellText(rep, "changed"), cellText(rep, "unchanged"), cellText(rep, "kept"), cellText(rep, "bad"))
	if cellText(rep, "held_released") != "0" || cellText(rep, "held_dropped") != "0" {
		fmt.Fprintf(c.stdout, "held messages: %s released to the SMSC, %s dropped\n", cellText(rep, "held_released"), cellText(rep, "held_dropped"))
	}
	lines := items(object{"items": rep["lines"]})
	if len(lines) > 0 {
		printTable(c.stdout, []column{{"LINE", "line"}, {"NUMBER", "number"}, {"ORGANIZATION", "organization"}, {"OUTCOME", "outcome"},
			{"FROM", "from"}, {"TO", "to"}, {"REASON", "reason"}}, lines)
	}
	if rep["truncated"] == true {
		fmt.Fprintln(c.stdout, "(more lines than the report keeps; fix these and run it again)")
	}
}

func (c *apiCommand) export(args []string, org *string) int {
	from := c.fs.String("from", "", "events at or after T")
	to := c.fs.String("to", "", "events before T")
	format := c.fs.String("format", "csv", "csv or jsonl (one JSON event per line)")
	out := c.fs.String("o", "", "write to FILE (atomically) instead of stdout")
	if _, code, ok := c.parse(args, 0); !ok {
		return code
	}
	if !c.need(map[string]string{"from": *from, "to": *to}) {
		return 2
	}
	q := orgQuery(*org)
	q.Set("from", *from)
	q.Set("to", *to)
	q.Set("format", *format)
	return c.download("/api/v1/exports/events", q, *out, "exporting")
}
