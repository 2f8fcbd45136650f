//go:build !amd64 && !arm64

package store

import "unsafe"

// prefetchLine does nothing where optguard has no prefetch instruction for
// the architecture: PrefetchRef is then only a hint not taken.
func prefetchLine(unsafe.Pointer) {}
