//go:build unix

package main

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// raiseFileLimit raises the soft open-file limit (RLIMIT_NOFILE) to the hard
// limit where the kernel allows it and returns the limits in force after. (Go
// already does this at start-up on most systems; doing it here makes the check
// independent of that, and a refused raise leaves the soft limit as it was.)
func raiseFileLimit() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("reading the open-file limit (RLIMIT_NOFILE): %w", err)
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return uint64(lim.Cur), uint64(lim.Max), nil
}

// processCPU is the CPU time the process has used so far, user and system.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// allocatedSize is the disk space a file takes: its allocated blocks
// (badger's logs are sparse, their size overstates them).
func allocatedSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
