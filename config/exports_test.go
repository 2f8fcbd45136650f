package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exports.opt_outs: each bad value is an error with its file, line and
// key; good ones load, and the schedule reads back from them.
func TestValidateExports(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "optouts.csv")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nosuch")
	for _, tt := range []struct{ key, value, msg string }{
		{"exports.opt_outs.time", `"1:00"`, `must be a time of day written HH:MM on the 24-hour clock (01:30, 23:00), got "1:00"`},
		{"exports.opt_outs.time", `"24:00"`, `must be a time of day written HH:MM on the 24-hour clock (01:30, 23:00), got "24:00"`},
		{"exports.opt_outs.time", `"01:60"`, `must be a time of day written HH:MM on the 24-hour clock (01:30, 23:00), got "01:60"`},
		{"exports.opt_outs.time", `""`, `must be a time of day written HH:MM on the 24-hour clock (01:30, 23:00), got ""`},
		{"exports.opt_outs.time_zone", "Mars/Olympus_Mons", `"Mars/Olympus_Mons" is not an IANA time zone name (UTC, America/New_York, Europe/London)`},
		{"exports.opt_outs.time_zone", "EST5EDTX", `"EST5EDTX" is not an IANA time zone name (UTC, America/New_York, Europe/London)`},
		{"exports.opt_outs.time_zone", `""`, "is required: an IANA time zone name (UTC, America/New_York, Europe/London)"},
		{"exports.opt_outs.time_zone", "Local", `must name a zone (America/New_York), not "Local", so that the files do not change with the machine`},
		{"exports.opt_outs.dir", missing, fmt.Sprintf("cannot use %q: no such file or directory (create the directory, or leave the key empty for no daily file)", missing)},
		{"exports.opt_outs.dir", file, fmt.Sprintf("%q is not a directory", file)},
	} {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			want := fmt.Sprintf("%s:%d: %s: %s", testFile, strings.Count(tt.key, ".")+1, tt.key, tt.msg)
			if got := parseErr(t, nested(tt.key, tt.value)); !strings.HasPrefix(got, want) {
				t.Errorf("error:\n got: %s\nwant: %s", got, want)
			}
		})
	}

	c := mustParse(t, "exports:\n  opt_outs:\n    dir: "+dir+"\n    time: 02:30\n    time_zone: America/New_York\n")
	o := c.Exports.OptOuts
	h, m, err := o.At()
	loc, lerr := o.Location()
	if err != nil || lerr != nil || h != 2 || m != 30 || loc.String() != "America/New_York" || o.Dir != dir {
		t.Fatalf("%+v: %d:%d %v, %v %v", o, h, m, err, loc, lerr)
	}
	for _, at := range []string{`"00:00"`, `"23:59"`, "'12:05'"} {
		mustParse(t, nested("exports.opt_outs.time", at))
	}
	if d := Default().Exports.OptOuts; d.Dir != "" || d.Time != "01:00" || d.TimeZone != "UTC" {
		t.Fatalf("defaults %+v", d)
	}
}
