package main

// Long transfers of the API commands: files written whole or not at all,
// and the progress of uploads, downloads and import jobs on a terminal.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/optguard/optguard/policy/exports"
)

// writeFileAtomic writes path through write with exports.WriteAtomic (a
// temporary file in the same directory, synced, renamed over path), so
// that a reader never sees half a file and a failed or interrupted write
// leaves what was there before; then gives it perm.
func writeFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	written, err := exports.WriteAtomic(filepath.Dir(path), filepath.Base(path), write)
	if err != nil {
		return err
	}
	return os.Chmod(written, perm)
}

// meter shows the progress of a transfer on a terminal, redrawn at most
// five times a second; elsewhere (a pipe, a log) it shows nothing, so
// that scripts get clean output.
type meter struct {
	mu     sync.Mutex
	w      io.Writer
	on     bool
	label  string
	total  int64 // bytes expected, 0 when unknown
	bytes  int64
	lines  int64
	last   time.Time
	drawn  bool
	status string // shown instead of the byte count when set (import jobs)
}

func newMeter(w io.Writer, label string, total int64) *meter {
	return &meter{w: w, on: isTerminal(w), label: label, total: total}
}

// add counts p, written or read.
func (m *meter) add(p []byte) {
	if !m.on {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bytes += int64(len(p))
	m.lines += int64(bytes.Count(p, []byte{'\n'}))
	m.drawLocked(false)
}

// set shows a job's progress: done of total rows.
func (m *meter) set(done, total int64, status string) {
	if !m.on {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status = fmt.Sprintf("%s %s", bar(done, total), status)
	m.drawLocked(false)
}

func (m *meter) drawLocked(force bool) {
	now := time.Now()
	if !force && now.Sub(m.last) < 200*time.Millisecond {
		return
	}
	m.last = now
	line := m.status
	if line == "" {
		line = fmt.Sprintf("%s  %d lines", mib(m.bytes), m.lines)
		if m.total > 0 {
			line = bar(m.bytes, m.total) + "  " + line
		}
	}
	fmt.Fprintf(m.w, "\r%s %s\x1b[K", m.label, line)
	m.drawn = true
}

// done draws the final state and ends the line.
func (m *meter) done() {
	if !m.on {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drawLocked(true)
	fmt.Fprintln(m.w)
}

// bar is a 30-character progress bar with the percentage.
func bar(done, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("%d", done)
	}
	done = min(done, total)
	n := int(30 * done / total)
	b := bytes.Repeat([]byte{'#'}, n)
	b = append(b, bytes.Repeat([]byte{'.'}, 30-n)...)
	return fmt.Sprintf("[%s] %3d%% %d/%d", b, 100*done/total, done, total)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// meterReader counts what is read through it.
type meterReader struct {
	r io.Reader
	m *meter
}

func (r meterReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.m.add(p[:n])
	return n, err
}

// meterWriter counts what is written through it.
type meterWriter struct {
	w io.Writer
	m *meter
}

func (w meterWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.m.add(p[:n])
	return n, err
}

// download streams GET path to outFile (atomically) or, when it is "", to
// stdout, with its progress on a terminal.
func (c *apiCommand) download(path string, q url.Values, outFile, label string) int {
	cl, err := c.api.client()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := c.api.context()
	defer cancel()
	m := newMeter(c.stderr, label, 0)
	copyBody := func(w io.Writer) error {
		resp, err := cl.do(ctx, "GET", path, q, nil, "")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(meterWriter{w, m}, resp.Body)
		return err
	}
	if outFile == "" {
		err = copyBody(c.stdout)
	} else {
		// What the API gives is personal data: owner and group only.
		err = writeFileAtomic(outFile, 0o640, copyBody)
	}
	m.done()
	if err != nil {
		return c.fail(err)
	}
	return 0
}

// jsonLine is v as one line of JSON lines.
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(b, '\n'), err
}

// pollJob reads the import job at path every interval until it is no
// longer running, showing its rows done/total, and returns its last state.
func pollJob(ctx context.Context, cl *apiClient, path string, m *meter, interval time.Duration) (object, error) {
	for {
		var job object
		if err := cl.call(ctx, "GET", path, nil, nil, &job); err != nil {
			return nil, err
		}
		done, _ := job["rows_done"].(float64)
		total, _ := job["rows_total"].(float64)
		status, _ := job["status"].(string)
		m.set(int64(done), int64(total), "rows "+status)
		if status != "running" {
			return job, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w; the import goes on in optguard: see GET %s", ctx.Err(), path)
		case <-time.After(interval):
		}
	}
}
