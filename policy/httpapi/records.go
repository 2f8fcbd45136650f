package httpapi

import (
	"context"
	"net/http"

	"github.com/optguard/optguard/store"
)

// row is what a list of consent records shows of one: a JSON item with
// its CSV cells.
type row interface{ csv() []string }

// recordList is a list of consent records (the do-not-contact list, the
// consent status report): one store page as JSON, or every page from the
// cursor on as a CSV download.
type recordList[T row] struct {
	filename string
	header   []string
	rowOf    func(*API, context.Context, store.Consent) (T, error)
}

// serve answers the records of f that the caller sees within account
// acct.
func (l recordList[T]) serve(a *API, w http.ResponseWriter, r *http.Request, c *caller, acct string, f store.ConsentFilter, asCSV bool) {
	if asCSV {
		l.csv(a, w, r, c, acct, f)
		return
	}
	page, err := a.st.ListConsents(r.Context(), f)
	items := []T{}
	for _, rec := range page.Items {
		if err != nil || !c.visible(rec.Scope.Org, acct) {
			continue
		}
		var item T
		if item, err = l.rowOf(a, r.Context(), rec); err == nil {
			items = append(items, item)
		}
	}
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Items      []T    `json:"items"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{items, page.NextCursor})
}

// csv streams the records page by page. An error before the first page is
// answered as one; after it, it can only end the download early: the
// client sees a file without its last line's newline, or a cut connection.
func (l recordList[T]) csv(a *API, w http.ResponseWriter, r *http.Request, c *caller, acct string, f store.ConsentFilter) {
	f.Limit = 1000
	page, err := a.st.ListConsents(r.Context(), f)
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	cw := startCSV(w, l.filename, l.header)
	defer cw.end()
	for {
		for _, rec := range page.Items {
			if !c.visible(rec.Scope.Org, acct) {
				continue
			}
			item, err := l.rowOf(a, r.Context(), rec)
			if err != nil {
				a.log.Error().Err(err).Str("file", l.filename).Msg("CSV download cut short")
				return
			}
			cw.row(item.csv())
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			return
		}
		if page, err = a.st.ListConsents(r.Context(), f); err != nil {
			a.log.Error().Err(err).Str("file", l.filename).Msg("CSV download cut short")
			return
		}
	}
}
