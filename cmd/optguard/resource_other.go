//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"time"
)

// raiseFileLimit: this platform has no RLIMIT_NOFILE.
func raiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, fmt.Errorf("open-file limit on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// processCPU: this platform has no getrusage.
func processCPU() (time.Duration, error) {
	return 0, fmt.Errorf("process CPU time on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// diskUsage is the size of the files under dir (this platform's stat has
// no allocated blocks).
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}
