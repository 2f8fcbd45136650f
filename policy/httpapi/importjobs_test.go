package httpapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/httpapi"
	"github.com/optguard/optguard/store"
)

// The store keeps each import job's record: an API started again over the
// same store (a restart) lists the jobs before it, gives an ended one with
// its counts but not its lines, and marks the one a stop cut short as
// interrupted. A token limited to organizations still sees its own only.
func TestImportJobsOutliveARestart(t *testing.T) {
	e := newEnv(t)
	_, done := e.upload("admin", "cutoff=2026-11-30", "number,organization\n+15551230070,acme\nnot a number,acme\n")
	e.clk.add(time.Minute)
	_, own := e.upload("acme-admin", "cutoff=2026-11-30&dry_run=true", "number\n+15551230071\n")
	if done.Status != "done" || own.Status != "done" {
		t.Fatalf("imports: %+v %+v", done, own)
	}
	cut := store.ImportJob{ID: "00000000000000aa", Status: "running", Cutoff: "2026-11-29", By: "admin", RowsTotal: 1_000_000, RowsDone: 20_000,
		StartedAt: e.clk.now().Add(-time.Hour)}
	if err := e.st.SaveImportJob(context.Background(), cut); err != nil {
		t.Fatal(err)
	}

	api, err := httpapi.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	again := *e
	again.api, again.srv = api, httptest.NewServer(api)
	t.Cleanup(again.srv.Close)

	var list struct {
		Items []struct {
			ID, Status, Error string
			Restored          bool
			RowsDone          int `json:"rows_done"`
			Report            *policy.ImportReport
		}
	}
	again.ok("admin", "GET", "/api/v1/imports", nil).json(t, &list)
	var got []string
	for _, it := range list.Items {
		got = append(got, it.ID+" "+it.Status)
		if !it.Restored {
			t.Errorf("job %s is not marked restored", it.ID)
		}
	}
	if want := own.ID + " done, " + done.ID + " done, " + cut.ID + " interrupted"; strings.Join(got, ", ") != want {
		t.Fatalf("jobs after the restart: %q; want %q, newest first", strings.Join(got, ", "), want)
	}
	if r := list.Items[1].Report; r == nil || r.Changed != 1 || r.Bad != 1 || len(r.Lines) != 0 {
		t.Errorf("the list's entry of %s has report %+v; want its counts without lines", done.ID, r)
	}
	if it := list.Items[2]; it.Report != nil || it.RowsDone != 20_000 || !strings.Contains(it.Error, "running the file again completes it") {
		t.Errorf("the interrupted job: %+v", it)
	}

	var job importJob
	again.ok("admin", "GET", "/api/v1/imports/"+done.ID, nil).json(t, &job)
	if r := job.Report; r == nil || r.Rows != 2 || r.Changed != 1 || r.Bad != 1 || len(r.Lines) != 0 || r.FirstSeq == 0 {
		t.Fatalf("the job from before the restart: %+v (report %+v); want its counts without lines", job, job.Report)
	}
	again.call("acme-admin", "GET", "/api/v1/imports/"+done.ID, nil).wantError(t, 404, "not_found", "")
	again.ok("acme-admin", "GET", "/api/v1/imports", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != own.ID {
		t.Errorf("acme-admin sees %+v; want its own job only", list.Items)
	}
}
