package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration that a config file writes with a unit, like
// 30s, 500ms, 10m or 72h (any form time.ParseDuration accepts). A plain number
// is rejected, except 0, because its unit would be a guess. Convert with
// time.Duration(d).
type Duration time.Duration

// errNoUnit is the message for a duration written as a plain number.
const errNoUnit = "durations are written with a unit, like 30s"

// String formats d the way a config file writes it: 30s, 500ms, 10m, 72h,
// 1h30m (time.Duration.String without trailing zero units).
func (d Duration) String() string {
	s := time.Duration(d).String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// MarshalText returns d as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration with a unit, like 30s.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a scalar duration with a unit, like 30s.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("cannot use %s as a duration (write it like 30s, 500ms or 72h)", describe(n))
	}
	return d.UnmarshalText([]byte(n.Value))
}

func parseDuration(s string) (time.Duration, error) {
	if s != "0" && isPlainNumber(s) {
		return 0, fmt.Errorf("cannot use %s as a duration: %s", s, errNoUnit)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cannot use %q as a duration (write it like 30s, 500ms or 72h)", s)
	}
	return v, nil
}

// isPlainNumber reports whether s is a number without a unit, like 30, -1 or 2.5.
func isPlainNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	digits := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r == '.' || r == '_':
		default:
			return false
		}
	}
	return digits
}

// Status is an SMPP command_status value. A config file writes it as a
// number, decimal or 0x hexadecimal (8, 0x08), or as one of the names in
// statusNames, case-insensitively (ESME_RSYSERR, esme_rsyserr).
type Status uint32

// statusNames are the command_status names a config file may use. The full
// table lives in smpp/pdu, which config must not import, so this small copy
// holds only the statuses an operator is likely to configure; any other
// value can be written as a number.
var statusNames = []struct {
	status Status
	name   string
}{
	{0x00, "ESME_ROK"},
	{0x01, "ESME_RINVMSGLEN"},
	{0x08, "ESME_RSYSERR"},
	{0x0B, "ESME_RINVDSTADR"},
	{0x14, "ESME_RMSGQFUL"},
	{0x45, "ESME_RSUBMITFAIL"},
	{0x58, "ESME_RTHROTTLED"},
	{0x64, "ESME_RX_T_APPN"},
	{0x65, "ESME_RX_P_APPN"},
	{0x66, "ESME_RX_R_APPN"},
	{0xFE, "ESME_RDELIVERYFAILURE"},
	{0xFF, "ESME_RUNKNOWNERR"},
}

// String returns the status's ESME_* name when it is in the local table,
// else its value in hexadecimal (0x0000000A).
func (s Status) String() string {
	for _, e := range statusNames {
		if e.status == s {
			return e.name
		}
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// MarshalText returns s as String does.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a status number (8, 0x08) or name (ESME_RSYSERR).
func (s *Status) UnmarshalText(text []byte) error {
	v, err := parseStatus(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML writes s as String does.
func (s Status) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a scalar status number or name.
func (s *Status) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("cannot use %s as a command_status", describe(n))
	}
	return s.UnmarshalText([]byte(n.Value))
}

func parseStatus(text string) (Status, error) {
	for _, e := range statusNames {
		if strings.EqualFold(text, e.name) {
			return e.status, nil
		}
	}
	var (
		v   uint64
		err = errors.New("not a number")
	)
	if hex, ok := strings.CutPrefix(strings.ToLower(text), "0x"); ok {
		v, err = strconv.ParseUint(hex, 16, 32)
	} else if text != "" && strings.Trim(text, "0123456789") == "" {
		v, err = strconv.ParseUint(text, 10, 32)
	}
	if err != nil {
		names := make([]string, len(statusNames))
		for i, e := range statusNames {
			names[i] = e.name
		}
		return 0, fmt.Errorf("cannot use %q as a command_status: write a 32-bit number (8, 0x08) or one of %s",
			text, strings.Join(names, ", "))
	}
	return Status(v), nil
}
