package config

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestByteSizeParse(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"256MiB", 256 << 20},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"512KiB", 512 << 10},
		{"500MB", 500e6},
		{"10GB", 10e9},
		{"1KB", 1000},
		{"4096B", 4096},
		{"268435456", 256 << 20},
		{"'64 MiB'", 64 << 20},
		{"0", 0},
	}
	for _, tt := range good {
		var s ByteSize
		if err := yaml.Unmarshal([]byte("s: "+tt.in), &struct{ S *ByteSize }{&s}); err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if int64(s) != tt.want {
			t.Errorf("%q = %d, want %d", tt.in, s, tt.want)
		}
	}
	const hint = " as a size (write a whole number of bytes, or one with a unit like 256MiB, 1GiB or 500MB)"
	bad := []struct{ in, want string }{
		{"256mib", `cannot use "256mib"` + hint},
		{"1.5GiB", `cannot use "1.5GiB"` + hint},
		{"-1MiB", `cannot use "-1MiB"` + hint},
		{"MiB", `cannot use "MiB"` + hint},
		{"9000000TiB", `cannot use "9000000TiB"` + hint},
		{"''", `cannot use ""` + hint},
		{"[1]", "cannot use a list as a size (write it like 256MiB, 1GiB or 500MB)"},
	}
	for _, tt := range bad {
		var s ByteSize
		err := yaml.Unmarshal([]byte("s: "+tt.in), &struct{ S *ByteSize }{&s})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestByteSizeFormat(t *testing.T) {
	tests := []struct {
		s    ByteSize
		want string
	}{
		{0, "0"},
		{256 << 20, "256MiB"},
		{1 << 30, "1GiB"},
		{1536 << 20, "1536MiB"},
		{3 << 40, "3TiB"},
		{4096, "4KiB"},
		{1000, "1000"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.s), got, tt.want)
		}
		out, err := yaml.Marshal(map[string]ByteSize{"s": tt.s})
		if err != nil {
			t.Fatal(err)
		}
		var back ByteSize
		if err := yaml.Unmarshal(out, &struct{ S *ByteSize }{&back}); err != nil || back != tt.s {
			t.Errorf("%d does not survive YAML (%q): %d %v", int64(tt.s), out, back, err)
		}
	}
}
