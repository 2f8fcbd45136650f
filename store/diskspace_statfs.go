//go:build linux || darwin || freebsd

package store

import (
	"os"
	"syscall"
)

// statDisk reads the free space of the filesystem holding path: the blocks
// available to unprivileged users (f_bavail), the figure df shows.
func statDisk(path string) (diskUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return diskUsage{}, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	bs := uint64(st.Bsize)
	return diskUsage{free: uint64(st.Bavail) * bs, total: uint64(st.Blocks) * bs}, nil
}
