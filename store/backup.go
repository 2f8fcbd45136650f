package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"

	"github.com/optguard/optguard/store/seal"
)

// Backup stream format (both databases in one stream):
//
//	"OGSTBAK\n"  uint32 BE format version
//	section*     one per database: tag byte ('C' consent, 'L' log), then
//	             the database in badger's backup format (see backupDB) cut
//	             into chunks of uint32 BE length + bytes, ended by a 0 length
//	'E'          end of stream
//
// The chunking lets each badger backup be streamed without knowing its
// length in advance, and lets Restore hand badger a reader that ends
// exactly where its section ends.

var backupMagic = []byte("OGSTBAK\n")

const (
	tagConsent = 'C'
	tagLog     = 'L'
	tagEnd     = 'E'
	chunkSize  = 64 << 10
	// backupBatch bounds each KVList of a badger backup.
	backupBatch = 1 << 20
)

// Backup writes a full, consistent-per-database backup of both databases
// to w. It can run while the store is in use.
func (b *Badger) Backup(ctx context.Context, w io.Writer) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	bw := bufio.NewWriterSize(ctxWriter{ctx, w}, chunkSize)
	if err := b.backupTo(bw); err != nil {
		return fmt.Errorf("backing up: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backing up: %w", err)
	}
	return nil
}

func (b *Badger) backupTo(w *bufio.Writer) error {
	w.Write(backupMagic)
	w.Write(binary.BigEndian.AppendUint32(nil, formatVersion))
	for _, s := range []struct {
		tag byte
		db  *badger.DB
	}{{tagConsent, b.cdb}, {tagLog, b.ldb}} {
		w.WriteByte(s.tag)
		cw := &chunkWriter{w: w}
		if err := backupDB(s.db, cw); err != nil {
			return err
		}
		if err := cw.close(); err != nil {
			return err
		}
	}
	return w.WriteByte(tagEnd)
}

// backupDB writes db in badger's backup format (what DB.Backup writes and
// DB.Load reads: uint64 little-endian length + protobuf KVList, repeated)
// from one read snapshot. It is written here rather than calling
// DB.Backup because badger's stream buffers up to 16 batches of 32 MB:
// backing up 1 M records took 780 MB of memory that way, this takes a few.
// Only live entries are written, with their versions and TTLs.
func backupDB(db *badger.DB, w io.Writer) error {
	return db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		list := &pb.KVList{}
		size := 0
		var buf []byte
		flush := func() error {
			if len(list.Kv) == 0 {
				return nil
			}
			var err error
			buf, err = proto.MarshalOptions{}.MarshalAppend(binary.LittleEndian.AppendUint64(buf[:0], 0), list)
			if err != nil {
				return err
			}
			binary.LittleEndian.PutUint64(buf, uint64(len(buf)-8))
			list.Kv, size = list.Kv[:0], 0
			_, err = w.Write(buf)
			return err
		}
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			list.Kv = append(list.Kv, &pb.KV{
				Key:       item.KeyCopy(nil),
				Value:     v,
				UserMeta:  []byte{item.UserMeta()},
				Version:   item.Version(),
				ExpiresAt: item.ExpiresAt(),
			})
			if size += len(v) + len(item.Key()) + 32; size >= backupBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// chunkWriter frames everything written to it as length-prefixed chunks.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == chunkSize {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if _, err := c.w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(c.buf)))); err != nil {
		return err
	}
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

func (c *chunkWriter) close() error {
	if err := c.flush(); err != nil {
		return err
	}
	_, err := c.w.Write([]byte{0, 0, 0, 0})
	return err
}

// chunkReader reads one section's chunks and returns io.EOF at its end.
type chunkReader struct {
	r    *bufio.Reader
	left uint32
	done bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return 0, fmt.Errorf("%w: truncated section", ErrBackupFormat)
		}
		c.left = binary.BigEndian.Uint32(hdr[:])
		if c.left == 0 {
			c.done = true
		} else if c.left > chunkSize {
			return 0, fmt.Errorf("%w: chunk of %d bytes", ErrBackupFormat, c.left)
		}
	}
	if uint32(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= uint32(n)
	if err == io.EOF {
		err = fmt.Errorf("%w: truncated chunk", ErrBackupFormat)
	}
	return n, err
}

// Restore loads a stream written by Backup into this store, which must be
// empty (ErrNotEmpty otherwise) and not in use by anyone else while it
// runs. The chain head and the in-memory index are reloaded afterwards.
// A stream that fails half-way leaves part of it loaded: restore into a new
// directory (RestoreDir does) and throw it away on error.
func (b *Badger) Restore(ctx context.Context, r io.Reader) error {
	err := b.runExclusive(ctx, func() error {
		if err := b.Accepting(); err != nil {
			return err
		}
		if err := b.checkEmpty(); err != nil {
			return err
		}
		br := bufio.NewReaderSize(r, chunkSize)
		v, err := readBackupHeader(br)
		if err != nil {
			return err
		}
		if v != formatVersion {
			return fmt.Errorf("%w: backup has format version %d, this build understands %d (restore one of format %d with optguard store restore into an empty directory: it is migrated)", ErrFormat, v, formatVersion, formatVersion-1)
		}
		if err := loadSections(ctx, br, b.cdb, b.ldb); err != nil {
			return b.undoRestore(err)
		}
		if err := b.reload(); err != nil {
			return b.undoRestore(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	return nil
}

// readBackupHeader reads a backup's magic and returns its format version.
func readBackupHeader(br *bufio.Reader) (uint32, error) {
	hdr := make([]byte, len(backupMagic)+4)
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr[:len(backupMagic)]) != string(backupMagic) {
		return 0, ErrBackupFormat
	}
	return binary.BigEndian.Uint32(hdr[len(backupMagic):]), nil
}

// loadSections loads a backup's sections, after its header, into the two
// databases.
func loadSections(ctx context.Context, br *bufio.Reader, cdb, ldb *badger.DB) error {
	seen := map[byte]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		tag, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: missing end marker", ErrBackupFormat)
		}
		var db *badger.DB
		switch tag {
		case tagConsent:
			db = cdb
		case tagLog:
			db = ldb
		case tagEnd:
			if !seen[tagConsent] {
				return fmt.Errorf("%w: no consent section", ErrBackupFormat)
			}
			return nil
		default:
			return fmt.Errorf("%w: unknown section %q", ErrBackupFormat, tag)
		}
		if seen[tag] {
			return fmt.Errorf("%w: section %q twice", ErrBackupFormat, tag)
		}
		seen[tag] = true
		if err := db.Load(&chunkReader{r: br}, 16); err != nil {
			return fmt.Errorf("loading section %q: %w", tag, err)
		}
	}
}

// loadOlder loads a backup of the previous format (after its header) into
// the empty directory of opts as it is, for OpenBadger to migrate.
func loadOlder(ctx context.Context, br *bufio.Reader, opts Options) error {
	opts = opts.withDefaults()
	raw := &Badger{opts: opts, log: opts.Logger}
	cdb, err := badger.Open(raw.badgerOptions(consentSubdir, true, opts.MemTableSize, opts.BlockCacheSize))
	if err != nil {
		return openError(consentSubdir, err)
	}
	ldb, err := badger.Open(raw.badgerOptions(logSubdir, false, opts.MemTableSize/2, opts.BlockCacheSize/2))
	if err != nil {
		cdb.Close()
		return openError(logSubdir, err)
	}
	err = loadSections(ctx, br, cdb, ldb)
	if lerr := ldb.Close(); err == nil {
		err = lerr
	}
	if cerr := cdb.Close(); err == nil {
		err = cerr
	}
	return err
}

// undoRestore empties the store again after a restore that failed part
// way, so that it is left as it was (empty, with its own key id), and
// returns err.
func (b *Badger) undoRestore(err error) error {
	for _, db := range []*badger.DB{b.cdb, b.ldb} {
		if derr := db.DropAll(); derr != nil {
			return fmt.Errorf("%w (and emptying the store again failed: %v)", err, derr)
		}
		if ferr := checkFormat(db); ferr != nil {
			return fmt.Errorf("%w (and %v)", err, ferr)
		}
	}
	if kerr := b.recordKeyID(); kerr != nil {
		return fmt.Errorf("%w (and %v)", err, kerr)
	}
	b.head = chainHead{}
	b.idx.Store(newIndex(b.keys, 0))
	b.subjects.clear()
	return err
}

// checkEmpty fails unless both databases hold nothing but the format key
// and the key's fingerprint.
func (b *Badger) checkEmpty() error {
	for _, db := range []*badger.DB{b.cdb, b.ldb} {
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				if k := string(it.Item().Key()); k != string(keyFormat) && k != string(keyKeyID) {
					return ErrNotEmpty
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// reload re-reads the format versions, the key's fingerprint, chain head
// and index after a restore. Runs on the committer goroutine.
func (b *Badger) reload() error {
	for _, db := range []*badger.DB{b.cdb, b.ldb} {
		if err := checkFormat(db); err != nil {
			return err
		}
	}
	// The backup's fingerprint replaced this store's: the backup is only
	// readable with the key file it was written with.
	id, err := readKeyID(b.cdb)
	if err != nil {
		return err
	}
	head, err := readHead(b.cdb)
	if err != nil {
		return err
	}
	switch {
	case id == "" && head.seq > 0:
		return fmt.Errorf("%w: the backup holds events but no key id: nothing in it could be read with any key file", ErrKey)
	case id == "":
		if err := b.recordKeyID(); err != nil { // an empty store's backup
			return err
		}
	case id != b.keys.ID():
		return fmt.Errorf("%w: the backup was written with key %s and this store has key %s; restore with the key file the backup was written with", ErrKey, id, b.keys.ID())
	}
	ix, err := loadIndex(b.cdb, b.idx.Load().keys)
	if err != nil {
		return err
	}
	im, err := loadIDMirror(b.ldb)
	if err != nil {
		return err
	}
	b.head = head
	b.idx.Store(ix)
	b.ids.Store(im)
	b.subjects.clear() // the backup's subjects replaced this store's
	return nil
}

// RestoreResult says what RestoreDir did.
type RestoreResult struct {
	Stats  Stats
	Verify VerifyReport
	// MovedAside is where the previous data directory went (force only).
	MovedAside string
}

// RestoreDir restores a backup into the data directory dir. It restores
// into a new sibling directory first, verifies the ledger there, and only
// then puts it in place. If dir exists and is not empty it fails with
// ErrNotEmpty unless force is set; with force the old directory is moved
// aside (never deleted) to dir + ".old-<unix time>". opts.Dir and
// opts.InMemory are ignored.
//
// The backup holds ciphertext only: it reads with the key file it was
// written with. opts.KeyFile names that file where the restored store will
// use it; left empty, the key file in dir (KeyFileName), when there is one,
// is copied into the restored directory, and otherwise a store restored
// from a backup that has a key is refused (ErrKey).
func RestoreDir(ctx context.Context, dir string, r io.Reader, force bool, opts Options) (RestoreResult, error) {
	var res RestoreResult
	dir = filepath.Clean(dir)
	nonEmpty, err := dirNonEmpty(dir)
	if err != nil {
		return res, err
	}
	if nonEmpty && !force {
		return res, fmt.Errorf("%w: %s has data (use force to move it aside)", ErrNotEmpty, dir)
	}
	stamp := time.Now().Unix()
	tmp := fmt.Sprintf("%s.restore-%d", dir, stamp)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return res, err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return res, fmt.Errorf("restoring: %w", err)
	}
	opts.Dir, opts.InMemory = tmp, false
	if opts.KeyFile == "" {
		if old := filepath.Join(dir, KeyFileName); fileExists(old) {
			if _, err := seal.Copy(old, filepath.Join(tmp, KeyFileName)); err != nil {
				os.RemoveAll(tmp)
				return res, fmt.Errorf("restoring: keeping %s: %w", old, err)
			}
		}
	} else if !fileExists(opts.KeyFile) {
		os.RemoveAll(tmp)
		return res, fmt.Errorf("%w: %s does not exist; give the key file the backup was written with", ErrKey, opts.KeyFile)
	}
	br := bufio.NewReaderSize(r, chunkSize)
	older := false
	if hdr, err := br.Peek(len(backupMagic) + 4); err == nil && string(hdr[:len(backupMagic)]) == string(backupMagic) &&
		binary.BigEndian.Uint32(hdr[len(backupMagic):]) == formatVersion-1 {
		// A backup of the previous format: loaded as it is, then
		// migrated by the open, as its data directory would have been.
		older = true
		br.Discard(len(hdr))
		if err := loadOlder(ctx, br, opts); err != nil {
			os.RemoveAll(tmp)
			return res, fmt.Errorf("restoring: %w", err)
		}
	}
	s, err := OpenBadger(opts)
	if err != nil {
		os.RemoveAll(tmp)
		return res, err
	}
	if !older {
		err = s.Restore(ctx, br)
	}
	if err == nil {
		res.Verify, err = s.Verify(ctx)
	}
	if err == nil {
		res.Stats, err = s.Stats(ctx)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(tmp)
		return res, err
	}
	if _, err := os.Stat(dir); err == nil {
		if nonEmpty {
			res.MovedAside = fmt.Sprintf("%s.old-%d", dir, stamp)
			if err := os.Rename(dir, res.MovedAside); err != nil {
				return res, fmt.Errorf("moving old data aside: %w", err)
			}
		} else if err := removeKeyDir(dir); err != nil {
			return res, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return res, fmt.Errorf("putting restored data in place: %w", err)
	}
	return res, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dirNonEmpty reports whether dir holds data: anything but a key file, which
// an operator may have put in place for the restore.
func dirNonEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Name() != KeyFileName {
			return true, nil
		}
	}
	return false, nil
}

// removeKeyDir removes dir, which holds nothing or the key file alone, once
// the restored directory has its copy of the key.
func removeKeyDir(dir string) error {
	if err := os.Remove(filepath.Join(dir, KeyFileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Remove(dir)
}
