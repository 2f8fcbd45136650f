//go:build !(linux || darwin || freebsd)

package store

import (
	"errors"
	"runtime"
)

// statDisk is not available here: the store runs without its disk-full
// guard (OpenBadger logs a warning).
func statDisk(string) (diskUsage, error) {
	return diskUsage{}, errors.New("store: statfs is not supported on " + runtime.GOOS)
}
