package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"
)

// TestConsentTablesUncompressed: the consent database writes its tables
// without block compression, and reads the tables a build that compressed
// them wrote (badger's manifest records each table's compression).
func TestConsentTablesUncompressed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), consentSubdir)
	value := bytes.Repeat([]byte("compressible "), 40)
	put := func(db *badger.DB, first int) {
		t.Helper()
		wb := db.NewWriteBatch()
		for i := first; i < first+2000; i++ {
			if err := wb.Set(fmt.Appendf(nil, "k%06d", i), value); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// sizes sums the tables' sizes on disk and uncompressed.
	sizes := func(db *badger.DB) (disk, raw int) {
		for _, ti := range db.Tables() {
			disk += int(ti.OnDiskSize)
			raw += int(ti.UncompressedSize)
		}
		return disk, raw
	}

	old, err := badger.Open(badger.DefaultOptions(dir).WithCompression(options.Snappy).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	put(old, 0)
	if err := old.Close(); err != nil { // writes the memtable out as a table
		t.Fatal(err)
	}

	b := &Badger{opts: Options{Dir: filepath.Dir(dir), Logger: zerolog.Nop()}.withDefaults()}
	db, err := badger.Open(b.badgerOptions(consentSubdir, true, b.opts.MemTableSize, b.opts.BlockCacheSize))
	if err != nil {
		t.Fatal(err)
	}
	oldDisk, oldRaw := sizes(db)
	if oldDisk == 0 || oldDisk*2 > oldRaw {
		t.Fatalf("the first build's tables: %d bytes on disk for %d: not compressed", oldDisk, oldRaw)
	}
	put(db, 2000)
	if err := db.View(func(txn *badger.Txn) error {
		for _, k := range []string{"k000000", "k001999", "k002000", "k003999"} {
			item, err := txn.Get([]byte(k))
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if err := item.Value(func(v []byte) error {
				if !bytes.Equal(v, value) {
					return fmt.Errorf("%s: %d bytes, not the value written", k, len(v))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithReadOnly(true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	disk, raw := sizes(db)
	if newDisk, newRaw := disk-oldDisk, raw-oldRaw; newRaw == 0 || newDisk*10 < newRaw*9 {
		t.Errorf("the tables written since: %d bytes on disk for %d: compressed", newDisk, newRaw)
	}
}
