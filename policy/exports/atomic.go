package exports

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optguard/optguard/store"
)

// OptOutFileName is the name of day's opt-out file: optouts-2026-12-01.csv.
func OptOutFileName(d Day) string { return "optouts-" + d.String() + ".csv" }

// WriteOptOutFile writes day's opt-out file of the whole ledger into dir,
// atomically (see WriteAtomic), and returns its path and its rows.
func WriteOptOutFile(ctx context.Context, l store.Ledger, dir string, day Day) (path string, rows int, err error) {
	path, err = WriteAtomic(dir, OptOutFileName(day), func(w io.Writer) error {
		var err error
		rows, err = WriteOptOuts(ctx, l, w, OptOutQuery{Day: day})
		return err
	})
	return path, rows, err
}

// File mode of the files WriteAtomic writes: they name handsets, so only
// the owner and its group may read them.
const fileMode = 0o640

// Temporary files are named tempPrefix + name + "-RANDOM" + tempSuffix; a
// run removes those of earlier runs that were not modified for staleTemp
// (a writer that died), and leaves younger ones to a writer that may
// still be at work in the same directory.
const (
	tempPrefix = ".optguard-"
	tempSuffix = ".tmp"
	staleTemp  = time.Hour
)

// WriteAtomic writes the file dir/name with what write writes, so that
// dir/name is at every moment either the old complete file (or none) or
// the new complete one:
//
//  1. write writes into a temporary file in dir (hidden, .optguard-NAME-…tmp),
//  2. which is synced to disk and closed,
//  3. then renamed to name, replacing an existing file in one step,
//  4. and dir is synced, so that the rename survives a power loss.
//
// If write returns an error (a server that cut its download short, a
// cancelled context) or any step fails, the temporary file is removed and
// dir/name is left as it was. If the process dies on the way, only the
// temporary file remains: a later WriteAtomic in dir removes it once
// nothing has touched it for an hour. The file is readable by its owner
// and group only (mode 0640). It returns the path written.
//
// The command line writes a day's file from a running server with it:
//
//	path, err := exports.WriteAtomic(dir, exports.OptOutFileName(day), func(w io.Writer) error {
//		_, err := io.Copy(w, resp.Body) // GET /api/v1/exports/opt-outs?day=…; a cut stream is an error
//		return err
//	})
func WriteAtomic(dir, name string, write func(w io.Writer) error) (string, error) {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("exports: %q is not a file name", name)
	}
	removeStale(dir, time.Now())
	final := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*"+tempSuffix)
	if err != nil {
		return "", fmt.Errorf("exports: writing %s: %w", final, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close() // a second Close after a failed rename only returns an error
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(fileMode); err != nil {
		return "", fmt.Errorf("exports: writing %s: %w", final, err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return "", fmt.Errorf("exports: writing %s: %w", final, err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("exports: writing %s: %w", final, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("exports: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("exports: writing %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("exports: renaming %s to %s: %w", tmp, final, err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return final, fmt.Errorf("exports: %s is written, but syncing its directory failed (a power loss may undo it): %w", final, err)
	}
	return final, nil
}

// removeStale removes the temporary files that earlier runs left in dir
// (a crash, a kill) and nothing touched for staleTemp. Errors are not
// WriteAtomic's: a leftover it cannot remove harms no complete file.
func removeStale(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, tempPrefix) || !strings.HasSuffix(n, tempSuffix) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) >= staleTemp {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
