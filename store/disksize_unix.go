//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// allocated is the space a file takes on disk. badger preallocates its
// value log and memtable files as sparse files, so their size would
// overstate it.
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
