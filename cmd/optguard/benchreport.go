package main

// The file `optguard bench -report FILE` writes: the report's model (built
// once from the runs, so that the three formats cannot disagree), its JSON
// and CSV forms, the machine the run was measured on, and the atomic write.
// The HTML form is in benchreport_html.go. Field names are a stable format
// that users' scripts read (docs/BENCH-REPORT.md): rename nothing, only add.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
	"github.com/optguard/optguard/testenv"
)

// reportRun is one measured load of one target, as the report shows it.
type reportRun struct {
	Name  string // target or scenario name: "direct", "relay", "proxy", "policy", "target", or a scenario's
	Round int    // 1-based; 1 when there are no rounds
	Res   testenv.LoadResult
}

// reportInput is everything a report is built from.
type reportInput struct {
	Command     []string    // os.Args of the run
	Scenario    string      // "" when none
	Params      [][2]string // the run's parameters in order: ("binds","4"), ("window","256"), ("phases", "ramp 1000→5000/s 10s; steady 30s"), …
	Started     time.Time
	Runs        []reportRun
	Baseline    *reportBaseline // nil unless -baseline
	Checks      []reportCheck   // consent/count checks a scenario ran; may be empty
	Interrupted bool            // the run ended early (Ctrl-C); the report says so
}

// reportBaseline holds the -baseline comparison.
type reportBaseline struct {
	ProxyRelay, PolicyProxy             float64 // medians of the per-round ratios
	ProxyRelayRounds, PolicyProxyRounds []float64
	// With -api-load: policy+api's throughput over policy's, and the
	// lookups of each policy+api run.
	APIPolicy       float64
	APIPolicyRounds []float64
	Lookups         []reportLookups
}

// reportLookups are the API lookups beside one round's policy+api run.
type reportLookups struct {
	Round int
	Res   *lookupResult
}

// reportCheck is one consent or count check a scenario ran, as the
// report's JSON has it too.
type reportCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// benchReport is the whole report as the JSON has it; the CSV and the HTML
// are drawn from the same values. Durations are integer microseconds,
// rates per second.
type benchReport struct {
	Tool        string          `json:"tool"`
	Version     string          `json:"version"`
	Started     string          `json:"started"` // RFC 3339
	Command     []string        `json:"command"`
	Scenario    string          `json:"scenario"`
	Interrupted bool            `json:"interrupted"`
	Machine     machineInfo     `json:"machine"`
	Params      []reportParam   `json:"params"`
	Runs        []runReport     `json:"runs"`
	Baseline    *baselineReport `json:"baseline"`
	Checks      []reportCheck   `json:"checks"`

	started time.Time // for the HTML, which formats it for people
}

// machineInfo is the machine a report was measured on.
type machineInfo struct {
	CPU         string `json:"cpu"` // model name, or GOARCH when unknown
	Cores       int    `json:"cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	Go          string `json:"go"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	MemoryBytes uint64 `json:"memory_bytes"` // 0 when unknown
}

type reportParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// runReport is one run (one target in one round).
type runReport struct {
	Name            string                 `json:"name"`
	Round           int                    `json:"round"`
	ElapsedUS       int64                  `json:"elapsed_us"`
	Sent            uint64                 `json:"sent"`
	Responses       uint64                 `json:"responses"`
	PerSecond       float64                `json:"per_second"`
	Unanswered      uint64                 `json:"unanswered"`
	Stalls          uint64                 `json:"stalls"`
	Latency         latencyReport          `json:"latency"`
	IntendedLatency *latencyReport         `json:"intended_latency"`
	ReceiptLatency  *latencyReport         `json:"receipt_latency"`
	ByStatus        map[string]uint64      `json:"by_status"`
	SentByCommand   map[string]uint64      `json:"sent_by_command"`
	ByMessage       map[string]uint64      `json:"by_message"`
	ByGroup         map[string]groupReport `json:"by_group"`
	Receipts        receiptsReport         `json:"receipts"`
	MOs             uint64                 `json:"mos"`
	Errors          []string               `json:"errors"`
	Phases          []phaseReport          `json:"phases"`
	Distribution    []distBin              `json:"distribution"`
	Series          []secondReport         `json:"series"`
}

// latencyReport summarizes one histogram.
type latencyReport struct {
	Count  uint64 `json:"count"`
	P50US  int64  `json:"p50_us"`
	P90US  int64  `json:"p90_us"`
	P99US  int64  `json:"p99_us"`
	P999US int64  `json:"p999_us"`
	MaxUS  int64  `json:"max_us"`
	MeanUS int64  `json:"mean_us"`
}

type groupReport struct {
	Sent      uint64            `json:"sent"`
	Responses uint64            `json:"responses"`
	Held      uint64            `json:"held"`
	Receipts  uint64            `json:"receipts"`
	ByStatus  map[string]uint64 `json:"by_status"`
}

type receiptsReport struct {
	Matched   uint64            `json:"matched"`
	Unmatched uint64            `json:"unmatched"`
	Due       uint64            `json:"due"`
	ByStat    map[string]uint64 `json:"by_stat"`
}

type phaseReport struct {
	Name            string            `json:"name"`
	Rate            float64           `json:"rate"`
	RateTo          float64           `json:"rate_to"`
	ElapsedUS       int64             `json:"elapsed_us"`
	Sent            uint64            `json:"sent"`
	Responses       uint64            `json:"responses"`
	PerSecond       float64           `json:"per_second"`
	Stalls          uint64            `json:"stalls"`
	ByStatus        map[string]uint64 `json:"by_status"`
	Latency         latencyReport     `json:"latency"`
	IntendedLatency *latencyReport    `json:"intended_latency"`
}

// distBin is one bar of the latency distribution: Count latencies in
// [LoUS, HiUS).
type distBin struct {
	LoUS  int64  `json:"lo_us"`
	HiUS  int64  `json:"hi_us"`
	Count uint64 `json:"count"`
}

// secondReport is one second of a run's time series.
type secondReport struct {
	AtMS     int64  `json:"at_ms"`
	Phase    string `json:"phase"`
	Sent     uint64 `json:"sent"`
	Answered uint64 `json:"answered"`
	NotOK    uint64 `json:"not_ok"`
	Stalls   uint64 `json:"stalls"`
	Receipts uint64 `json:"receipts"`
	MOs      uint64 `json:"mos"`
	P50US    int64  `json:"p50_us"`
	P99US    int64  `json:"p99_us"`
	MaxUS    int64  `json:"max_us"`
}

type baselineReport struct {
	ProxyRelay        float64   `json:"proxy_relay"`
	PolicyProxy       float64   `json:"policy_proxy"`
	ProxyRelayRounds  []float64 `json:"proxy_relay_rounds"`
	PolicyProxyRounds []float64 `json:"policy_proxy_rounds"`
	// With -api-load only.
	APIPolicy       float64        `json:"api_policy,omitempty"`
	APIPolicyRounds []float64      `json:"api_policy_rounds,omitempty"`
	Lookups         []lookupReport `json:"api_lookups,omitempty"`
}

// lookupReport is one policy+api run's API lookups.
type lookupReport struct {
	Round     int     `json:"round"`
	Rate      int     `json:"rate"`
	Sent      uint64  `json:"sent"`
	OK        uint64  `json:"ok"`
	PerSecond float64 `json:"per_second"`
	P50US     int64   `json:"p50_us"`
	P99US     int64   `json:"p99_us"`
	MaxUS     int64   `json:"max_us"`
	// From the intended send time: with any wait in the client.
	IntendedP99US int64 `json:"intended_p99_us"`
}

// buildReport turns the runs into the report. Every slice and map is
// non-nil, so that the JSON has [] and {} rather than null where a run had
// nothing: readers then need no special case.
func buildReport(in reportInput, m machineInfo) benchReport {
	r := benchReport{
		Tool:        "optguard bench",
		Version:     versionString(),
		Started:     in.Started.Format(time.RFC3339),
		Command:     commandLine(in.Command),
		Scenario:    in.Scenario,
		Interrupted: in.Interrupted,
		Machine:     m,
		Params:      make([]reportParam, 0, len(in.Params)),
		Runs:        make([]runReport, 0, len(in.Runs)),
		Checks:      append(make([]reportCheck, 0, len(in.Checks)), in.Checks...),
		started:     in.Started,
	}
	for _, p := range in.Params {
		r.Params = append(r.Params, reportParam{Name: p[0], Value: p[1]})
	}
	for _, run := range in.Runs {
		r.Runs = append(r.Runs, buildRunReport(run))
	}
	if b := in.Baseline; b != nil {
		r.Baseline = &baselineReport{
			ProxyRelay:        roundTo(b.ProxyRelay, 1000),
			PolicyProxy:       roundTo(b.PolicyProxy, 1000),
			ProxyRelayRounds:  roundAll(b.ProxyRelayRounds, 1000),
			PolicyProxyRounds: roundAll(b.PolicyProxyRounds, 1000),
		}
		if len(b.Lookups) > 0 {
			r.Baseline.APIPolicy, r.Baseline.APIPolicyRounds = roundTo(b.APIPolicy, 1000), roundAll(b.APIPolicyRounds, 1000)
		}
		for _, l := range b.Lookups {
			lr := l.Res
			r.Baseline.Lookups = append(r.Baseline.Lookups, lookupReport{Round: l.Round, Rate: lr.Rate, Sent: lr.Sent, OK: lr.OK,
				PerSecond: roundTo(lr.PerSecond(), 10), P50US: durUS(lr.P50), P99US: durUS(lr.P99), MaxUS: durUS(lr.Max), IntendedP99US: durUS(lr.IntendedP99)})
		}
	}
	return r
}

func buildRunReport(run reportRun) runReport {
	res := &run.Res
	rr := runReport{
		Name:            run.Name,
		Round:           run.Round,
		ElapsedUS:       durUS(res.Elapsed),
		Sent:            res.Sent,
		Responses:       res.Responses,
		PerSecond:       roundTo(res.PerSecond, 10),
		Unanswered:      res.Unanswered,
		Stalls:          res.Stalls,
		Latency:         latencyOf(&res.Latency),
		IntendedLatency: latencyOrNil(&res.Intended),
		ReceiptLatency:  latencyOrNil(&res.ReceiptLatency),
		ByStatus:        namedCounts(res.ByStatus),
		SentByCommand:   namedCounts(res.SentByCommand),
		ByMessage:       copyCounts(res.ByMessage),
		ByGroup:         make(map[string]groupReport, len(res.ByGroup)),
		Receipts: receiptsReport{
			Matched:   res.Receipts,
			Unmatched: res.ReceiptsUnmatched,
			Due:       res.ReceiptsDue,
			ByStat:    copyCounts(res.ReceiptStats),
		},
		MOs:          res.MOs,
		Errors:       append([]string{}, res.Errors...),
		Phases:       make([]phaseReport, 0, len(res.Phases)),
		Distribution: distribution(&res.Latency),
		Series:       make([]secondReport, 0, len(res.Series)),
	}
	for name, g := range res.ByGroup {
		if g == nil {
			continue
		}
		rr.ByGroup[name] = groupReport{Sent: g.Sent, Responses: g.Responses, Held: g.Held, Receipts: g.Receipts, ByStatus: namedCounts(g.ByStatus)}
	}
	for i := range res.Phases {
		p := &res.Phases[i]
		rr.Phases = append(rr.Phases, phaseReport{
			Name:            p.Name,
			Rate:            roundTo(p.Rate, 10),
			RateTo:          roundTo(p.RateTo, 10),
			ElapsedUS:       durUS(p.Elapsed),
			Sent:            p.Sent,
			Responses:       p.Responses,
			PerSecond:       roundTo(p.PerSecond, 10),
			Stalls:          p.Stalls,
			ByStatus:        namedCounts(p.ByStatus),
			Latency:         latencyOf(&p.Latency),
			IntendedLatency: latencyOrNil(&p.Intended),
		})
	}
	for _, s := range res.Series {
		rr.Series = append(rr.Series, secondReport{
			AtMS: s.At.Milliseconds(), Phase: s.Phase,
			Sent: s.Sent, Answered: s.Answered, NotOK: s.NotOK, Stalls: s.Stalls,
			Receipts: s.Receipts, MOs: s.MOs,
			P50US: durUS(s.P50), P99US: durUS(s.P99), MaxUS: durUS(s.Max),
		})
	}
	return rr
}

// durUS rounds a duration to whole microseconds.
func durUS(d time.Duration) int64 { return int64(d.Round(time.Microsecond) / time.Microsecond) }

// roundTo rounds v to 1/per (per 10: one decimal); NaN and ±Inf, which JSON
// cannot carry, become 0.
func roundTo(v, per float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*per) / per
}

func roundAll(v []float64, per float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = roundTo(x, per)
	}
	return out
}

func latencyOf(h *testenv.Histogram) latencyReport {
	return latencyReport{
		Count:  h.Count(),
		P50US:  durUS(h.Quantile(0.50)),
		P90US:  durUS(h.Quantile(0.90)),
		P99US:  durUS(h.Quantile(0.99)),
		P999US: durUS(h.Quantile(0.999)),
		MaxUS:  durUS(h.Max()),
		MeanUS: durUS(h.Mean()),
	}
}

// latencyOrNil is latencyOf, or nil for an empty histogram: a run without
// open-loop phases or receipts has no such latency, which is not a latency
// of 0.
func latencyOrNil(h *testenv.Histogram) *latencyReport {
	if h.Count() == 0 {
		return nil
	}
	l := latencyOf(h)
	return &l
}

// namedCounts keys counts by the String of their key (status or command
// names), which are the names SMPP users know.
func namedCounts[K interface {
	comparable
	fmt.Stringer
}](m map[K]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, n := range m {
		out[k.String()] += n
	}
	return out
}

func copyCounts(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, n := range m {
		out[k] = n
	}
	return out
}

// The distribution's bins: 1 µs wide below 10 µs, then ten a decade with
// edges rounded to whole microseconds (10, 13, 16, 20, 25, 32, 40, 50, 63,
// 79, 100, …), so that bins line up across runs and reports. Edges are
// whole microseconds because every duration in the report is.
const (
	distLinear    = 10 // bins below 10 µs
	distPerDecade = 10
	distMaxBins   = 60
)

// distEdge returns the lower edge of bin i in microseconds.
func distEdge(i int) int64 {
	if i < distLinear {
		return int64(i)
	}
	return int64(math.Round(distLinear * math.Pow(10, float64(i-distLinear)/distPerDecade)))
}

// distIndex returns the bin that a latency of ns nanoseconds falls in.
func distIndex(ns int64) int {
	us := float64(ns) / 1e3
	if us < distLinear {
		return int(max(us, 0))
	}
	i := distLinear + int(math.Floor(distPerDecade*math.Log10(us/distLinear)))
	// The edges are rounded; step to the bin whose rounded edges hold us.
	for i > distLinear && us < float64(distEdge(i)) {
		i--
	}
	for us >= float64(distEdge(i+1)) {
		i++
	}
	return i
}

// distribution merges the histogram's buckets into the fixed bins, from the
// first non-empty bin to the last (empty ones between included, so that the
// bars are contiguous); when that spans more than distMaxBins, neighbours
// are merged pairwise until it does not, to keep the JSON small.
func distribution(h *testenv.Histogram) []distBin {
	counts := map[int]uint64{}
	first, last := math.MaxInt, -1
	h.Buckets(func(lo, hi time.Duration, n uint64) {
		// A bucket counts at its midpoint, kept within [Min, Max] as
		// Quantile keeps it, so that the extremes fall where they were.
		mid := min(max(lo+(hi-lo)/2, h.Min()), h.Max())
		i := distIndex(int64(mid))
		counts[i] += n
		first, last = min(first, i), max(last, i)
	})
	bins := make([]distBin, 0, distMaxBins)
	if last < 0 {
		return bins
	}
	for i := first; i <= last; i++ {
		bins = append(bins, distBin{LoUS: distEdge(i), HiUS: distEdge(i + 1), Count: counts[i]})
	}
	for len(bins) > distMaxBins {
		merged := bins[:0:0]
		for i := 0; i < len(bins); i += 2 {
			b := bins[i]
			if i+1 < len(bins) {
				b.HiUS = bins[i+1].HiUS
				b.Count += bins[i+1].Count
			}
			merged = append(merged, b)
		}
		bins = merged
	}
	return bins
}

// writeJSON writes the report as one indented JSON object.
func (r *benchReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // names and parameters stay readable ("→", "<")
	return enc.Encode(r)
}

// csvHeader is the CSV's header row; its names are stable.
var csvHeader = []string{"run", "round", "at_s", "phase", "sent", "answered", "not_ok", "stalls", "receipts", "mos", "p50_us", "p99_us", "max_us"}

// writeCSV writes the per-second series of every run, one row per run per
// second: the part of the report that spreadsheets and plotting tools want.
func (r *benchReport) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, run := range r.Runs {
		for _, s := range run.Series {
			row := []string{
				run.Name, strconv.Itoa(run.Round),
				strconv.FormatFloat(float64(s.AtMS)/1e3, 'f', -1, 64), s.Phase,
				u(s.Sent), u(s.Answered), u(s.NotOK), u(s.Stalls), u(s.Receipts), u(s.MOs),
				i(s.P50US), i(s.P99US), i(s.MaxUS),
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// reportFormats maps the extensions writeReportFile accepts to the writer
// for each.
var reportFormats = map[string]func(*benchReport, io.Writer) error{
	".json": (*benchReport).writeJSON,
	".csv":  (*benchReport).writeCSV,
	".html": (*benchReport).writeHTML,
	".htm":  (*benchReport).writeHTML,
}

// checkReportPath returns the error writeReportFile would give for path's
// extension, so that bench can refuse a bad -report before the load runs
// rather than after minutes of it.
func checkReportPath(path string) error {
	if _, ok := reportFormats[strings.ToLower(filepath.Ext(path))]; !ok {
		return fmt.Errorf("report %s: the file name must end in .json, .csv, .html or .htm", path)
	}
	return nil
}

// writeReportFile writes r to path in the format its extension names. It
// writes a temporary file in the same directory and renames it over path,
// so that a reader (or a browser reloading the page) never sees half a
// report, and an interrupted write leaves the previous report in place.
func writeReportFile(path string, r *benchReport) error {
	if err := checkReportPath(path); err != nil {
		return err
	}
	write := reportFormats[strings.ToLower(filepath.Ext(path))]
	// A report is meant to be shared: readable by all.
	if err := writeFileAtomic(path, 0o644, func(w io.Writer) error { return write(r, w) }); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// currentMachine describes this machine for the report: figures from
// different machines are not comparable, so each report names its own.
func currentMachine() machineInfo {
	m := machineInfo{
		CPU:        runtime.GOARCH,
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if model := cpuModel(f); model != "" {
			m.CPU = model
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		m.MemoryBytes = memTotal(f)
		f.Close()
	}
	return m
}

// cpuModel returns the first "model name" of a /proc/cpuinfo ("" when none).
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotal returns MemTotal of a /proc/meminfo in bytes (0 when none).
func memTotal(r io.Reader) uint64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0
			}
			if len(f) >= 3 && f[2] != "kB" {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// reportLoadParams describes a load configuration as report parameters, in
// the order a reader looks for them.
func reportLoadParams(cfg testenv.LoadConfig) [][2]string {
	p := [][2]string{
		{"binds", strconv.Itoa(cfg.Binds)},
		{"window", strconv.Itoa(cfg.Window)},
		{"warmup", cfg.Warmup.String()},
	}
	if len(cfg.Phases) > 0 {
		p = append(p, [2]string{"phases", reportPhases(cfg.Phases)})
	} else {
		rate := "unlimited"
		if cfg.Rate > 0 {
			rate = strconv.Itoa(cfg.Rate) + "/s"
		}
		p = append(p, [2]string{"duration", cfg.Duration.String()}, [2]string{"rate", rate})
	}
	if len(cfg.Mix) > 0 {
		var parts []string
		for _, m := range cfg.Mix {
			name := m.Name
			if name == "" {
				kind := m.Kind
				if kind == 0 {
					kind = pdu.SubmitSM
				}
				name = kind.String()
			}
			parts = append(parts, fmt.Sprintf("%s %s%%", name, strconv.FormatFloat(100*m.Share, 'f', -1, 64)))
		}
		p = append(p, [2]string{"mix", strings.Join(parts, "; ")})
	}
	if h := cfg.Handsets; h != nil {
		order := "in turn"
		if h.Random {
			order = "random"
		}
		p = append(p, [2]string{"handsets", fmt.Sprintf("%d from %d, %s", h.Count, h.First, order)})
	} else {
		p = append(p, [2]string{"vary_dest", strconv.FormatBool(cfg.VaryDest)})
	}
	if cfg.ReceiptShare > 0 {
		p = append(p, [2]string{"receipt_share", strconv.FormatFloat(cfg.ReceiptShare, 'f', -1, 64)})
	}
	if cfg.SystemID != "" {
		p = append(p, [2]string{"system_id", cfg.SystemID})
	}
	return p
}

// reportPhases writes phases as "ramp 1000→5000/s 10s; steady 30s" (a phase
// without a rate runs as fast as the windows allow).
func reportPhases(phases []testenv.LoadPhase) string {
	parts := make([]string, len(phases))
	for i, ph := range phases {
		name := ph.Name
		if name == "" {
			name = fmt.Sprintf("phase %d", i+1)
		}
		g := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		switch {
		case ph.RateTo > 0:
			parts[i] = fmt.Sprintf("%s %s→%s/s %s", name, g(ph.Rate), g(ph.RateTo), ph.Duration)
		case ph.Rate > 0:
			parts[i] = fmt.Sprintf("%s %s/s %s", name, g(ph.Rate), ph.Duration)
		default:
			parts[i] = fmt.Sprintf("%s %s", name, ph.Duration)
		}
	}
	return strings.Join(parts, "; ")
}

// commandLine is a run's command as the report shows it: the program by
// its name, not the path it ran from (go run builds it in a temporary
// directory).
func commandLine(args []string) []string {
	out := append([]string{}, args...)
	if len(out) > 0 {
		out[0] = filepath.Base(out[0])
	}
	return out
}
