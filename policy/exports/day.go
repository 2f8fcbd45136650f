package exports

import (
	"fmt"
	"time"
)

// Day is one calendar day in a time zone, from its first instant to the
// next day's: 24 hours, or 23 or 25 on the days daylight saving time
// starts or ends.
type Day struct {
	start time.Time // midnight in the zone (or, where midnight is skipped, the day's first instant)
}

// DayOf is the day t falls on in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return dayAt(y, m, d, loc)
}

// dayAt is the day y-m-d in loc, normalized as time.Date does (the 32nd
// of a month is the next month's 1st).
func dayAt(y int, m time.Month, d int, loc *time.Location) Day {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, loc).Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		// Midnight does not exist there (the clocks jump from 23:59:59
		// to 01:00, as in Santiago), and time.Date gave the day before's
		// 23:00: the day starts at the jump.
		_, t = t.ZoneBounds()
	}
	return Day{t}
}

// ParseDay reads a date written YYYY-MM-DD as a day in loc.
func ParseDay(s string, loc *time.Location) (Day, error) {
	t, err := time.Parse(time.DateOnly, s) // the date alone: its midnight may not exist in loc
	if err != nil {
		return Day{}, fmt.Errorf("must be a date written YYYY-MM-DD (2026-12-01), got %q", s)
	}
	return dayAt(t.Year(), t.Month(), t.Day(), loc), nil
}

// Start is the day's first instant; End the next day's, which is not in
// the day.
func (d Day) Start() time.Time { return d.start }
func (d Day) End() time.Time   { return d.Next().start }

// Next and Prev are the days after and before d, in its zone.
func (d Day) Next() Day { return d.add(1) }
func (d Day) Prev() Day { return d.add(-1) }

func (d Day) add(days int) Day {
	y, m, dd := d.start.Date()
	return dayAt(y, m, dd+days, d.start.Location())
}

// At is the time of day hour:minute on d, in its zone (on a day that
// skips that time, the instant the clocks jump to).
func (d Day) At(hour, minute int) time.Time {
	y, m, dd := d.start.Date()
	return time.Date(y, m, dd, hour, minute, 0, 0, d.start.Location())
}

// Location is d's time zone.
func (d Day) Location() *time.Location { return d.start.Location() }

// IsZero reports whether d is the zero Day (no day).
func (d Day) IsZero() bool { return d.start.IsZero() }

// String is d as YYYY-MM-DD.
func (d Day) String() string { return d.start.Format(time.DateOnly) }
