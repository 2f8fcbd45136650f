package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ByteSize is a number of bytes. A config file writes it as a plain number
// of bytes or with a unit: KiB, MiB, GiB, TiB (powers of 1024) or KB, MB,
// GB, TB (powers of 1000), like 256MiB or 10GB. Convert with int64(s).
type ByteSize int64

var byteUnits = []struct {
	name string
	size int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

// String formats s in the largest binary unit that holds it exactly (256MiB),
// else as a number of bytes.
func (s ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if s != 0 && int64(s)%u.size == 0 {
			return strconv.FormatInt(int64(s)/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText returns s as String does.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a size: a number of bytes, or a number and a unit.
func (s *ByteSize) UnmarshalText(text []byte) error {
	v, err := parseByteSize(string(text))
	if err != nil {
		return err
	}
	*s = ByteSize(v)
	return nil
}

// MarshalYAML writes s as String does.
func (s ByteSize) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a scalar size.
func (s *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("cannot use %s as a size (write it like 256MiB, 1GiB or 500MB)", describe(n))
	}
	return s.UnmarshalText([]byte(n.Value))
}

func parseByteSize(text string) (int64, error) {
	num, unit := text, int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(text, u.name); ok {
			num, unit = strings.TrimSuffix(rest, " "), u.size
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("cannot use %q as a size (write a whole number of bytes, or one with a unit like 256MiB, 1GiB or 500MB)", text)
	}
	return n * unit, nil
}
