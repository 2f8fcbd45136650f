package seal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCreateThenLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "optguard.key")
	k, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte("# optguard installation key")) {
		t.Errorf("key file does not start with its explanation:\n%s", b)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.ID() != k.ID() || len(k.ID()) != 16 {
		t.Fatalf("ID %q after load, %q at create", l.ID(), k.ID())
	}
	if l.Pseudonym([]byte("15551230007")) != k.Pseudonym([]byte("15551230007")) {
		t.Fatal("the pseudonym changed across a load")
	}
	id, key, wrapped := k.NewSubject()
	sealed := key.Seal(nil, []byte("+15551230007"), id[:])
	key2, err := l.Unwrap(id, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := key2.Open(nil, sealed, id[:]); err != nil || string(got) != "+15551230007" {
		t.Fatalf("open after load = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the key file's directory holds %d entries, want the key file alone", len(entries))
	}

	// Create never replaces a key: the data it protects would be lost.
	if _, err := Create(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing key file: %v, want fs.ErrExist", err)
	}
	if again, err := Load(path); err != nil || again.ID() != k.ID() {
		t.Fatalf("the key file changed: %v", err)
	}
	if other, err := Create(filepath.Join(t.TempDir(), "k")); err != nil || other.ID() == k.ID() || other.Pseudonym([]byte("15551230007")) == k.Pseudonym([]byte("15551230007")) {
		t.Fatalf("a second installation's key is not its own: %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none")); !errors.Is(err, ErrNoKeyFile) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "k")
	if _, err := Create(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrKeyFilePermissions) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Errorf("world-readable file: %v", err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrKeyFileFormat) {
		t.Errorf("a directory: %v", err)
	}
}

func TestParseKeyFile(t *testing.T) {
	good := keyLine + strings.Repeat("A", 64) // 48 zero bytes
	for _, c := range []struct {
		name, text, want string // want: "" for accepted, else a part of the error
	}{
		{"key alone", good + "\n", ""},
		{"comments and blanks", "# x\n\n  " + good + "  \n# y\n", ""},
		{"no newline", good, ""},
		{"empty", "", "no key line"},
		{"comments only", "# nothing\n", "no key line"},
		{"two keys", good + "\n" + good + "\n", "line 2: a second key"},
		{"other text", "# c\nhello\n", "line 2: want \"optguard-key v1\""},
		{"short key", keyLine + "AAAA\n", "line 1: the key is not 48 bytes"},
		{"not base64", keyLine + strings.Repeat("*", 64) + "\n", "line 1: the key is not 48 bytes"},
		{"another version", "optguard-key v2 " + strings.Repeat("A", 64) + "\n", "line 1: want"},
	} {
		s, err := parseKeyFile([]byte(c.text))
		switch {
		case c.want == "" && (err != nil || len(s) != secretLen):
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !errors.Is(err, ErrKeyFileFormat) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one with %q", c.name, err, c.want)
		}
	}
}

// fixedKeys are Keys from a known secret, for the golden values.
func fixedKeys(t testing.TB) *Keys {
	secret := make([]byte, secretLen)
	for i := range secret {
		secret[i] = byte(i)
	}
	k, err := newKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPseudonymIsSipHash128 checks the pseudonym against SipHash-2-4-128's
// reference vectors (github.com/veorq/SipHash vectors.h, vectors_sip128[8]
// and [11]: key 00..0f, the messages 00..07 and 00..0a): pseudonyms are
// keys on disk, so the function may never change without a store
// migration.
func TestPseudonymIsSipHash128(t *testing.T) {
	k := fixedKeys(t) // its pseudonym key is 00..0f
	for n, want := range map[int]string{
		8:  "3b62a9ba6258f5610f83e264f31497b4",
		11: "0151c568386b6677a2b4dc6f81e5dc18",
	} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i)
		}
		if got := k.Pseudonym(msg).String(); got != want {
			t.Fatalf("SipHash-128 of %d bytes 00.. = %s, want %s", n, got, want)
		}
	}
	digits := []byte("15551230007")
	p := k.Pseudonym(digits)
	hi, lo := k.PseudonymWords(digits)
	if h, l := p.Words(); h != hi || l != lo {
		t.Fatal("Words does not give PseudonymWords back")
	}
	seen := map[Pseudonym]int{}
	for n := 15550000000; n < 15550010000; n++ {
		p := k.Pseudonym(strconv.AppendInt(nil, int64(n), 10))
		if m, dup := seen[p]; dup {
			t.Fatalf("%d and %d share a pseudonym", m, n)
		}
		seen[p] = n
	}
	if a := testing.AllocsPerRun(1000, func() { p = k.Pseudonym(digits) }); a != 0 {
		t.Fatalf("Pseudonym allocates %v times", a)
	}
}

func TestSubjectKeys(t *testing.T) {
	k := fixedKeys(t)
	id, key, wrapped := k.NewSubject()
	if id.IsZero() || !key.Valid() || len(wrapped) != Overhead+subjectKeyLn {
		t.Fatalf("NewSubject: id %s, %d wrapped bytes", id, len(wrapped))
	}
	other, _, _ := k.NewSubject()
	if other == id {
		t.Fatal("two subjects with one id")
	}
	aad := []byte("event 7")
	sealed := key.Seal([]byte("prefix"), []byte("STOP"), aad)
	if !bytes.HasPrefix(sealed, []byte("prefix")) || len(sealed) != len("prefix")+Overhead+len("STOP") {
		t.Fatalf("sealed %x", sealed)
	}
	sealed = sealed[len("prefix"):]
	if bytes.Contains(sealed, []byte("STOP")) {
		t.Fatal("the plaintext shows in the sealed value")
	}
	if got, err := key.Open(nil, sealed, aad); err != nil || string(got) != "STOP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if again := key.Seal(nil, []byte("STOP"), aad); bytes.Equal(again, sealed) {
		t.Fatal("sealing twice gave the same bytes: the nonce is not random")
	}

	unwrapped, err := k.Unwrap(id, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := unwrapped.Open(nil, sealed, aad); err != nil || string(got) != "STOP" {
		t.Fatalf("Open with the unwrapped key = %q, %v", got, err)
	}

	// What must not open.
	if _, err := k.Unwrap(other, wrapped); !errors.Is(err, ErrSealed) {
		t.Errorf("a key unwrapped for another subject: %v", err)
	}
	if _, err := Create(filepath.Join(t.TempDir(), "k")); err != nil {
		t.Fatal(err)
	}
	stranger, _ := Create(filepath.Join(t.TempDir(), "k2"))
	if _, err := stranger.Unwrap(id, wrapped); !errors.Is(err, ErrSealed) {
		t.Errorf("a key unwrapped under another installation's key: %v", err)
	}
	_, otherKey, _ := k.NewSubject()
	for name, c := range map[string]struct {
		key    SubjectKey
		sealed []byte
		aad    []byte
	}{
		"another subject's key": {otherKey, sealed, aad},
		"another aad":           {key, sealed, []byte("event 8")},
		"a flipped bit":         {key, flip(sealed, 20), aad},
		"a flipped version":     {key, flip(sealed, 0), aad},
		"cut short":             {key, sealed[:len(sealed)-1], aad},
		"empty":                 {key, nil, aad},
		"the zero key":          {SubjectKey{}, sealed, aad},
	} {
		if got, err := c.key.Open(nil, c.sealed, c.aad); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: Open = %q, %v; want ErrSealed", name, got, err)
		}
	}
	if _, err := k.Unwrap(id, flip(wrapped, 30)); !errors.Is(err, ErrSealed) {
		t.Errorf("a changed wrapped key: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(keyLine + strings.Repeat("A", 64) + "\n"))
	f.Add([]byte("# c\n\n" + keyLine + "AAAA\n"))
	f.Add([]byte(keyFileHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseKeyFile(b)
		if err == nil && len(s) != secretLen {
			t.Fatalf("accepted a %d-byte secret", len(s))
		}
		if err != nil && !errors.Is(err, ErrKeyFileFormat) {
			t.Fatalf("error %v is not ErrKeyFileFormat", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	k := fixedKeys(f)
	id, key, wrapped := k.NewSubject()
	f.Add(key.Seal(nil, []byte("STOP"), nil))
	f.Add(wrapped)
	f.Add([]byte{sealVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Nothing but what was sealed opens; nothing panics.
		if got, err := key.Open(nil, b, nil); err == nil && string(got) != "STOP" {
			t.Fatalf("forged bytes opened to %q", got)
		}
		if _, err := k.Unwrap(id, b); err == nil && !bytes.Equal(b, wrapped) {
			t.Fatal("forged bytes unwrapped")
		}
	})
}
