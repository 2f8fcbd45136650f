//go:build !amd64 && !arm64

package store

import "unsafe"

// prefetchLine does nothing where optguard has no prefetch instruction for
// the architecture: StartFast then starts no load early.
func prefetchLine(unsafe.Pointer) {}
