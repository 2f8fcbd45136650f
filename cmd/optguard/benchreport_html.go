package main

// The HTML form of the bench report: one self-contained page (inline style,
// no script, nothing fetched) with the tables and, per run, three charts
// drawn here as inline SVG. The page is well-formed XML as well as HTML, so
// that tests can parse all of it and tools can read it; every string that
// comes from the run (names, parameters, errors, check details) goes
// through xmlText.

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reportStyle is the page's whole style sheet. Colours keep at least 4.5:1
// contrast against the white background.
const reportStyle = `
body{margin:0;background:#fff;color:#1a1a1a;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .3rem}
h2{font-size:1.25rem;margin:2rem 0 .6rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.4rem 0 .5rem}
nav ul{list-style:none;padding:0;margin:.6rem 0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
a{color:#1a4f9c}
.meta{color:#444;margin:0}
.banner{background:#fdecea;border:2px solid #b3261e;color:#7a1712;padding:.6rem .9rem;font-weight:600;border-radius:4px}
pre{background:#f4f4f4;padding:.5rem .7rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #c8c8c8;padding:.25rem .55rem;text-align:right;vertical-align:top}
th{background:#eef1f5}
th[scope=row],td.text{text-align:left}
thead th{text-align:center}
td.ok{color:#1b5e20;font-weight:600;text-align:left}
td.failed{color:#b3261e;font-weight:700;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
svg.chart{max-width:100%;height:auto;border:1px solid #ddd;background:#fff}
svg.chart text{font-size:12px;fill:#222}
svg.chart text.title{font-size:13px;font-weight:600}
svg.chart .grid{stroke:#e3e3e3;stroke-width:1}
svg.chart .axis{stroke:#555;stroke-width:1}
footer{margin-top:2rem;color:#555;font-size:.9rem}
`

// Chart colours: dark enough to read on white, told apart by hue and by
// line style (sent is dashed), not by colour alone.
const (
	colorAnswered = "#1a4f9c"
	colorSent     = "#2e7d32"
	colorP50      = "#1a4f9c"
	colorP99      = "#b3261e"
	colorBar      = "#3d6db5"
	colorMarkP50  = "#222222" // the p50 marker over the blue bars
	colorWarmup   = "#f0f0f0"
	colorPhase    = "#6b6b6b"

	dashSent = "6 4"
	dashP50  = "6 3"
	dashP99  = "2 2"
)

// writeHTML writes the report as one self-contained HTML page.
func (r *benchReport) writeHTML(w io.Writer) error {
	var b strings.Builder
	h := &htmlPage{b: &b}
	h.page(r)
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlPage accumulates the page.
type htmlPage struct{ b *strings.Builder }

func (h *htmlPage) raw(s string)                 { h.b.WriteString(s) }
func (h *htmlPage) f(format string, args ...any) { fmt.Fprintf(h.b, format, args...) }

// xmlText escapes s for element text and quoted attribute values; invalid
// UTF-8 and characters XML does not allow become U+FFFD.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// reportSubject is what the report is about, for its title.
func (r *benchReport) reportSubject() string {
	if r.Scenario != "" {
		return "scenario " + r.Scenario
	}
	var names []string
	for _, run := range r.Runs {
		if !slices.Contains(names, run.Name) {
			names = append(names, run.Name)
		}
	}
	if len(names) == 0 {
		return "no runs"
	}
	return strings.Join(names, ", ")
}

func (r *benchReport) startedText() string {
	if r.started.IsZero() {
		return r.Started
	}
	return r.started.Format("2006-01-02 15:04:05 -07:00")
}

func (h *htmlPage) page(r *benchReport) {
	title := "optguard bench: " + r.reportSubject() + ", " + r.startedText()
	h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	h.f("<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", xmlText(title), reportStyle)
	h.f("<h1>optguard bench: %s</h1>\n", xmlText(r.reportSubject()))
	h.f("<p class=\"meta\">Started %s · %s</p>\n", xmlText(r.startedText()), xmlText(r.Version))
	if r.Interrupted {
		h.raw("<p class=\"banner\" role=\"alert\">Interrupted: the run ended early, so the figures cover only the time until then.</p>\n")
	}

	type section struct{ id, name string }
	sections := []section{{"parameters", "Parameters"}, {"machine", "Machine"}, {"runs", "Runs"}}
	if r.hasPhases() {
		sections = append(sections, section{"phases", "Phases"})
	}
	sections = append(sections, section{"statuses", "Responses by status"})
	if r.hasGroups() {
		sections = append(sections, section{"groups", "Handset groups"})
	}
	if r.hasReceipts() {
		sections = append(sections, section{"receipts", "Receipts and MOs"})
	}
	if len(r.Checks) > 0 {
		sections = append(sections, section{"checks", "Checks"})
	}
	if r.Baseline != nil {
		sections = append(sections, section{"baseline", "Baseline"})
	}
	sections = append(sections, section{"charts", "Charts"})
	h.raw("<nav aria-label=\"Sections\"><ul>")
	for _, s := range sections {
		h.f("<li><a href=\"#%s\">%s</a></li>", s.id, xmlText(s.name))
	}
	h.raw("</ul></nav>\n")

	h.params(r)
	h.machine(r)
	h.runs(r)
	if r.hasPhases() {
		h.phases(r)
	}
	h.statuses(r)
	if r.hasGroups() {
		h.groups(r)
	}
	if r.hasReceipts() {
		h.receipts(r)
	}
	if len(r.Checks) > 0 {
		h.checks(r)
	}
	if r.Baseline != nil {
		h.baseline(r.Baseline)
	}
	h.charts(r)
	h.f("<footer>Written by %s. Figures are per run; durations are rounded to whole microseconds.</footer>\n", xmlText(r.Version))
	h.raw("</main>\n</body>\n</html>\n")
}

// thead writes a table's opening and its header row.
func (h *htmlPage) thead(cols ...string) {
	h.raw("<table>\n<thead><tr>")
	for _, c := range cols {
		h.f("<th scope=\"col\">%s</th>", xmlText(c))
	}
	h.raw("</tr></thead>\n<tbody>\n")
}

func (h *htmlPage) tend() { h.raw("</tbody>\n</table>\n") }

// cell is one table cell: a number (right-aligned) or text.
type cell struct {
	s    string
	text bool
}

func nc(s string) cell { return cell{s: s} }
func tc(s string) cell { return cell{s: s, text: true} }

// row writes one row: a row header, then the cells.
func (h *htmlPage) row(head string, cells ...cell) {
	h.f("<tr><th scope=\"row\">%s</th>", xmlText(head))
	for _, c := range cells {
		if c.text {
			h.f("<td class=\"text\">%s</td>", xmlText(c.s))
		} else {
			h.f("<td>%s</td>", xmlText(c.s))
		}
	}
	h.raw("</tr>\n")
}

func (h *htmlPage) params(r *benchReport) {
	h.raw("<h2 id=\"parameters\">Parameters</h2>\n")
	if len(r.Command) > 0 {
		h.f("<p>Command:</p>\n<pre><code>%s</code></pre>\n", xmlText(shellJoin(r.Command)))
	}
	h.thead("Parameter", "Value")
	if r.Scenario != "" {
		h.row("scenario", tc(r.Scenario))
	}
	for _, p := range r.Params {
		h.row(p.Name, tc(p.Value))
	}
	h.tend()
}

func (h *htmlPage) machine(r *benchReport) {
	m := r.Machine
	h.raw("<h2 id=\"machine\">Machine</h2>\n")
	h.thead("Property", "Value")
	mem := "unknown"
	if m.MemoryBytes > 0 {
		mem = fmt.Sprintf("%.1f GiB", float64(m.MemoryBytes)/(1<<30))
	}
	h.row("CPU", tc(m.CPU))
	h.row("cores", tc(strconv.Itoa(m.Cores)))
	h.row("GOMAXPROCS", tc(strconv.Itoa(m.GOMAXPROCS)))
	h.row("Go", tc(m.Go))
	h.row("OS/arch", tc(m.OS+"/"+m.Arch))
	h.row("memory", tc(mem))
	h.tend()
}

// latCell shows one figure of l, or a dash when l counted nothing: no
// responses means no latency, not a latency of 0.
func latCell(l latencyReport, us int64) cell {
	if l.Count == 0 {
		return nc("–")
	}
	return nc(usDur(us))
}

// usDur formats whole microseconds as the CLI formats durations.
func usDur(us int64) string { return fmtDur(time.Duration(us) * time.Microsecond) }

func (h *htmlPage) runs(r *benchReport) {
	h.raw("<h2 id=\"runs\">Runs</h2>\n")
	if len(r.Runs) == 0 {
		h.raw("<p>No run was measured.</p>\n")
		return
	}
	h.thead("Run", "Round", "Elapsed", "Sent", "Responses", "Throughput /s", "p50", "p90", "p99", "p99.9", "max", "Unanswered", "Stalls", "Errors")
	for _, run := range r.Runs {
		l := run.Latency
		lat := func(us int64) cell { return latCell(l, us) }
		h.row(run.Name, nc(strconv.Itoa(run.Round)), nc(usDur(run.ElapsedUS)), nc(groupDigits(run.Sent)), nc(groupDigits(run.Responses)),
			nc(groupDigits(uint64(math.Round(run.PerSecond)))), lat(l.P50US), lat(l.P90US), lat(l.P99US),
			lat(l.P999US), lat(l.MaxUS), nc(groupDigits(run.Unanswered)), nc(groupDigits(run.Stalls)), nc(strconv.Itoa(len(run.Errors))))
	}
	h.tend()
	first := true
	for _, run := range r.Runs {
		for _, e := range run.Errors {
			if first {
				h.raw("<h3>Errors</h3>\n<ul>\n")
				first = false
			}
			h.f("<li>%s, round %d: %s</li>\n", xmlText(run.Name), run.Round, xmlText(e))
		}
	}
	if !first {
		h.raw("</ul>\n")
	}
}

func (r *benchReport) hasPhases() bool {
	for _, run := range r.Runs {
		if len(run.Phases) > 0 {
			return true
		}
	}
	return false
}

// plannedRate describes a phase's pace as planned.
func plannedRate(rate, rateTo float64) string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	switch {
	case rateTo > 0:
		return g(rate) + "→" + g(rateTo) + "/s"
	case rate > 0:
		return g(rate) + "/s"
	}
	return "closed loop"
}

func (h *htmlPage) phases(r *benchReport) {
	h.raw("<h2 id=\"phases\">Phases</h2>\n")
	h.raw("<p>“p99 intended” counts from each request's intended send time (open-loop phases only), so time spent waiting for a full window shows in it.</p>\n")
	h.thead("Run", "Round", "Phase", "Planned rate", "Elapsed", "Sent", "Responses", "Throughput /s", "p50", "p99", "p99 intended", "Stalls", "Not ESME_ROK")
	for _, run := range r.Runs {
		for _, p := range run.Phases {
			intended := "–"
			if p.IntendedLatency != nil {
				intended = usDur(p.IntendedLatency.P99US)
			}
			h.row(run.Name, nc(strconv.Itoa(run.Round)), tc(p.Name), nc(plannedRate(p.Rate, p.RateTo)), nc(usDur(p.ElapsedUS)),
				nc(groupDigits(p.Sent)), nc(groupDigits(p.Responses)), nc(groupDigits(uint64(math.Round(p.PerSecond)))),
				latCell(p.Latency, p.Latency.P50US), latCell(p.Latency, p.Latency.P99US), nc(intended), nc(groupDigits(p.Stalls)), nc(groupDigits(notOKCount(p.ByStatus))))
		}
	}
	h.tend()
}

// notOKCount adds up the counts of every status but ESME_ROK.
func notOKCount(by map[string]uint64) uint64 {
	var n uint64
	for st, c := range by {
		if st != "ESME_ROK" {
			n += c
		}
	}
	return n
}

// sortedStatuses lists status names with ESME_ROK first, then by name.
func sortedStatuses(maps ...map[string]uint64) []string {
	var names []string
	for _, m := range maps {
		for st := range m {
			if !slices.Contains(names, st) {
				names = append(names, st)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == "ESME_ROK") != (b == "ESME_ROK") {
			if a == "ESME_ROK" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

func (h *htmlPage) statuses(r *benchReport) {
	h.raw("<h2 id=\"statuses\">Responses by status</h2>\n")
	var all []map[string]uint64
	for _, run := range r.Runs {
		all = append(all, run.ByStatus)
	}
	names := sortedStatuses(all...)
	if len(names) == 0 {
		h.raw("<p>No responses.</p>\n")
		return
	}
	h.thead(append([]string{"Run", "Round"}, names...)...)
	for _, run := range r.Runs {
		cells := []cell{nc(strconv.Itoa(run.Round))}
		for _, st := range names {
			cells = append(cells, nc(groupDigits(run.ByStatus[st])))
		}
		h.row(run.Name, cells...)
	}
	h.tend()
}

func (r *benchReport) hasGroups() bool {
	for _, run := range r.Runs {
		if len(run.ByGroup) > 0 {
			return true
		}
	}
	return false
}

func (h *htmlPage) groups(r *benchReport) {
	h.raw("<h2 id=\"groups\">Handset groups</h2>\n")
	h.raw("<p>“Held” counts accepted messages whose message_id marks them as held for consent.</p>\n")
	h.thead("Run", "Round", "Group", "Sent", "Responses", "Held", "Receipts", "Not ESME_ROK")
	for _, run := range r.Runs {
		names := make([]string, 0, len(run.ByGroup))
		for name := range run.ByGroup {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			g := run.ByGroup[name]
			h.row(run.Name, nc(strconv.Itoa(run.Round)), tc(name), nc(groupDigits(g.Sent)), nc(groupDigits(g.Responses)),
				nc(groupDigits(g.Held)), nc(groupDigits(g.Receipts)), nc(groupDigits(notOKCount(g.ByStatus))))
		}
	}
	h.tend()
}

func (r *benchReport) hasReceipts() bool {
	for _, run := range r.Runs {
		rc := run.Receipts
		if rc.Matched > 0 || rc.Unmatched > 0 || rc.Due > 0 || run.MOs > 0 {
			return true
		}
	}
	return false
}

func (h *htmlPage) receipts(r *benchReport) {
	h.raw("<h2 id=\"receipts\">Receipts and MOs</h2>\n")
	h.thead("Run", "Round", "Receipts", "By stat", "Unmatched", "Due, none came", "Receipt p50", "Receipt p99", "MOs")
	for _, run := range r.Runs {
		rc := run.Receipts
		stats := make([]string, 0, len(rc.ByStat))
		for st := range rc.ByStat {
			stats = append(stats, st)
		}
		slices.Sort(stats)
		for i, st := range stats {
			stats[i] = st + " " + groupDigits(rc.ByStat[st])
		}
		p50, p99 := "–", "–"
		if l := run.ReceiptLatency; l != nil {
			p50, p99 = usDur(l.P50US), usDur(l.P99US)
		}
		h.row(run.Name, nc(strconv.Itoa(run.Round)), nc(groupDigits(rc.Matched)), tc(strings.Join(stats, ", ")),
			nc(groupDigits(rc.Unmatched)), nc(groupDigits(rc.Due)), nc(p50), nc(p99), nc(groupDigits(run.MOs)))
	}
	h.tend()
}

func (h *htmlPage) checks(r *benchReport) {
	h.raw("<h2 id=\"checks\">Checks</h2>\n")
	failed := 0
	for _, c := range r.Checks {
		if !c.OK {
			failed++
		}
	}
	if failed > 0 {
		h.f("<p class=\"banner\">%d of %d checks FAILED.</p>\n", failed, len(r.Checks))
	} else {
		h.f("<p>All %d checks passed.</p>\n", len(r.Checks))
	}
	h.thead("Check", "Result", "Detail")
	for _, c := range r.Checks {
		result, class := "OK", "ok"
		if !c.OK {
			result, class = "FAILED", "failed"
		}
		h.f("<tr><th scope=\"row\">%s</th><td class=\"%s\">%s</td><td class=\"text\">%s</td></tr>\n",
			xmlText(c.Name), class, result, xmlText(c.Detail))
	}
	h.tend()
}

func (h *htmlPage) baseline(b *baselineReport) {
	h.raw("<h2 id=\"baseline\">Baseline</h2>\n")
	h.raw("<p>Throughput ratios, each the median of the per-round ratios (the runs of a round ran minutes apart at most, on the same machine).</p>\n")
	h.thead("Ratio", "Median", "Per round")
	h.row("proxy / relay", nc(fmt.Sprintf("%.2f", b.ProxyRelay)), tc(joinFloats(b.ProxyRelayRounds, "%.2f")))
	h.row("policy / proxy", nc(fmt.Sprintf("%.2f", b.PolicyProxy)), tc(joinFloats(b.PolicyProxyRounds, "%.2f")))
	if len(b.Lookups) > 0 {
		h.row(apiTarget+" / policy", nc(fmt.Sprintf("%.2f", b.APIPolicy)), tc(joinFloats(b.APIPolicyRounds, "%.2f")))
	}
	h.tend()
	if len(b.Lookups) > 0 {
		h.raw("<p>Operator API number lookups beside each " + apiTarget + " run, latency from the request's start to the answer read, and its p99 from the intended send time.</p>\n")
		h.thead("Round", "Asked/s", "Answered/s", "p50", "p99", "Max", "p99 from intended", "Not 200")
		for _, l := range b.Lookups {
			h.row(strconv.Itoa(l.Round), nc(strconv.Itoa(l.Rate)), nc(fmt.Sprintf("%.0f", l.PerSecond)), nc(usDur(l.P50US)),
				nc(usDur(l.P99US)), nc(usDur(l.MaxUS)), nc(usDur(l.IntendedP99US)), nc(strconv.FormatUint(l.Sent-l.OK, 10)))
		}
		h.tend()
	}
}

// charts draws the three charts of each run of the last round: with
// -baseline's many rounds, one round's charts show the shape, and the tables
// have the figures of every round.
func (h *htmlPage) charts(r *benchReport) {
	h.raw("<h2 id=\"charts\">Charts</h2>\n")
	last := 0
	for _, run := range r.Runs {
		last = max(last, run.Round)
	}
	if last > 1 {
		h.f("<p>Charts of round %d of %d.</p>\n", last, last)
	}
	n := 0
	for _, run := range r.Runs {
		if run.Round != last {
			continue
		}
		n++
		h.f("<section class=\"run-charts\" aria-label=\"%s\">\n<h3>%s, round %d</h3>\n<div class=\"charts\">\n",
			xmlText(run.Name+" charts"), xmlText(run.Name), run.Round)
		h.raw(throughputChart(run))
		h.raw(latencyChart(run))
		h.raw(distributionChart(run))
		h.raw("</div>\n</section>\n")
	}
	if n == 0 {
		h.raw("<p>No run was measured.</p>\n")
	}
}

// shellJoin writes a command line as a shell would read it back.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,+@%", c))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// groupDigits writes n with thin spaces between groups of three digits.
func groupDigits(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 4 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	return b.String()
}

// The charts. Each is an <svg> of chartW × chartH with the plot inside the
// margins; every coordinate goes through num, which turns what could be NaN
// or ±Inf (an empty series, a zero range) into 0, so that no chart breaks.
const (
	chartW      = 560.0
	chartH      = 280.0
	chartLeft   = 64.0
	chartRight  = 28.0 // room for the last x label
	chartTop    = 50.0 // the title and, under it, the legend
	chartBottom = 44.0
)

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// scale maps a domain [lo, hi] (log10 of it when log) to pixels [a, b].
type scale struct {
	lo, hi, a, b float64
	log          bool
}

func (s scale) at(v float64) float64 {
	lo, hi := s.lo, s.hi
	if s.log {
		v, lo, hi = math.Log10(max(v, s.lo)), math.Log10(lo), math.Log10(hi)
	}
	if hi <= lo || math.IsNaN(v) {
		return s.a
	}
	p := s.a + (v-lo)/(hi-lo)*(s.b-s.a)
	return min(max(p, min(s.a, s.b)), max(s.a, s.b))
}

// niceStep returns a step of 1, 2 or 5 × 10^k that cuts [0, top] into at
// most about n parts, and top rounded up to it.
func niceStep(top float64, n int) (step, end float64) {
	if !(top > 0) || math.IsInf(top, 0) {
		top = 1
	}
	raw := top / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		step = mag
	case f <= 2:
		step = 2 * mag
	case f <= 5:
		step = 5 * mag
	default:
		step = 10 * mag
	}
	return step, math.Ceil(top/step-1e-9) * step
}

// shortNum writes a tick value: 950, 1.5k, 2M.
func shortNum(v float64) string {
	r := func(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }
	switch a := math.Abs(v); {
	case a >= 1e9:
		return r(v/1e9) + "G"
	case a >= 1e6:
		return r(v/1e6) + "M"
	case a >= 1e3:
		return r(v/1e3) + "k"
	}
	return r(v)
}

// decadeLabel writes a power of ten of microseconds: 1µs, 100µs, 1ms, 10s.
func decadeLabel(us float64) string {
	k := int(math.Round(math.Log10(us)))
	if k < 0 {
		return strconv.FormatFloat(math.Pow(10, float64(k)+3), 'f', -1, 64) + "ns"
	}
	unit := []string{"µs", "ms", "s"}[min(k/3, 2)]
	return strconv.Itoa(int(math.Pow(10, float64(k-3*min(k/3, 2))))) + unit
}

// svgChart builds one chart.
type svgChart struct {
	b          strings.Builder
	x, y       scale
	plotBottom float64
	plotRight  float64
}

func newChart(class, title, desc string) *svgChart {
	c := &svgChart{plotBottom: chartH - chartBottom, plotRight: chartW - chartRight}
	c.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="chart ` + class + `" role="img" width="` + num(chartW) +
		`" height="` + num(chartH) + `" viewBox="0 0 ` + num(chartW) + " " + num(chartH) + `">`)
	c.b.WriteString("<title>" + xmlText(title) + "</title><desc>" + xmlText(desc) + "</desc>\n")
	c.b.WriteString(`<text class="title" x="` + num(chartLeft) + `" y="16">` + xmlText(title) + "</text>\n")
	return c
}

func (c *svgChart) f(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

// frame draws the axes, the y grid with its labels and the axis titles.
func (c *svgChart) frame(xTitle, yTitle string) {
	c.f(`<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(chartLeft), num(chartTop), num(chartLeft), num(c.plotBottom))
	c.f(`<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(chartLeft), num(c.plotBottom), num(c.plotRight), num(c.plotBottom))
	c.f(`<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num((chartLeft+c.plotRight)/2), num(chartH-6), xmlText(xTitle))
	c.f(`<text x="14" y="%s" text-anchor="middle" transform="rotate(-90 14 %s)">%s</text>`+"\n",
		num((chartTop+c.plotBottom)/2), num((chartTop+c.plotBottom)/2), xmlText(yTitle))
}

func (c *svgChart) xTick(v float64, label string) {
	x := c.x.at(v)
	c.f(`<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(c.plotBottom), num(x), num(c.plotBottom+4))
	c.f(`<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num(x), num(c.plotBottom+17), xmlText(label))
}

func (c *svgChart) yTick(v float64, label string) {
	y := c.y.at(v)
	c.f(`<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(chartLeft), num(y), num(c.plotRight), num(y))
	c.f(`<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", num(chartLeft-6), num(y+4), xmlText(label))
}

// legend draws colour keys at the top right, right to left.
func (c *svgChart) legend(items ...legendItem) {
	x := c.plotRight
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		w := 26 + 7*float64(len([]rune(it.label)))
		x -= w
		dash := ""
		if it.dash != "" {
			dash = ` stroke-dasharray="` + it.dash + `"`
		}
		const y = chartTop - 16 // the legend's middle
		if it.bar {
			c.f(`<rect x="%s" y="%s" width="14" height="10" fill="%s"/>`, num(x), num(y-5), it.color)
		} else {
			c.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, num(x), num(y), num(x+16), num(y), it.color, dash)
		}
		c.f(`<text x="%s" y="%s">%s</text>`+"\n", num(x+20), num(y+4), xmlText(it.label))
	}
}

type legendItem struct {
	label, color string
	dash         string // stroke-dasharray; "" = solid
	bar          bool
}

func (c *svgChart) noData() {
	c.f(`<text x="%s" y="%s" text-anchor="middle">no data</text>`+"\n", num((chartLeft+c.plotRight)/2), num((chartTop+c.plotBottom)/2))
}

// line draws the points as polylines, broken where ok is false.
func (c *svgChart) line(xs, ys []float64, ok []bool, color, dasharray string) {
	dash := ""
	if dasharray != "" {
		dash = ` stroke-dasharray="` + dasharray + `"`
	}
	var pts []string
	flush := func() {
		if len(pts) == 1 {
			// A lone point: a dot, since a one-point polyline draws nothing.
			x, y, _ := strings.Cut(pts[0], ",")
			c.f(`<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", x, y, color)
		} else if len(pts) > 1 {
			c.f(`<polyline fill="none" stroke="%s" stroke-width="2"%s stroke-linejoin="round" points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	for i := range xs {
		if !ok[i] {
			flush()
			continue
		}
		pts = append(pts, num(c.x.at(xs[i]))+","+num(c.y.at(ys[i])))
	}
	flush()
}

func (c *svgChart) end() string {
	c.b.WriteString("</svg>\n")
	return c.b.String()
}

// timeAxis sets the x scale to the run's seconds and draws its ticks, the
// warmup as a shaded band and phase changes as labelled lines.
func (c *svgChart) timeAxis(series []secondReport) {
	end := 1.0
	if n := len(series); n > 0 {
		end = max(float64(series[n-1].AtMS)/1e3, 1)
	}
	step, _ := niceStep(end, 8)
	c.x = scale{lo: 0, hi: end, a: chartLeft, b: c.plotRight}
	// Where each phase starts (the warmup included), and the warmup as
	// bands, one per stretch of warmup seconds.
	type start struct {
		x    float64
		name string
	}
	var starts []start
	prev, bandFrom := 0.0, -1.0
	for i, s := range series {
		at := float64(s.AtMS) / 1e3
		if i == 0 || s.Phase != series[i-1].Phase {
			x := c.x.at(prev)
			starts = append(starts, start{x, s.Phase})
			if i > 0 {
				c.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="2 3"/>`+"\n", num(x), num(chartTop), num(x), num(c.plotBottom), colorPhase)
			}
		}
		if s.Phase == "warmup" && bandFrom < 0 {
			bandFrom = prev
		}
		if bandFrom >= 0 && (s.Phase != "warmup" || i == len(series)-1) {
			to := prev
			if s.Phase == "warmup" {
				to = at
			}
			x0, x1 := c.x.at(bandFrom), c.x.at(to)
			c.f(`<rect class="warmup" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", num(x0), num(chartTop), num(x1-x0), num(c.plotBottom-chartTop), colorWarmup)
			bandFrom = -1
		}
		prev = at
	}
	// Labels go in the first of three rows where they do not overlap the
	// one before; a label that fits in none is left out (the tables name
	// every phase).
	var rowEnd [3]float64
	for _, st := range starts {
		if st.name == "" {
			continue
		}
		w := 7 * float64(len([]rune(st.name)))
		for row := range rowEnd {
			if rowEnd[row] == 0 || st.x+3 >= rowEnd[row]+6 {
				c.f(`<text x="%s" y="%s">%s</text>`+"\n", num(st.x+3), num(chartTop+12+14*float64(row)), xmlText(st.name))
				rowEnd[row] = st.x + 3 + w
				break
			}
		}
	}
	for v := 0.0; v <= end+step/1e6; v += step {
		c.xTick(v, shortNum(v))
	}
}

// throughputChart: answered and sent per second over the run.
func throughputChart(run runReport) string {
	c := newChart("throughput", "Throughput over time: "+run.Name+", round "+strconv.Itoa(run.Round),
		"Responses and requests per second over the run, warmup shaded.")
	n := len(run.Series)
	xs, answered, sent, ok := make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n)
	peak := 0.0
	prev := 0.0
	for i, s := range run.Series {
		at := float64(s.AtMS) / 1e3
		span := at - prev
		prev = at
		if span <= 0 {
			continue // not a second that can be drawn as a rate
		}
		xs[i], answered[i], sent[i], ok[i] = at, float64(s.Answered)/span, float64(s.Sent)/span, true
		peak = max(peak, answered[i], sent[i])
	}
	c.y = scale{a: c.plotBottom, b: chartTop}
	step, top := niceStep(peak, 5)
	c.y.hi = top
	c.timeAxis(run.Series)
	for v := 0.0; v <= top+step/2; v += step {
		c.yTick(v, shortNum(v))
	}
	c.frame("seconds since start", "per second")
	if !slices.Contains(ok, true) {
		c.noData()
	} else {
		c.line(xs, sent, ok, colorSent, dashSent)
		c.line(xs, answered, ok, colorAnswered, "")
	}
	c.legend(legendItem{label: "answered/s", color: colorAnswered}, legendItem{label: "sent/s", color: colorSent, dash: dashSent})
	return c.end()
}

// logDomain returns powers of ten of microseconds around [lo, hi], at
// least one decade apart and at least 1 µs.
func logDomain(lo, hi float64) (float64, float64) {
	lo = math.Pow(10, math.Floor(math.Log10(max(lo, 1))))
	hi = math.Pow(10, math.Ceil(math.Log10(max(hi, 1))))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// latencyChart: p50 and p99 of each second's responses, on a log scale
// (a stall's p99 is often a thousand times the p50).
func latencyChart(run runReport) string {
	c := newChart("latency", "Latency over time: "+run.Name+", round "+strconv.Itoa(run.Round),
		"p50 and p99 of each second's responses, log scale; gaps are seconds without responses.")
	n := len(run.Series)
	xs, p50, p99, ok := make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n)
	lo, hi := math.Inf(1), 0.0
	for i, s := range run.Series {
		if s.Answered == 0 {
			continue
		}
		xs[i], p50[i], p99[i], ok[i] = float64(s.AtMS)/1e3, float64(s.P50US), float64(s.P99US), true
		lo, hi = min(lo, p50[i], p99[i]), max(hi, p50[i], p99[i])
	}
	has := !math.IsInf(lo, 1)
	if !has {
		lo, hi = 1, 10
	}
	dlo, dhi := logDomain(lo, hi)
	c.y = scale{lo: dlo, hi: dhi, a: c.plotBottom, b: chartTop, log: true}
	c.timeAxis(run.Series)
	for v := dlo; v <= dhi*1.01; v *= 10 {
		c.yTick(v, decadeLabel(v))
	}
	c.frame("seconds since start", "latency (log scale)")
	if !has {
		c.noData()
	} else {
		c.line(xs, p99, ok, colorP99, "")
		c.line(xs, p50, ok, colorP50, "")
	}
	c.legend(legendItem{label: "p50", color: colorP50}, legendItem{label: "p99", color: colorP99})
	return c.end()
}

// distributionChart: responses per latency bin, bars on a log-scale
// latency axis, with the run's p50 and p99 marked.
func distributionChart(run runReport) string {
	c := newChart("distribution", "Latency distribution: "+run.Name+", round "+strconv.Itoa(run.Round),
		"Responses per latency bin over the measured period, log-scale latency axis, p50 and p99 marked.")
	bins := run.Distribution
	var peak uint64
	lo, hi := math.Inf(1), 0.0
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		peak = max(peak, b.Count)
		lo, hi = min(lo, float64(b.LoUS)), max(hi, float64(b.HiUS))
	}
	has := peak > 0
	if !has {
		lo, hi = 1, 10
	}
	dlo, dhi := logDomain(lo, hi)
	c.x = scale{lo: dlo, hi: dhi, a: chartLeft, b: c.plotRight, log: true}
	step, top := niceStep(float64(peak), 5)
	if step < 1 { // counts are whole
		step, top = 1, max(math.Ceil(top), 1)
	}
	c.y = scale{lo: 0, hi: top, a: c.plotBottom, b: chartTop}
	for v := 0.0; v <= top+step/2; v += step {
		c.yTick(v, shortNum(v))
	}
	for v := dlo; v <= dhi*1.01; v *= 10 {
		c.xTick(v, decadeLabel(v))
	}
	c.frame("latency (log scale)", "responses")
	if !has {
		c.noData()
	} else {
		for _, b := range bins {
			if b.Count == 0 {
				continue
			}
			x0, x1 := c.x.at(float64(b.LoUS)), c.x.at(float64(b.HiUS))
			w := x1 - x0
			if w > 2 {
				w-- // a hairline gap between neighbours
			}
			y := c.y.at(float64(b.Count))
			c.f(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s–%s: %d</title></rect>`+"\n",
				num(x0), num(y), num(max(w, 1)), num(c.plotBottom-y), colorBar, xmlText(usDur(b.LoUS)), xmlText(usDur(b.HiUS)), b.Count)
		}
		for _, m := range []struct {
			us          int64
			color, dash string
		}{{run.Latency.P50US, colorMarkP50, dashP50}, {run.Latency.P99US, colorP99, dashP99}} {
			x := c.x.at(float64(max(m.us, 1)))
			c.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n",
				num(x), num(chartTop), num(x), num(c.plotBottom), m.color, m.dash)
		}
	}
	if has {
		c.legend(legendItem{label: "responses", color: colorBar, bar: true},
			legendItem{label: "p50 " + usDur(run.Latency.P50US), color: colorMarkP50, dash: dashP50},
			legendItem{label: "p99 " + usDur(run.Latency.P99US), color: colorP99, dash: dashP99})
	}
	return c.end()
}
