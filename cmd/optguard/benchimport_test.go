//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
)

// TestBenchImport runs `optguard bench -import` as a process (it starts
// optguard serve from its own executable): every generated row is imported
// through the API, and the seconds and the child's memory are printed.
func TestBenchImport(t *testing.T) {
	bin := buildOptguard(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "-import", "3000", "-quiet")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	o := string(out)
	if err != nil {
		t.Fatalf("bench -import: %v\n%s", err, o)
	}
	for _, re := range []string{
		`optguard bench -import 3000: a consent list of 3000 rows \(0 MiB of CSV`,
		`(?m)^machine: \d+ CPUs`,
		`(?m)^upload and spool .*: \d+\.\d s$`,
		`(?m)^total, first byte uploaded to the job done: \d+\.\d s \(\d+ rows/s\)$`,
		`(?m)^rows 3000: changed 3000, unchanged 0, kept 0, bad 0; ledger seq 1–3000$`,
		`(?m)^resident set of optguard serve: peak [1-9]\d* MiB \(VmHWM`,
		`(?m)^of which anonymous .*: peak [1-9]\d* MiB`,
		`(?m)^data directory: \d+ MiB on disk`,
	} {
		if !regexp.MustCompile(re).MatchString(o) {
			t.Errorf("output does not match %s:\n%s", re, o)
		}
	}
}

// TestImportListStreams: the generated list reads the same whatever the
// reader's buffer, and is a consent list the API takes: a header, then one
// row per distinct number with a consent type and a date not after the
// cutoff.
func TestImportListStreams(t *testing.T) {
	cutoff := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	all, err := io.ReadAll(newImportList(400, cutoff))
	if err != nil {
		t.Fatal(err)
	}
	var small []byte
	l := newImportList(400, cutoff)
	buf := make([]byte, 7) // shorter than a row
	for {
		n, err := l.Read(buf)
		small = append(small, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(all, small) {
		t.Fatalf("7-byte reads differ from one large read")
	}
	recs, err := csv.NewReader(bytes.NewReader(all)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 401 || !slices.Equal(recs[0], []string{"number", "organization", "consent_type", "date"}) {
		t.Fatalf("%d records, header %q", len(recs), recs[0])
	}
	seen := map[string]bool{}
	for i, r := range recs[1:] {
		d, err := time.Parse(time.DateOnly, r[3])
		if seen[r[0]] || r[0] != "+1555"+string(appendPadded(nil, i, 7)) || r[1] != importOrg || !slices.Contains(policy.ConsentTypes, policy.ConsentType(r[2])) || err != nil || d.After(cutoff) {
			t.Fatalf("row %d: %q", i+1, r)
		}
		seen[r[0]] = true
	}
}

// TestReadProcMemory reads this process's resident set: the parts add up
// to at most the whole, and the peak is at least the current.
func TestReadProcMemory(t *testing.T) {
	m, err := readProcMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.rss <= 0 || m.hwm < m.rss || m.anon <= 0 || m.anon+m.file > m.rss {
		t.Errorf("%+v", m)
	}
	if _, err := readProcMemory(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
