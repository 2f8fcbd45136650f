//go:build amd64 || arm64

package store

import "unsafe"

// prefetchLine asks the CPU to start loading the cache line at p and
// returns at once (PREFETCHT0 on amd64, PRFM PLDL1KEEP on arm64): unlike a
// load, it does not wait for the line, so the miss overlaps whatever the
// caller does next. Go has no prefetch of its own outside the runtime.
//
//go:noescape
func prefetchLine(p unsafe.Pointer)
