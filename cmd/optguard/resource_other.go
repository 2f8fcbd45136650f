//go:build !unix

package main

import (
	"errors"
	"fmt"
	"runtime"
)

// raiseFileLimit: this platform has no RLIMIT_NOFILE.
func raiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, fmt.Errorf("open-file limit on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
