package main

// bench -import: a consent list of N rows through the operator API of
// optguard serve running as a child process, so that the resident set read
// from /proc is optguard's own and not the generator's. The list is
// generated while it is uploaded (never held in memory), the job's progress
// is followed as an operator would follow it, and the figures are the
// seconds from the first byte uploaded to the job's end and the child's
// peak resident set (VmHWM).

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/testenv"
)

// importFlags are the parameters of `optguard bench -import`.
type importFlags struct {
	rows int
}

func (i *importFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&i.rows, "import", 0, "consent import: start optguard serve as a child process, upload a generated consent list of `N` rows (streamed, never held in memory) to its POST /api/v1/imports, follow the job's progress and report the seconds and the child's peak resident set (VmHWM); with -cpuprofile-dir, CPU profiles of the child during the import and its heap at the end")
}

const (
	// maxImportRows: the generated numbers are +1555 and seven digits.
	maxImportRows = 10_000_000
	// importOrg is the organization of every generated row.
	importOrg = config.DefaultOrganization
	// importPoll is how often the job's progress is read.
	importPoll = 500 * time.Millisecond
	// importProfileSlice is the length of each CPU profile of the child:
	// /debug/pprof/profile profiles for a set time, so the import is
	// covered by consecutive slices (go tool pprof merges them).
	importProfileSlice = 5 * time.Second
)

// importList is a consent list of n rows as CSV, generated as it is read:
// row i is +1555 and i in seven digits, in organization importOrg, with
// one of the consent types and a consent date up to a year before cutoff.
type importList struct {
	n, next int // rows; the next one to write (0: the header)
	cutoff  time.Time
	buf     []byte // the part of the current row not read yet
}

func newImportList(n int, cutoff time.Time) *importList {
	return &importList{n: n, cutoff: cutoff}
}

func (l *importList) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) == 0 {
			if l.next > l.n {
				break
			}
			l.buf = l.row(l.buf[:0], l.next)
			l.next++
		}
		k := copy(p[n:], l.buf)
		n += k
		l.buf = l.buf[k:]
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// row appends row i (0: the header) to b.
func (l *importList) row(b []byte, i int) []byte {
	if i == 0 {
		return append(b, "number,organization,consent_type,date\n"...)
	}
	b = append(b, "+1555"...)
	b = appendPadded(b, i-1, 7)
	b = append(b, ',')
	b = append(b, importOrg...)
	b = append(b, ',')
	b = append(b, policy.ConsentTypes[i%len(policy.ConsentTypes)]...)
	b = append(b, ',')
	b = l.cutoff.AddDate(0, 0, -(i%365)).AppendFormat(b, time.DateOnly)
	return append(b, '\n')
}

// appendPadded appends v in at least width digits, zero-padded.
func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// importJobView is what GET /api/v1/imports/{id} answers.
type importJobView struct {
	ID        string               `json:"id"`
	Status    string               `json:"status"`
	RowsTotal int                  `json:"rows_total"`
	RowsDone  int                  `json:"rows_done"`
	Report    *policy.ImportReport `json:"report"`
	Error     string               `json:"error"`
}

// benchImport runs the import and prints its figures.
func benchImport(ctx context.Context, f benchFlags, w, progressTo io.Writer) error {
	n := f.imp.rows
	if n < 1 || n > maxImportRows {
		return fmt.Errorf("-import %d: give 1 to %d rows", n, maxImportRows)
	}
	if _, err := readProcMemory(os.Getpid()); err != nil {
		return fmt.Errorf("-import measures the child's resident set: %w", err)
	}
	// The cutoff is today: the import's events occur at its midnight (UTC).
	cutoff := time.Now().UTC().Truncate(24 * time.Hour)
	size, err := io.Copy(io.Discard, newImportList(n, cutoff))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "optguard-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The child's binds would go to this simulator; the import needs none,
	// but a configured upstream keeps its built-in one from starting.
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		return err
	}
	defer sim.Close()
	token := makeToken()
	cfgPath := filepath.Join(dir, "optguard.yaml")
	if err := os.WriteFile(cfgPath, importConfig(dir, sim.Addr(), token, size), 0o600); err != nil {
		return err
	}
	child, err := startServeChild(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer child.stop()
	api := newBenchClient("http://"+child.admin, token, 2)
	before, _ := readProcMemory(child.pid())

	fmt.Fprintf(w, "optguard bench -import %d: a consent list of %d rows (%s of CSV, generated while it is uploaded) to POST /api/v1/imports of optguard serve (child process %d, consent mode, admin listener %s, store in %s)\n",
		n, n, fmtMiB(size), child.pid(), child.admin, dir)
	fmt.Fprintf(w, "machine: %d CPUs, %s %s/%s, load average %s\n\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())

	stopProfiles := func() error { return nil }
	if f.profDir != "" {
		stopProfiles = profileSlices(ctx, api, f.profDir, "import")
		defer stopProfiles()
	}
	started := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", api.base+"/api/v1/imports?cutoff="+cutoff.Format(time.DateOnly), newImportList(n, cutoff))
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/csv")
	var job importJobView
	if err := api.do(req, http.StatusAccepted, &job); err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	uploaded := time.Now()

	prog := newProgress(progressTo, "import", 0)
	var mem procMemory
	var peakAnon int64 // sampled at each poll: the kernel keeps no peak of it
	// Ctrl-C: what was measured is still printed.
	interrupted := func() error {
		prog.done()
		fmt.Fprintf(w, "interrupted after %s: %d of %d rows imported; resident set of optguard serve: peak %s (VmHWM), anonymous peak %s (sampled)\n",
			fmtSeconds(time.Since(started)), job.RowsDone, job.RowsTotal, fmtMiB(mem.hwm), fmtMiB(peakAnon))
		stopProfiles() // cut short with the run
		return nil
	}
	for job.Status == "running" {
		select {
		case <-ctx.Done():
			return interrupted()
		case <-time.After(importPoll):
		}
		if err := api.get(ctx, "/api/v1/imports/"+job.ID, &job); err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			prog.done()
			return fmt.Errorf("following the import: %w", err)
		}
		mem, _ = readProcMemory(child.pid())
		peakAnon = max(peakAnon, mem.anon)
		if !f.quiet {
			el := time.Since(started)
			prog.show(fmt.Sprintf("import %5.1fs  rows %d/%d  %.0f rows/s  RSS %s (anonymous %s, files %s; peak %s)",
				el.Seconds(), job.RowsDone, job.RowsTotal, float64(job.RowsDone)/time.Since(uploaded).Seconds(),
				fmtMiB(mem.rss), fmtMiB(mem.anon), fmtMiB(mem.file), fmtMiB(mem.hwm)))
		}
	}
	ended := time.Now()
	prog.done()
	profErr := stopProfiles()
	if f.profDir != "" && profErr == nil {
		profErr = api.fetch(ctx, "/debug/pprof/heap", filepath.Join(f.profDir, "import-heap.prof"))
	}
	after, _ := readProcMemory(child.pid())
	peakAnon = max(peakAnon, after.anon)
	if job.Status != "done" || job.Report == nil {
		return fmt.Errorf("the import %s: %s", job.Status, job.Error)
	}
	rep := job.Report
	total := ended.Sub(started)
	fmt.Fprintf(w, "upload and spool (the rows counted for progress): %s\n", fmtSeconds(uploaded.Sub(started)))
	fmt.Fprintf(w, "import after the upload: %s (%.0f rows/s)\n", fmtSeconds(ended.Sub(uploaded)), float64(rep.Rows)/ended.Sub(uploaded).Seconds())
	fmt.Fprintf(w, "total, first byte uploaded to the job done: %s (%.0f rows/s)\n", fmtSeconds(total), float64(rep.Rows)/total.Seconds())
	fmt.Fprintf(w, "rows %d: changed %d, unchanged %d, kept %d, bad %d; ledger seq %d–%d\n", rep.Rows, rep.Changed, rep.Unchanged, rep.Kept, rep.Bad, rep.FirstSeq, rep.LastSeq)
	fmt.Fprintf(w, "resident set of optguard serve: peak %s (VmHWM, the whole life of the process), %s before the upload, %s at the end\n", fmtMiB(after.hwm), fmtMiB(before.rss), fmtMiB(after.rss))
	fmt.Fprintf(w, "of which anonymous (the Go heap, stacks; RssAnon): peak %s (sampled every %s), %s at the end; mapped files (badger's tables and logs; RssFile): %s at the end\n",
		fmtMiB(peakAnon), importPoll, fmtMiB(after.anon), fmtMiB(after.file))
	if size, err := diskUsage(filepath.Join(dir, "data")); err == nil {
		fmt.Fprintf(w, "data directory: %s on disk (allocated blocks; badger preallocates its logs sparsely)\n", fmtMiB(size))
	}
	if f.profDir != "" {
		fmt.Fprintf(w, "CPU profiles of optguard serve: %s (go tool pprof merges them); its heap when the job ended: %s\n",
			filepath.Join(f.profDir, "import-[0-9]*.prof"), filepath.Join(f.profDir, "import-heap.prof"))
	}
	if rep.Rows != n || rep.Changed != n {
		return fmt.Errorf("the import read %d rows and changed %d, not %d", rep.Rows, rep.Changed, n)
	}
	return profErr
}

// importConfig is optguard serve's configuration for -import: loopback
// listeners on any free port (few binds: none are made), the SMSC at
// upstream, the store in dir, an admin token, and uploads of size bytes
// allowed.
func importConfig(dir, upstream, token string, size int64) []byte {
	upload := max(int64(config.Default().Admin.MaxUploadBytes), size+1<<20)
	return fmt.Appendf(nil, `listen:
  address: "127.0.0.1:0"
  max_connections: 100
upstream:
  default:
    address: %q
admin:
  address: "127.0.0.1:0"
  max_upload_bytes: %d
  tokens:
    - name: bench-import
      role: admin
      sha256: %s
data:
  dir: %q
log:
  format: json
`, upstream, upload, config.TokenHash(token), filepath.Join(dir, "data"))
}

// serveChild is optguard serve running as a child process.
type serveChild struct {
	cmd   *exec.Cmd
	admin string        // the admin listener's address
	ended chan struct{} // closed when the process has exited
}

// startServeChild runs this executable's serve with the configuration at
// path and waits until its log says the operator API is mounted, taking
// the admin listener's address from the line before (the listener serves
// from the start, the API only once mounted).
func startServeChild(ctx context.Context, path string) (*serveChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this executable: %w", err)
	}
	cmd := exec.Command(exe, "serve", "-config", path, "-mode", string(config.ModeConsent))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting optguard serve: %w", err)
	}
	c := &serveChild{cmd: cmd, ended: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		admin := ""
		for sc.Scan() {
			var line struct{ Level, Message, Address, Error string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch {
			case strings.HasPrefix(line.Message, "admin ") && line.Address != "":
				admin = line.Address
			case strings.HasPrefix(line.Message, "operator API on the admin listener"):
				addr <- admin
			case line.Level == "error" || line.Level == "warn":
				fmt.Fprintf(os.Stderr, "optguard serve: %s %s %s\n", line.Level, line.Message, line.Error)
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(c.ended)
	}()
	select {
	case c.admin = <-addr:
		return c, nil
	case <-c.ended:
		return nil, fmt.Errorf("optguard serve exited before listening: %s", cmd.ProcessState)
	case <-time.After(time.Minute):
	case <-ctx.Done():
	}
	c.stop()
	return nil, fmt.Errorf("optguard serve did not start its admin listener")
}

func (c *serveChild) pid() int { return c.cmd.Process.Pid }

// stop ends the child with SIGTERM, and SIGKILL if it is still running
// half a minute later.
func (c *serveChild) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.ended:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.ended
	}
}

// procMemory is a process's resident set from /proc/PID/status, bytes.
type procMemory struct {
	rss, hwm   int64 // VmRSS, and its peak VmHWM
	anon, file int64 // RssAnon and RssFile, the parts of VmRSS
}

func readProcMemory(pid int) (procMemory, error) {
	var m procMemory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, fmt.Errorf("reading /proc (Linux only): %w", err)
	}
	fields := map[string]*int64{"VmRSS:": &m.rss, "VmHWM:": &m.hwm, "RssAnon:": &m.anon, "RssFile:": &m.file}
	found := 0
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc/%d/status: %s %w", pid, f[0], err)
		}
		*fields[f[0]] = kb << 10
		found++
	}
	if found != len(fields) {
		return m, fmt.Errorf("/proc/%d/status lacks VmRSS, VmHWM, RssAnon or RssFile", pid)
	}
	return m, nil
}

// profileSlices fetches consecutive CPU profiles of importProfileSlice from
// the admin listener's /debug/pprof/profile into dir/name-N.prof until the
// returned func is called; that func waits for the slice in progress, and
// later calls return what the first did.
func profileSlices(ctx context.Context, api *benchClient, dir, name string) func() error {
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			err := api.profile(ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.prof", name, i)), importProfileSlice)
			select {
			case <-stop:
				done <- err
				return
			default:
			}
			if err != nil {
				<-stop
				done <- err
				return
			}
		}
	}()
	return sync.OnceValue(func() error {
		close(stop)
		return <-done
	})
}

// diskUsage is the disk space the files under dir take.
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += allocatedSize(info)
		}
		return err
	})
	return n, err
}

func fmtMiB(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
