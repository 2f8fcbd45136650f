package exports

import (
	"encoding/csv"
	"io"
	"strings"
)

// FlushRows is how many rows a CSV writes between flushes of its buffer,
// so that a long download reaches its reader as it goes.
const FlushRows = 1000

// CSV writes a CSV file row by row with every cell made safe (see Safe).
// It buffers at most a few KiB, whatever the number of rows.
type CSV struct {
	w    *csv.Writer
	rows int
	// OnFlush, if set, runs after each periodic flush (every FlushRows
	// rows): an HTTP download flushes its response there.
	OnFlush func()
}

// NewCSV starts a CSV on w with its header row.
func NewCSV(w io.Writer, header []string) *CSV {
	c := &CSV{w: csv.NewWriter(w)}
	c.w.Write(header)
	return c
}

// Row writes one row, making each cell safe in place. Its error is the
// writer's (a reader that went away, a full disk): once there is one,
// every later row returns it too.
func (c *CSV) Row(cells []string) error {
	for i, s := range cells {
		cells[i] = Safe(s)
	}
	if err := c.w.Write(cells); err != nil {
		return err
	}
	if c.rows++; c.rows%FlushRows == 0 {
		c.w.Flush()
		if err := c.w.Error(); err != nil {
			return err
		}
		if c.OnFlush != nil {
			c.OnFlush()
		}
	}
	return nil
}

// Rows is how many rows were written, the header not counted.
func (c *CSV) Rows() int { return c.rows }

// Flush writes out what is buffered: call it at the end.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// Safe keeps a cell from being read as a formula by a spreadsheet: text
// that starts with = + - @ or a tab or carriage return gets a leading
// apostrophe (OWASP's advice for CSV injection). A phone number in E.164
// ("+15551234567") is left as it is: it is data every report has, and a
// spreadsheet reads it as a number, not a formula.
func Safe(s string) string {
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
