package keywords

import "unsafe"

// unsafeBytes views s as a byte slice without copying; the callers only
// read it.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
