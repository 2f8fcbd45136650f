package httpapi

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/store"
)

// Import jobs are kept twice. In memory, the running and recent jobs with
// their whole report (the lines name numbers). In the store, every job's
// record without a line (store.ImportJob: who, when, the cutoff, the
// counts), written when it starts, every few seconds while it runs and
// when it ends, so that the list of imports outlives a restart. A job
// found running in the store at start was cut short by the stop: it is
// marked interrupted, and running the file again completes it.

// maxJobs is how many finished jobs memory keeps with their lines.
const maxJobs = 50

// jobSaveEvery is how often a running job's progress is saved.
const jobSaveEvery = 5 * time.Second

type importJob struct {
	ID        string               `json:"id"`
	Status    string               `json:"status"` // running, done, failed, interrupted
	DryRun    bool                 `json:"dry_run"`
	Cutoff    string               `json:"cutoff"`
	By        string               `json:"by"`
	RowsTotal int                  `json:"rows_total"`
	RowsDone  int                  `json:"rows_done"`
	StartedAt time.Time            `json:"started_at"`
	EndedAt   *time.Time           `json:"finished_at,omitempty"`
	Report    *policy.ImportReport `json:"report,omitempty"`
	Error     string               `json:"error,omitempty"`
	// Restored says the job is from before optguard last started: its
	// report has the counts, not the lines.
	Restored bool `json:"restored,omitempty"`

	done     atomic.Int64
	finished chan struct{}
}

// jobs keeps the running and recent import jobs.
type jobs struct {
	mu   sync.Mutex
	list []*importJob // oldest first
	wg   sync.WaitGroup
}

func (j *jobs) add(job *importJob) {
	j.mu.Lock()
	defer j.mu.Unlock()
	// Forget the oldest finished jobs beyond maxJobs (the store keeps
	// their records).
	for len(j.list) >= maxJobs {
		i := slices.IndexFunc(j.list, func(x *importJob) bool { return x.Status != "running" })
		if i < 0 {
			break
		}
		j.list = slices.Delete(j.list, i, i+1)
	}
	j.list = append(j.list, job)
}

// view is a copy of job to answer with, safe to encode while it runs.
func (j *jobs) view(job *importJob) *importJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := &importJob{ID: job.ID, Status: job.Status, DryRun: job.DryRun, Cutoff: job.Cutoff, By: job.By, RowsTotal: job.RowsTotal,
		StartedAt: job.StartedAt, EndedAt: job.EndedAt, Report: job.Report, Error: job.Error}
	v.RowsDone = int(job.done.Load())
	return v
}

func (j *jobs) find(id string) *importJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, job := range j.list {
		if job.ID == id {
			return job
		}
	}
	return nil
}

// record is job as the store keeps it.
func (j *jobs) record(job *importJob) store.ImportJob {
	v := j.view(job)
	r := store.ImportJob{ID: v.ID, Status: v.Status, DryRun: v.DryRun, Cutoff: v.Cutoff, By: v.By, RowsTotal: v.RowsTotal,
		RowsDone: v.RowsDone, StartedAt: v.StartedAt, Error: v.Error}
	if v.EndedAt != nil {
		r.EndedAt = *v.EndedAt
	}
	if rep := v.Report; rep != nil {
		r.Rows, r.Changed, r.Unchanged, r.Kept, r.Bad = rep.Rows, rep.Changed, rep.Unchanged, rep.Kept, rep.Bad
		r.HeldReleased, r.HeldDropped, r.FirstSeq, r.LastSeq = rep.HeldReleased, rep.HeldDropped, rep.FirstSeq, rep.LastSeq
	}
	return r
}

// restoredJob is a job the store kept from before this start.
func restoredJob(r store.ImportJob) *importJob {
	v := &importJob{ID: r.ID, Status: r.Status, DryRun: r.DryRun, Cutoff: r.Cutoff, By: r.By, RowsTotal: r.RowsTotal,
		RowsDone: r.RowsDone, StartedAt: r.StartedAt, Error: r.Error, Restored: true}
	if !r.EndedAt.IsZero() {
		v.EndedAt = &r.EndedAt
	}
	if r.Status != "running" && r.Status != "interrupted" {
		v.Report = &policy.ImportReport{DryRun: r.DryRun, Rows: r.Rows, Changed: r.Changed, Unchanged: r.Unchanged, Kept: r.Kept, Bad: r.Bad,
			Lines: []policy.ImportLine{}, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, HeldReleased: r.HeldReleased, HeldDropped: r.HeldDropped}
	}
	return v
}

// saveJob writes job's record to the store. A store that refuses costs
// the record, not the import: it is logged.
func (a *API) saveJob(job *importJob) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.st.SaveImportJob(ctx, a.jobs.record(job)); err != nil {
		a.log.Warn().Err(err).Str("import", job.ID).Msg("recording the import job in the store; it is listed only until optguard restarts")
	}
}

// interruptImports marks the jobs the store has as running, which the
// last stop cut short, interrupted.
func (a *API) interruptImports() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := a.st.ImportJobs(ctx)
	if err != nil {
		a.log.Warn().Err(err).Msg("reading the import jobs kept in the store; the earlier ones are not listed")
		return
	}
	for _, r := range list {
		if r.Status != "running" {
			continue
		}
		r.Status = "interrupted"
		r.Error = "optguard stopped while it ran: what it imported before stays, and running the file again completes it"
		if err := a.st.SaveImportJob(ctx, r); err != nil {
			a.log.Warn().Err(err).Str("import", r.ID).Msg("marking an import that a stop cut short as interrupted")
			continue
		}
		a.log.Warn().Str("import", r.ID).Str("by", r.By).Int("rows_done", r.RowsDone).Int("rows_total", r.RowsTotal).
			Msg("an import was cut short by optguard's last stop; run its file again to complete it")
	}
}

func (a *API) getImport(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	id := r.PathValue("id")
	var v *importJob
	if job := a.jobs.find(id); job != nil {
		v = a.jobs.view(job)
	} else if rec, ok, err := a.st.GetImportJob(r.Context(), id); err != nil {
		writeError(w, r, a.log, err)
		return
	} else if ok {
		v = restoredJob(rec)
	}
	if v == nil || (v.By != c.Name && len(c.Organizations) > 0) {
		writeError(w, r, a.log, notFound("no import "+id))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listImports lists the jobs with their reports' counts, newest first:
// the store's records, each
// replaced by the job in memory where there is one (with its progress
// now), and any job memory has that the store could not record.
func (a *API) listImports(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	stored, err := a.st.ImportJobs(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	a.jobs.mu.Lock()
	live := slices.Clone(a.jobs.list)
	a.jobs.mu.Unlock()
	byID := map[string]*importJob{}
	var all []*importJob
	for _, job := range live {
		v := a.jobs.view(job)
		byID[v.ID] = v
		all = append(all, v)
	}
	for _, rec := range stored {
		if byID[rec.ID] == nil {
			all = append(all, restoredJob(rec))
		}
	}
	slices.SortStableFunc(all, func(x, y *importJob) int { return y.StartedAt.Compare(x.StartedAt) })
	items := []*importJob{}
	for _, v := range all {
		if v.By == c.Name || len(c.Organizations) == 0 {
			if v.Report != nil { // the counts; the job itself has the lines
				counts := *v.Report
				counts.Lines, counts.Truncated = []policy.ImportLine{}, false
				v.Report = &counts
			}
			items = append(items, v)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []*importJob `json:"items"`
	}{items})
}
