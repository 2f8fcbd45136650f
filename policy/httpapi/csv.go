package httpapi

import (
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// format reads ?format=json|csv; true for CSV.
func (q *query) format() (bool, error) {
	switch f := q.str("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, badRequest("format", "must be json or csv, got "+strconv.Quote(f))
	}
}

// csvWriter streams a CSV download: a header row, then rows as they come,
// flushed now and then so that a long one reaches the client as it goes.
type csvWriter struct {
	w    *csv.Writer
	rows int
}

func startCSV(w http.ResponseWriter, filename string, header []string) *csvWriter {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.WriteHeader(http.StatusOK)
	cw := &csvWriter{w: csv.NewWriter(w)}
	cw.w.Write(header)
	return cw
}

func (c *csvWriter) row(cells []string) {
	for i, s := range cells {
		cells[i] = csvSafe(s)
	}
	c.w.Write(cells)
	if c.rows++; c.rows%1000 == 0 {
		c.w.Flush()
	}
}

func (c *csvWriter) end() { c.w.Flush() }

// csvSafe keeps a cell from being read as a formula by a spreadsheet: text
// that starts with = + - @ or a tab or carriage return gets a leading
// apostrophe (OWASP's advice for CSV injection). A phone number in E.164
// ("+15551234567") is left as it is: it is data every report has, and a
// spreadsheet reads it as a number, not a formula.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '-', '@', '\t', '\r':
		return "'" + s
	case '+':
		if len(s) > 1 && strings.Trim(s[1:], "0123456789") == "" {
			return s
		}
		return "'" + s
	}
	return s
}

func uintText(n uint64) string { return strconv.FormatUint(n, 10) }
