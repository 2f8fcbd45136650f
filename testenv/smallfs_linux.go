package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Full-disk tests put a data directory on a small tmpfs that they fill with
// a file, so that the free space is real and statfs is the kernel's.
// Mounting needs root (or CAP_SYS_ADMIN); elsewhere SmallFS skips the test
// and says why.

// SmallFS mounts a tmpfs of size bytes and returns its path; it is
// unmounted when the test ends.
func SmallFS(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("mounting a %d-byte tmpfs for a full disk needs root or CAP_SYS_ADMIN: %v: %s", size, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { // before TempDir's removal: cleanups run last first
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// FillTo grows the file "filler" in dir until about leave bytes are free
// on its filesystem (none at all for 0), and returns the bytes free then.
func FillTo(t *testing.T, dir string, leave uint64) uint64 {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "filler"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if free := freeBytes(t, dir); free > leave {
		info, _ := f.Stat()
		if err := syscall.Fallocate(int(f.Fd()), 0, info.Size(), int64(free-leave)); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("fallocate: %v", err)
		}
	}
	if leave == 0 {
		// Whatever rounding left: write until the filesystem says no.
		buf := make([]byte, 4096)
		for i := 0; i < 1<<16; i++ {
			if _, err := f.WriteAt(buf, int64(1<<40)+int64(i)*4096); err != nil {
				break
			}
		}
	}
	return freeBytes(t, dir)
}

// Unfill removes the filler FillTo made in dir.
func Unfill(t *testing.T, dir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
}

// freeBytes is what statfs says unprivileged users may still write on
// dir's filesystem (f_bavail, the figure df shows).
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}
