package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/optguard/optguard/policy/exports"
)

// format reads ?format=json|csv; true for CSV.
func (q *query) format() (bool, error) { return q.csvOr("json") }

// csvOr reads ?format=csv or ?format=other, the default; true for CSV.
func (q *query) csvOr(other string) (bool, error) {
	switch f := q.str("format"); f {
	case "", other:
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, badRequest("format", "must be "+other+" or csv, got "+strconv.Quote(f))
	}
}

// csvWriter streams a CSV download: a header row, then rows as they come,
// flushed now and then (the response too) so that a long one reaches the
// client as it goes. Every cell is made safe for spreadsheets (exports.Safe:
// no cell starts a formula).
type csvWriter struct{ *exports.CSV }

func startCSV(w http.ResponseWriter, filename string, header []string) *csvWriter {
	attachment(w, csvType, filename)
	w.WriteHeader(http.StatusOK)
	return newCSV(w, w, header)
}

const csvType = "text/csv; charset=utf-8"

// attachment sets the headers of a download named filename.
func attachment(w http.ResponseWriter, contentType, filename string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
}

// newCSV writes a CSV to out, flushing rw at each periodic flush.
func newCSV(rw http.ResponseWriter, out io.Writer, header []string) *csvWriter {
	cw := &csvWriter{exports.NewCSV(out, header)}
	cw.OnFlush = func() { http.NewResponseController(rw).Flush() }
	return cw
}

func (c *csvWriter) row(cells []string) error { return c.Row(cells) }

func (c *csvWriter) end() { c.Flush() }

// csvSafe is a cell as a spreadsheet may read it: one that would start a
// formula gets a leading apostrophe (exports.Safe, which the rows of every
// csvWriter already go through).
func csvSafe(s string) string { return exports.Safe(s) }

func uintText(n uint64) string { return strconv.FormatUint(n, 10) }
