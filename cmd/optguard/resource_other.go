//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
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

// allocatedSize is a file's size: this platform's stat has no allocated
// blocks.
func allocatedSize(info fs.FileInfo) int64 { return info.Size() }
