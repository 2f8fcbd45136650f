package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"time"
	_ "time/tzdata" // time zones by name also where the system has no tz database
)

// Exports are the files optguard writes on its own.
type Exports struct {
	OptOuts OptOutFile `yaml:"opt_outs"` // the daily opt-out file (seed 004's nightly file)
}

// OptOutFile is the daily file of the day's opt-outs: each day at Time,
// optguard writes the previous day's file, optouts-YYYY-MM-DD.csv, into
// Dir.
type OptOutFile struct {
	Dir      string `yaml:"dir"`       // an existing directory; empty = no daily file
	Time     string `yaml:"time"`      // HH:MM (24-hour clock, in TimeZone) at which the previous day's file is written
	TimeZone string `yaml:"time_zone"` // IANA name (America/New_York) of the zone whose calendar days the files cover
}

// Location is the time zone TimeZone names (Validate has checked it).
func (o OptOutFile) Location() (*time.Location, error) {
	return time.LoadLocation(o.TimeZone)
}

var timeOfDay = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// At is Time's hour and minute (Validate has checked it).
func (o OptOutFile) At() (hour, minute int, err error) {
	m := timeOfDay.FindStringSubmatch(o.Time)
	if m == nil {
		return 0, 0, fmt.Errorf("must be a time of day written HH:MM on the 24-hour clock (01:30, 23:00), got %q", o.Time)
	}
	hour, _ = strconv.Atoi(m[1])
	minute, _ = strconv.Atoi(m[2])
	return hour, minute, nil
}

func (v *validator) exports(e *Exports) {
	o := &e.OptOuts
	if _, _, err := o.At(); err != nil {
		v.fail("exports.opt_outs.time", "%v", err)
	}
	switch _, err := o.Location(); {
	case o.TimeZone == "":
		v.fail("exports.opt_outs.time_zone", "is required: an IANA time zone name (UTC, America/New_York, Europe/London)")
	case o.TimeZone == "Local":
		v.fail("exports.opt_outs.time_zone", `must name a zone (America/New_York), not "Local", so that the files do not change with the machine`)
	case err != nil:
		v.fail("exports.opt_outs.time_zone", "%q is not an IANA time zone name (UTC, America/New_York, Europe/London)", o.TimeZone)
	}
	if o.Dir != "" {
		switch st, err := os.Stat(o.Dir); {
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.fail("exports.opt_outs.dir", "cannot use %q: %v (create the directory, or leave the key empty for no daily file)", o.Dir, err)
		case !st.IsDir():
			v.fail("exports.opt_outs.dir", "%q is not a directory", o.Dir)
		}
	}
}
