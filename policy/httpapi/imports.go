package httpapi

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/optguard/optguard/policy"
)

// Imports run as jobs: the upload is spooled to a temporary file (and its
// rows counted, so that progress has a total), then imported in the
// background while GET /api/v1/imports/{id} shows rows done of total. What
// each job is and did is kept in the store as well (importjobs.go).

// importColumns are the columns a consent list may have, in any order;
// number is required, organization too unless the request names one.
var importColumns = []string{"number", "organization", "sender", "state", "consent_type", "date"}

// startImport takes a CSV upload and starts its job: 202 with the job, or
// with ?wait=true 200 with the job once it has finished.
func (a *API) startImport(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	q := query{r: r}
	cutoff := q.time("cutoff")
	dry := q.str("dry_run")
	wait := q.str("wait")
	defOrg := q.str("organization")
	err := q.err
	if err == nil && cutoff.IsZero() {
		err = badRequest("cutoff", "is required: the date the list is true as of (YYYY-MM-DD)")
	}
	if err == nil && cutoff.After(a.now()) {
		err = badRequest("cutoff", "is in the future")
	}
	for _, b := range []struct{ name, v string }{{"dry_run", dry}, {"wait", wait}} {
		if err == nil && b.v != "" && b.v != "true" && b.v != "false" {
			err = badRequest(b.name, "must be true or false")
		}
	}
	if err == nil && defOrg != "" {
		_, err = c.org(defOrg)
	}
	if err == nil {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, perr := mime.ParseMediaType(ct); perr != nil || (mt != "text/csv" && mt != "application/octet-stream") {
				err = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "the body must be the CSV file itself (Content-Type: text/csv), got " + ct}
			}
		}
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	spool, rows, header, err := a.spool(w, r)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	job := &importJob{ID: newID(), Status: "running", DryRun: dry == "true", Cutoff: cutoff.Format(time.DateOnly), By: c.Name,
		RowsTotal: rows, StartedAt: a.now(), finished: make(chan struct{})}
	a.jobs.add(job)
	a.saveJob(job)
	a.jobs.wg.Add(1)
	go a.runImport(job, c, spool, header, defOrg, cutoff)
	if wait == "true" {
		select {
		case <-job.finished:
			writeJSON(w, http.StatusOK, a.jobs.view(job))
			return
		case <-r.Context().Done():
			return // the job goes on; the client can look it up
		}
	}
	w.Header().Set("Location", "/api/v1/imports/"+job.ID)
	writeJSON(w, http.StatusAccepted, a.jobs.view(job))
}

// spool copies the upload to a temporary file, checking its header and
// counting its rows.
func (a *API) spool(w http.ResponseWriter, r *http.Request) (*os.File, int, map[string]int, error) {
	f, err := os.CreateTemp("", "optguard-import-*.csv")
	if err != nil {
		return nil, 0, nil, err
	}
	os.Remove(f.Name()) // unlinked at once: it goes when closed, whatever happens
	body := http.MaxBytesReader(w, r.Body, a.max.upload)
	cr := newCSVReader(io.TeeReader(body, f))
	fail := func(err error) (*os.File, int, map[string]int, error) {
		f.Close()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, 0, nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "upload_too_large",
				Message: fmt.Sprintf("the file is larger than the %d bytes this API takes (admin.max_upload_bytes); split it", tooBig.Limit)}
		}
		return nil, 0, nil, err
	}
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fail(&Error{Status: http.StatusBadRequest, Code: "invalid_csv", Message: "the file is empty: it needs a header row (" + strings.Join(importColumns, ",") + ")"})
	}
	if err != nil {
		return fail(&Error{Status: http.StatusBadRequest, Code: "invalid_csv", Message: "the header row cannot be read: " + err.Error()})
	}
	header, herr := importHeader(head)
	if herr != nil {
		return fail(herr)
	}
	rows := 0
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return fail(err)
		}
		rows++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return f, rows, header, nil
}

func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	return cr
}

// importHeader maps column names to their index.
func importHeader(head []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, name := range head {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if !slices.Contains(importColumns, name) {
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_csv",
				Message: fmt.Sprintf("column %d of the header is %q; the columns are %s", i+1, name, strings.Join(importColumns, ", "))}
		}
		if _, dup := cols[name]; dup {
			return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_csv", Message: "the header has column " + name + " twice"}
		}
		cols[name] = i
	}
	if _, ok := cols["number"]; !ok {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_csv", Message: "the header has no number column"}
	}
	return cols, nil
}

// runImport imports the spooled file.
func (a *API) runImport(job *importJob, c *caller, f *os.File, cols map[string]int, defOrg string, cutoff time.Time) {
	defer a.jobs.wg.Done()
	defer f.Close()
	cr := newCSVReader(f)
	cr.Read() // the header, checked by spool
	cell := func(rec []string, name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	next := func() (policy.ImportRow, error) {
		rec, err := cr.Read()
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return policy.ImportRow{Line: pe.StartLine, Problem: "the row cannot be read as CSV: " + pe.Err.Error()}, nil
		}
		if err != nil {
			return policy.ImportRow{}, err
		}
		line, _ := cr.FieldPos(0)
		row := policy.ImportRow{Line: line, Org: cell(rec, "organization"), Sender: cell(rec, "sender"), Number: cell(rec, "number"),
			State: cell(rec, "state"), ConsentType: cell(rec, "consent_type"), Date: cell(rec, "date")}
		if row.Org == "" {
			row.Org = defOrg
		}
		if row.Org == "" && len(c.Organizations) == 1 {
			row.Org = c.Organizations[0]
		}
		return row, nil
	}
	saved := a.now()
	rep, err := a.pol.Import(a.ctx, next, policy.ImportOptions{Cutoff: cutoff, DryRun: job.DryRun, Actor: c.Name, Sees: c.sees,
		Progress: func(done int) {
			job.done.Store(int64(done))
			if now := a.now(); now.Sub(saved) >= jobSaveEvery {
				saved = now
				a.saveJob(job)
			}
		}})
	end := a.now()
	a.jobs.mu.Lock()
	job.Report, job.EndedAt, job.Status = &rep, &end, "done"
	if err != nil {
		job.Status, job.Error = "failed", words(err)+"; what was imported before stays, and running the file again completes it"
	}
	job.done.Store(int64(rep.Rows))
	a.jobs.mu.Unlock()
	a.saveJob(job)
	close(job.finished)
	a.log.Info().Str("import", job.ID).Str("by", c.Name).Bool("dry_run", job.DryRun).Int("rows", rep.Rows).Int("changed", rep.Changed).
		Int("kept", rep.Kept).Int("bad", rep.Bad).Err(err).Msg("consent import finished")
}

// Close stops running imports between batches and waits for them.
func (a *API) Close() {
	a.cancel()
	a.jobs.wg.Wait()
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
