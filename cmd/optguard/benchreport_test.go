package main

// Tests of the bench report: the JSON's shape against a golden file, the
// HTML parsed whole as XML (self-contained, escaped, three charts a run),
// the CSV's rows, the atomic file write, the distribution's bins and the
// machine description.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/benchreport.golden.json from the report the test builds")

const reportGolden = "testdata/benchreport.golden.json"

// reportTestMachine is a fixed machine, so that the golden file does not
// depend on where the test runs.
var reportTestMachine = machineInfo{CPU: "Test CPU @ 3.0GHz", Cores: 8, GOMAXPROCS: 8, Go: "go1.26.8", OS: "linux", Arch: "amd64", MemoryBytes: 16 << 30}

var reportTestStarted = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)

func recordN(h *testenv.Histogram, d time.Duration, n int) {
	for range n {
		h.Record(d)
	}
}

// sampleLoadResult is a run with every figure filled: two phases, a
// warmup second and four measured ones (the last one short), statuses,
// commands, a mix, groups and receipts.
func sampleLoadResult() testenv.LoadResult {
	res := testenv.LoadResult{
		Sent: 1000, Responses: 990, Elapsed: 3500 * time.Millisecond, PerSecond: 990 / 3.5,
		ByStatus:      map[pdu.Status]uint64{pdu.ESME_ROK: 980, pdu.ESME_RTHROTTLED: 10},
		Errors:        []string{"bind 3: connection lost: EOF"},
		SentByCommand: map[pdu.CommandID]uint64{pdu.SubmitSM: 990, pdu.DataSM: 10},
		ByMessage:     map[string]uint64{"plain": 900, "ucs2-long": 100},
		ByGroup: map[string]*testenv.LoadGroupResult{
			"opted_in": {Sent: 600, Responses: 600, ByStatus: map[pdu.Status]uint64{pdu.ESME_ROK: 600}, Receipts: 50},
			"unknown":  {Sent: 400, Responses: 390, Held: 380, ByStatus: map[pdu.Status]uint64{pdu.ESME_ROK: 380, pdu.ESME_RTHROTTLED: 10}},
		},
		Stalls: 7, Unanswered: 10,
		Receipts: 52, ReceiptStats: map[string]uint64{"DELIVRD": 50, "UNDELIV": 2},
		ReceiptsUnmatched: 1, ReceiptsDue: 3, MOs: 4,
	}
	recordN(&res.Latency, 100*time.Microsecond, 900)
	recordN(&res.Latency, time.Millisecond, 80)
	recordN(&res.Latency, 20*time.Millisecond, 9)
	recordN(&res.Latency, 250*time.Millisecond, 1)
	recordN(&res.Intended, 150*time.Microsecond, 500)
	recordN(&res.Intended, 30*time.Millisecond, 5)
	recordN(&res.ReceiptLatency, 2*time.Second, 52)

	ramp := testenv.LoadPhaseResult{Name: "ramp", Rate: 100, RateTo: 400, Elapsed: 2 * time.Second, Sent: 500, Responses: 495,
		PerSecond: 247.5, ByStatus: map[pdu.Status]uint64{pdu.ESME_ROK: 495}, Stalls: 0}
	recordN(&ramp.Latency, 100*time.Microsecond, 495)
	recordN(&ramp.Intended, 150*time.Microsecond, 495)
	steady := testenv.LoadPhaseResult{Name: "steady", Elapsed: 1500 * time.Millisecond, Sent: 500, Responses: 495,
		PerSecond: 330, ByStatus: map[pdu.Status]uint64{pdu.ESME_ROK: 485, pdu.ESME_RTHROTTLED: 10}, Stalls: 7}
	recordN(&steady.Latency, time.Millisecond, 485)
	recordN(&steady.Latency, 20*time.Millisecond, 10)
	res.Phases = []testenv.LoadPhaseResult{ramp, steady}
	res.Series = []testenv.LoadSecond{
		{At: time.Second, Phase: "warmup", Sent: 100, Answered: 100, P50: 90 * time.Microsecond, P99: 200 * time.Microsecond, Max: 300 * time.Microsecond},
		{At: 2 * time.Second, Phase: "ramp", Sent: 200, Answered: 198, Receipts: 10, P50: 100 * time.Microsecond, P99: 400 * time.Microsecond, Max: 900 * time.Microsecond},
		{At: 3 * time.Second, Phase: "ramp", Sent: 300, Answered: 297, MOs: 2, Receipts: 20, P50: 101 * time.Microsecond, P99: time.Millisecond, Max: 2 * time.Millisecond},
		{At: 4 * time.Second, Phase: "steady", Sent: 330, Answered: 330, NotOK: 10, Stalls: 7, Receipts: 22, MOs: 2, P50: time.Millisecond, P99: 20 * time.Millisecond, Max: 250 * time.Millisecond},
		{At: 4500 * time.Millisecond, Phase: "steady", Sent: 170, Answered: 165, P50: time.Millisecond, P99: 2 * time.Millisecond, Max: 3 * time.Millisecond},
	}
	return res
}

// sampleInput is a report of two runs (one full, one that measured
// nothing), a baseline and two checks.
func sampleInput() reportInput {
	return reportInput{
		Command:  []string{"optguard", "bench", "-baseline", "-phases", "ramp 100→400/s 2s; steady 1.5s"},
		Scenario: "",
		Params:   [][2]string{{"binds", "4"}, {"window", "256"}, {"phases", "ramp 100→400/s 2s; steady 1.5s"}},
		Started:  reportTestStarted,
		Runs: []reportRun{
			{Name: "proxy", Round: 1, Res: sampleLoadResult()},
			{Name: "policy", Round: 1, Res: testenv.LoadResult{ByStatus: map[pdu.Status]uint64{}}},
		},
		Baseline: &reportBaseline{ProxyRelay: 0.71234, PolicyProxy: 0.9, ProxyRelayRounds: []float64{0.7, 0.71234, 0.75}, PolicyProxyRounds: []float64{0.9, 0.8999, 0.91}},
		Checks:   []reportCheck{{Name: "opted-out handsets got nothing", OK: true, Detail: "0 of 400"}, {Name: "receipts", OK: false, Detail: "3 due"}},
	}
}

func sampleReport() benchReport {
	r := buildReport(sampleInput(), reportTestMachine)
	r.Version = "optguard test" // versionString names the build's commit and toolchain
	return r
}

func TestReportJSONGolden(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		if err := os.WriteFile(reportGolden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(reportGolden)
	if err != nil {
		t.Fatalf("%v (run with -update-golden to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("JSON differs from %s (run with -update-golden if the change is intended):\n%s", reportGolden, firstDiff(buf.String(), string(want)))
	}

	// Beyond the bytes: the shape readers rely on.
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"baseline", "checks", "command", "interrupted", "machine", "params", "runs", "scenario", "started", "tool", "version"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("top-level keys %v, want %v", keys, wantKeys)
	}
	if doc["tool"] != "optguard bench" || doc["started"] != "2026-11-23T10:30:00Z" {
		t.Errorf("tool %v started %v", doc["tool"], doc["started"])
	}
	runs := doc["runs"].([]any)
	full, empty := runs[0].(map[string]any), runs[1].(map[string]any)
	if full["receipt_latency"] == nil || full["intended_latency"] == nil || empty["intended_latency"] != nil || empty["receipt_latency"] != nil {
		t.Errorf("optional latencies: full %v %v, empty %v %v", full["intended_latency"], full["receipt_latency"], empty["intended_latency"], empty["receipt_latency"])
	}
	for _, k := range []string{"by_status", "sent_by_command", "by_message", "by_group", "errors", "phases", "distribution", "series"} {
		if empty[k] == nil {
			t.Errorf("empty run: %s is null, want an empty object or array", k)
		}
	}
	if got := full["by_status"].(map[string]any)["ESME_RTHROTTLED"]; got != 10.0 {
		t.Errorf("by_status ESME_RTHROTTLED = %v", got)
	}
	if got := full["sent_by_command"].(map[string]any)["data_sm"]; got != 10.0 {
		t.Errorf("sent_by_command data_sm = %v", got)
	}
	lat := full["latency"].(map[string]any)
	if lat["count"] != 990.0 || lat["p50_us"] != 100.0 || lat["max_us"] != 250000.0 {
		t.Errorf("latency %v", lat)
	}
	if full["per_second"] != 282.9 { // 990 / 3.5 = 282.857…
		t.Errorf("per_second %v, want it rounded to 282.9", full["per_second"])
	}
	var binned float64
	for _, b := range full["distribution"].([]any) {
		binned += b.(map[string]any)["count"].(float64)
	}
	if binned != 990 {
		t.Errorf("distribution holds %v responses, want 990", binned)
	}
	if s := full["series"].([]any); len(s) != 5 || s[4].(map[string]any)["at_ms"] != 4500.0 {
		t.Errorf("series %v", s)
	}
	if b := doc["baseline"].(map[string]any); b["proxy_relay"] != 0.712 {
		t.Errorf("baseline %v", b)
	}
	if !strings.Contains(buf.String(), "100→400/s") {
		t.Error("JSON escapes non-ASCII or HTML characters in parameters")
	}

	// Without -baseline the field is there, as null.
	in := sampleInput()
	in.Baseline = nil
	nb := buildReport(in, reportTestMachine)
	buf.Reset()
	if err := nb.writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"baseline": null`) {
		t.Error("no \"baseline\": null without a baseline")
	}
}

// firstDiff shows where two texts part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func TestReportVersion(t *testing.T) {
	r := buildReport(reportInput{Started: reportTestStarted}, reportTestMachine)
	if r.Version != versionString() || r.Version == "" {
		t.Errorf("version %q, want %q", r.Version, versionString())
	}
	if r.Runs == nil || r.Params == nil || r.Checks == nil || r.Command == nil {
		t.Error("nil slices in a report without runs: the JSON would say null")
	}
}

// htmlChart is what TestReportHTML finds in one <svg>.
type htmlChart struct {
	class, title string
	lines        int // polylines of at least two points
	bars         int // rect.bar of positive height
	noData       bool
}

// parseReportHTML parses the page as strict XML, checks on every token
// that it is self-contained and script-free, and returns its charts and
// its text.
func parseReportHTML(t *testing.T, page []byte) (charts []htmlChart, text string) {
	t.Helper()
	const svgNS = "http://www.w3.org/2000/svg"
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>\n")) {
		t.Error("page does not start with <!DOCTYPE html>")
	}
	if rest := strings.ReplaceAll(string(page), svgNS, ""); strings.Contains(rest, "http://") || strings.Contains(rest, "https://") {
		t.Error("page has a URL other than the SVG namespace")
	}
	for _, bad := range []string{"NaN", "Inf", "<script", "url("} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.AutoClose = nil
	d.Entity = nil
	var (
		stack   []string
		cur     *htmlChart
		txt     strings.Builder
		seen    = map[string]int{}
		inStyle bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			stack = append(stack, name)
			seen[name]++
			switch name {
			case "script", "link", "img", "iframe", "object", "embed", "base", "frame", "audio", "video", "source", "form":
				t.Errorf("page has a <%s>", name)
			}
			if name == "svg" && tok.Name.Space != svgNS {
				t.Errorf("<svg> in namespace %q", tok.Name.Space)
			}
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				k := a.Name.Local
				if a.Name.Space != "" {
					k = a.Name.Space + ":" + k
				}
				attrs[k] = a.Value
				switch {
				case k == "src" || k == "href" || strings.HasSuffix(k, ":href"):
					if !strings.HasPrefix(a.Value, "#") {
						t.Errorf("<%s %s=%q>: not a fragment", name, k, a.Value)
					}
				case k == "xmlns":
					if a.Value != svgNS {
						t.Errorf("xmlns=%q", a.Value)
					}
				case strings.HasPrefix(k, "on"):
					t.Errorf("<%s %s>: an event handler", name, k)
				case k == "style" && strings.Contains(a.Value, "url("):
					t.Errorf("<%s style=%q>", name, a.Value)
				}
			}
			switch name {
			case "html":
				if attrs["lang"] == "" {
					t.Error("<html> without lang")
				}
			case "th":
				if sc := attrs["scope"]; sc != "col" && sc != "row" {
					t.Errorf("<th scope=%q>", sc)
				}
			case "style":
				inStyle = true
			case "svg":
				if attrs["role"] != "img" {
					t.Errorf("<svg role=%q>", attrs["role"])
				}
				charts = append(charts, htmlChart{class: attrs["class"]})
				cur = &charts[len(charts)-1]
			case "polyline":
				if cur != nil && len(strings.Fields(attrs["points"])) >= 2 {
					cur.lines++
				}
			case "rect":
				if h, _ := strconv.ParseFloat(attrs["height"], 64); cur != nil && attrs["class"] == "bar" && h > 0 {
					cur.bars++
				}
			}
		case xml.EndElement:
			if n := len(stack); n == 0 || stack[n-1] != tok.Name.Local {
				t.Fatalf("</%s> closes %v", tok.Name.Local, stack)
			}
			stack = stack[:len(stack)-1]
			switch tok.Name.Local {
			case "svg":
				cur = nil
			case "style":
				inStyle = false
			}
		case xml.CharData:
			s := string(tok)
			txt.WriteString(s)
			if inStyle && (strings.Contains(s, "url(") || strings.Contains(s, "@import")) {
				t.Error("the style sheet fetches something")
			}
			if cur != nil && len(stack) > 0 {
				switch stack[len(stack)-1] {
				case "title":
					if stack[len(stack)-2] == "svg" {
						cur.title = s
					}
				case "text":
					if s == "no data" {
						cur.noData = true
					}
				}
			}
		case xml.Directive:
			if string(tok) != "DOCTYPE html" {
				t.Errorf("directive <!%s>", tok)
			}
		case xml.ProcInst:
			t.Errorf("processing instruction <?%s>", tok.Target)
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed %v", stack)
	}
	for _, el := range []string{"html", "head", "title", "style", "body", "main", "h1", "h2", "table", "th"} {
		if seen[el] == 0 {
			t.Errorf("page has no <%s>", el)
		}
	}
	return charts, txt.String()
}

func TestReportHTML(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.writeHTML(&buf); err != nil {
		t.Fatal(err)
	}
	charts, text := parseReportHTML(t, buf.Bytes())
	if len(charts) != 6 {
		t.Fatalf("%d charts, want 3 for each of 2 runs", len(charts))
	}
	for i, run := range []string{"proxy", "policy"} {
		cs := charts[3*i : 3*i+3]
		for j, class := range []string{"chart throughput", "chart latency", "chart distribution"} {
			if cs[j].class != class || !strings.Contains(cs[j].title, run+", round 1") {
				t.Errorf("run %s chart %d: class %q title %q", run, j, cs[j].class, cs[j].title)
			}
		}
		if run == "proxy" {
			// answered and sent; p50 and p99; one bar per non-empty bin.
			if cs[0].lines != 2 || cs[1].lines != 2 || cs[2].bars != 4 || cs[0].noData || cs[2].noData {
				t.Errorf("proxy charts %+v", cs)
			}
		} else {
			for _, c := range cs {
				if !c.noData || c.lines != 0 || c.bars != 0 {
					t.Errorf("empty run's chart %+v, want no data", c)
				}
			}
		}
	}
	for _, want := range []string{
		"optguard bench: proxy, policy", "2026-11-23 10:30:00", // title: targets and start time
		"Parameters", "ramp 100→400/s 2s; steady 1.5s", "Test CPU @ 3.0GHz", "16.0 GiB",
		"Throughput /s", "p99.9", "Unanswered", "bind 3: connection lost: EOF",
		"Phases", "100→400/s", "closed loop",
		"ESME_RTHROTTLED", "Handset groups", "unknown", "DELIVRD 50, UNDELIV 2",
		"Checks", "FAILED", "opted-out handsets got nothing",
		"proxy / relay", "0.71", "0.70 0.71 0.75", "policy / proxy",
		"100µs", "1ms", "answered/s", "sent/s",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if strings.Contains(text, "Interrupted") {
		t.Error("an uninterrupted run says it was interrupted")
	}
}

func TestReportHTMLEscapes(t *testing.T) {
	const evil = `x<script>&"'</script>`
	in := sampleInput()
	in.Scenario = evil
	in.Interrupted = true
	in.Params = append(in.Params, [2]string{evil, evil})
	in.Runs[0].Name = evil
	in.Runs[0].Res.Errors = []string{evil + "\x00\x1b\xff"} // bytes XML cannot carry
	in.Runs[0].Res.Series[2].Phase = evil
	in.Checks[1].Detail = evil
	in.Command = append(in.Command, evil)
	r := buildReport(in, machineInfo{CPU: evil})
	var buf bytes.Buffer
	if err := r.writeHTML(&buf); err != nil {
		t.Fatal(err)
	}
	charts, text := parseReportHTML(t, buf.Bytes())
	if strings.Count(text, evil) < 8 {
		t.Errorf("the name appears %d times as text, want it everywhere it was used", strings.Count(text, evil))
	}
	if len(charts) != 6 || !strings.Contains(charts[0].title, evil) {
		t.Errorf("charts %+v", charts)
	}
	if !strings.Contains(text, "Interrupted: the run ended early") {
		t.Error("no banner for an interrupted run")
	}
}

func TestReportHTMLNoRuns(t *testing.T) {
	r := buildReport(reportInput{Started: reportTestStarted, Interrupted: true}, reportTestMachine)
	var buf bytes.Buffer
	if err := r.writeHTML(&buf); err != nil {
		t.Fatal(err)
	}
	charts, text := parseReportHTML(t, buf.Bytes())
	if len(charts) != 0 || !strings.Contains(text, "No run was measured") {
		t.Errorf("%d charts; text %q", len(charts), text)
	}
}

func TestReportCSV(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.writeCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := "run,round,at_s,phase,sent,answered,not_ok,stalls,receipts,mos,p50_us,p99_us,max_us"
	if len(rows) == 0 || strings.Join(rows[0], ",") != header {
		t.Fatalf("header %v", rows)
	}
	if len(rows) != 1+5 { // the proxy's five seconds; the empty run has none
		t.Fatalf("%d rows, want header and 5", len(rows))
	}
	if got := strings.Join(rows[4], ","); got != "proxy,1,4,steady,330,330,10,7,22,2,1000,20000,250000" {
		t.Errorf("row 4: %s", got)
	}
	if got := rows[5][2]; got != "4.5" {
		t.Errorf("at_s of the short last second %q", got)
	}

	empty := buildReport(reportInput{Runs: []reportRun{{Name: "target", Round: 1}}}, reportTestMachine)
	buf.Reset()
	if err := empty.writeCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != header+"\n" {
		t.Errorf("run without series: %q", buf.String())
	}
}

func TestReportFile(t *testing.T) {
	r := sampleReport()
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		prefix string
	}{
		{"r.json", "{\n  \"tool\": \"optguard bench\""},
		{"r.csv", "run,round,at_s,"},
		{"r.html", "<!DOCTYPE html>"},
		{"R.HTM", "<!DOCTYPE html>"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := writeReportFile(path, &r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(b, []byte(tc.prefix)) {
			t.Errorf("%s: %v %.40q", tc.name, err, b)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v %v", tc.name, fi.Mode(), err)
		}
	}

	err := writeReportFile(filepath.Join(dir, "r.txt"), &r)
	if err == nil || !strings.Contains(err.Error(), ".json, .csv, .html or .htm") {
		t.Errorf("bad extension: %v", err)
	}
	if err := writeReportFile(filepath.Join(dir, "r"), &r); err == nil {
		t.Error("no extension: no error")
	}
	for _, p := range []string{"a.json", "dir/a.CSV", "a.htm", "a.Html"} {
		if err := checkReportPath(p); err != nil {
			t.Errorf("checkReportPath(%q): %v", p, err)
		}
	}
	for _, p := range []string{"a.txt", "a.json.gz", "json", "a.xml"} {
		if err := checkReportPath(p); err == nil {
			t.Errorf("checkReportPath(%q): no error", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad extension left a file: %v", err)
	}
	if err := writeReportFile(filepath.Join(dir, "missing", "r.json"), &r); err == nil {
		t.Error("no error for a directory that does not exist")
	}

	// Replacing: a reader that had the old file open keeps reading the old
	// report whole (the new one is renamed over it, not written into it).
	path := filepath.Join(dir, "r.json")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r2 := r
	r2.Scenario = "second"
	if err := writeReportFile(path, &r2); err != nil {
		t.Fatal(err)
	}
	kept, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(kept, old) {
		t.Errorf("the open old report changed under its reader (%v)", err)
	}
	now, _ := os.ReadFile(path)
	if !bytes.Contains(now, []byte(`"scenario": "second"`)) {
		t.Error("the report was not replaced")
	}

	// A writer that fails leaves the old report and no temporary file.
	failing := r
	failing.Runs = append(slices.Clone(r.Runs), runReport{PerSecond: math.NaN()}) // JSON has no NaN
	if err := writeReportFile(path, &failing); err == nil {
		t.Error("no error from a report JSON cannot encode")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, now) {
		t.Error("a failed write changed the report")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"R.HTM", "r.csv", "r.html", "r.json"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v (no temporary files)", names, want)
	}
}

func TestReportDistribution(t *testing.T) {
	var empty testenv.Histogram
	if d := distribution(&empty); d == nil || len(d) != 0 {
		t.Errorf("empty histogram: %v", d)
	}

	var one testenv.Histogram
	recordN(&one, 150*time.Microsecond, 3)
	if d := distribution(&one); len(d) != 1 || d[0] != (distBin{LoUS: 126, HiUS: 158, Count: 3}) {
		t.Errorf("one value: %v", d)
	}

	// Edges: whole microseconds, strictly increasing, ten a decade above 10 µs.
	for i := range 100 {
		if distEdge(i+1) <= distEdge(i) {
			t.Fatalf("edge %d = %d, edge %d = %d", i, distEdge(i), i+1, distEdge(i+1))
		}
	}
	if distEdge(20) != 100 || distEdge(30) != 1000 || distEdge(15) != 32 {
		t.Errorf("edges %d %d %d", distEdge(15), distEdge(20), distEdge(30))
	}
	for _, us := range []float64{0, 0.5, 9.99, 10, 12.6, 13, 99.9, 100, 1234, 5e7} {
		i := distIndex(int64(us * 1e3))
		if float64(distEdge(i)) > us || float64(distEdge(i+1)) <= us {
			t.Errorf("%vµs in bin %d [%d, %d)", us, i, distEdge(i), distEdge(i+1))
		}
	}

	// Wide: from 1 µs to a minute needs merging down to at most 60 bins,
	// and no response is lost.
	rng := rand.New(rand.NewPCG(1, 2))
	var wide testenv.Histogram
	vals := make([]time.Duration, 20000)
	for i := range vals {
		vals[i] = time.Duration(float64(time.Microsecond) * math.Exp(rng.Float64()*math.Log(float64(time.Minute/time.Microsecond))))
		wide.Record(vals[i])
	}
	d := distribution(&wide)
	if len(d) > distMaxBins || len(d) < distMaxBins/2 {
		t.Fatalf("%d bins", len(d))
	}
	var sum uint64
	for i, b := range d {
		sum += b.Count
		if b.HiUS <= b.LoUS || i > 0 && d[i-1].HiUS != b.LoUS {
			t.Fatalf("bin %d %v after %v", i, b, d[max(i-1, 0)])
		}
	}
	if sum != wide.Count() {
		t.Errorf("bins hold %d, histogram %d", sum, wide.Count())
	}
	// Each bin holds about the values between its edges: a histogram
	// bucket (1/64 of its value wide) that straddles an edge goes to one
	// side.
	for _, b := range d {
		var n uint64
		for _, v := range vals {
			if us := float64(v) / 1e3; us >= float64(b.LoUS) && us < float64(b.HiUS) {
				n++
			}
		}
		if diff := math.Abs(float64(n) - float64(b.Count)); diff > 0.08*float64(n)+5 {
			t.Errorf("bin %v: %d values between its edges", b, n)
		}
	}
}

func TestReportMachine(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14 96-Core Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(strings.NewReader(cpuinfo)); got != "AMD EPYC 9B14 96-Core Processor" {
		t.Errorf("cpuModel %q", got)
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\nHardware\t: BCM2835\n")); got != "" {
		t.Errorf("cpuModel without model name %q", got)
	}
	meminfo := "MemFree:         1000 kB\nMemTotal:       24595776 kB\n"
	if got := memTotal(strings.NewReader(meminfo)); got != 24595776*1024 {
		t.Errorf("memTotal %d", got)
	}
	if got := memTotal(strings.NewReader("MemTotal: lots\n")); got != 0 {
		t.Errorf("memTotal of garbage %d", got)
	}

	m := currentMachine()
	if m.Cores != runtime.NumCPU() || m.GOMAXPROCS != runtime.GOMAXPROCS(0) || m.Go != runtime.Version() ||
		m.OS != runtime.GOOS || m.Arch != runtime.GOARCH || m.CPU == "" {
		t.Errorf("currentMachine %+v", m)
	}
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/meminfo"); err == nil && m.MemoryBytes == 0 {
			t.Error("no memory size on linux")
		}
	}
}

func TestReportLoadParams(t *testing.T) {
	got := reportLoadParams(testenv.LoadConfig{
		Binds: 4, Window: 256, Warmup: time.Second, SystemID: "bench",
		Phases: []testenv.LoadPhase{{Name: "ramp", Rate: 1000, RateTo: 5000, Duration: 10 * time.Second}, {Name: "steady", Duration: 30 * time.Second}, {Rate: 2500, Duration: time.Second}},
		Mix:    []testenv.LoadMessage{{Name: "plain", Share: 0.9}, {Share: 0.1, Kind: pdu.DataSM}},
	})
	want := [][2]string{
		{"binds", "4"}, {"window", "256"}, {"warmup", "1s"},
		{"phases", "ramp 1000→5000/s 10s; steady 30s; phase 3 2500/s 1s"},
		{"mix", "plain 90%; data_sm 10%"},
		{"vary_dest", "false"}, {"system_id", "bench"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("params\n got %q\nwant %q", got, want)
	}
	plain := reportLoadParams(testenv.LoadConfig{Binds: 1, Window: 1, Duration: 5 * time.Second, Rate: 100, VaryDest: true})
	if !slices.Contains(plain, [2]string{"rate", "100/s"}) || !slices.Contains(plain, [2]string{"duration", "5s"}) {
		t.Errorf("params %q", plain)
	}
}

// TestExampleReportIsSelfContained: the example report in docs/, which the
// README shows, is well-formed, loads nothing from outside and has its
// three charts.
func TestExampleReportIsSelfContained(t *testing.T) {
	page, err := os.ReadFile("../../docs/bench-report-example.html")
	if err != nil {
		t.Fatal(err)
	}
	charts, text := parseReportHTML(t, page)
	if len(charts) != 3 || !strings.Contains(text, "consent-mix") || !strings.Contains(text, "All 13 checks passed") {
		t.Fatalf("%d charts; text %.300q", len(charts), text)
	}
}
