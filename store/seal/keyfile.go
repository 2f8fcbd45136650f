package seal

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Errors of the key file. Each comes wrapped with the file's path.
var (
	// ErrNoKeyFile: the key file does not exist.
	ErrNoKeyFile = errors.New("seal: no key file")
	// ErrKeyFilePermissions: others than the owner may read or write the file.
	ErrKeyFilePermissions = errors.New("seal: key file readable by others")
	// ErrKeyFileFormat: the file is not an optguard key file.
	ErrKeyFileFormat = errors.New("seal: not an optguard key file")
)

const (
	keyLine      = "optguard-key v1 "
	pseudonymLen = 16 // SipHash-2-4 key
	wrapLen      = 32 // AES-256 key that wraps subject keys
	secretLen    = pseudonymLen + wrapLen
)

const keyFileHeader = `# optguard installation key. Keep it secret (mode 0600) and back it up
# apart from the data directory: without it the numbers and texts in the
# store cannot be read, and with it a restored backup reads again.
`

// Keys is an installation's secret, loaded from its key file. It is safe
// for concurrent use.
type Keys struct {
	k0, k1 uint64      // SipHash key of the pseudonyms
	wrap   cipher.AEAD // AES-256-GCM under the wrapping key
	id     string
}

// newKeys makes Keys from the 48 secret bytes.
func newKeys(secret []byte) (*Keys, error) {
	if len(secret) != secretLen {
		return nil, fmt.Errorf("%w: %d secret bytes, want %d", ErrKeyFileFormat, len(secret), secretLen)
	}
	block, err := aes.NewCipher(secret[pseudonymLen:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("optguard key id\x00"), secret...))
	return &Keys{
		k0:   binary.LittleEndian.Uint64(secret[0:8]),
		k1:   binary.LittleEndian.Uint64(secret[8:16]),
		wrap: aead,
		id:   hex.EncodeToString(sum[:8]),
	}, nil
}

// ID is the key's fingerprint: 16 hex digits that say which key file a
// store was written with, and nothing about the key.
func (k *Keys) ID() string { return k.id }

// Load reads the key file at path. It refuses a file that others than its
// owner may read or write (ErrKeyFilePermissions), one that does not exist
// (ErrNoKeyFile) and one that is not a key file (ErrKeyFileFormat, with the
// line).
func Load(path string) (*Keys, error) {
	k, _, err := load(path)
	return k, err
}

// load is Load, and the file's contents.
func load(path string) (*Keys, []byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoKeyFile, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFileFormat, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, nil, fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s", ErrKeyFilePermissions, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("key file: %w", err)
	}
	secret, err := parseKeyFile(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	k, err := newKeys(secret)
	return k, b, err
}

// parseKeyFile returns the secret of a key file's contents: comment and
// blank lines, and exactly one key line.
func parseKeyFile(b []byte) ([]byte, error) {
	var secret []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case secret != nil:
			return nil, fmt.Errorf("%w: line %d: a second key", ErrKeyFileFormat, line)
		case !strings.HasPrefix(t, keyLine):
			return nil, fmt.Errorf("%w: line %d: want %q and the key", ErrKeyFileFormat, line, strings.TrimSpace(keyLine))
		}
		s, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(t, keyLine))
		if err != nil || len(s) != secretLen {
			return nil, fmt.Errorf("%w: line %d: the key is not %d bytes of base64", ErrKeyFileFormat, line, secretLen)
		}
		secret = s
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFileFormat, err)
	}
	if secret == nil {
		return nil, fmt.Errorf("%w: no key line", ErrKeyFileFormat)
	}
	return secret, nil
}

// Generate returns new Keys that no file holds: for a store that lives in
// memory only and ends with its process.
func Generate() *Keys {
	k, _ := generate()
	return k
}

// generate returns new Keys and their secret.
func generate() (*Keys, []byte) {
	secret := make([]byte, secretLen)
	rand.Read(secret)
	k, err := newKeys(secret)
	if err != nil {
		panic(err) // 48 bytes always make Keys
	}
	return k, secret
}

// Copy writes the key file at src to dst as Create would (mode 0600,
// synced, never over a file that exists), after checking that it loads.
func Copy(src, dst string) (*Keys, error) {
	k, b, err := load(src)
	if err != nil {
		return nil, err
	}
	if err := writeNew(dst, b); err != nil {
		return nil, err
	}
	return k, nil
}

// Create generates a new secret and writes it to a new key file at path
// (writeNew: mode 0600, synced, never over a file that exists).
func Create(path string) (*Keys, error) {
	k, secret := generate()
	content := keyFileHeader + keyLine + base64.RawStdEncoding.EncodeToString(secret) + "\n"
	if err := writeNew(path, []byte(content)); err != nil {
		return nil, err
	}
	return k, nil
}

// writeNew writes content to a new file at path, mode 0600, synced, under
// a temporary name linked into place: a crash leaves no file or a whole one,
// and a file that exists is never replaced (fs.ErrExist).
func writeNew(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	f, err := os.CreateTemp(dir, ".optguard-key-*")
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(content)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("key file: writing %s: %w", tmp, err)
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
