package store

import (
	"bytes"
	"testing"
)

// What is saved is read back after the store is closed and opened again,
// replaced by the next save, and absent keys say so.
func TestLearnedSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	if _, ok, err := s.LoadLearned("idform/acme"); ok || err != nil {
		t.Fatalf("LoadLearned of nothing = %v, %v", ok, err)
	}
	if err := s.SaveLearned(ctx, "idform/acme", []byte("hex")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveLearned(ctx, "idform/acme", []byte("dec")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveLearned(ctx, "", []byte("x")); err == nil {
		t.Error("SaveLearned took an empty key")
	}
	if err := s.SaveLearned(ctx, "big", make([]byte, maxLearnedValue+1)); err == nil {
		t.Error("SaveLearned took an oversized value")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir})
	if v, ok, err := s.LoadLearned("idform/acme"); !ok || err != nil || !bytes.Equal(v, []byte("dec")) {
		t.Fatalf("after reopening: %q, %v, %v; want the last value saved", v, ok, err)
	}
	if _, err := s.Verify(ctx); err != nil {
		t.Fatalf("Verify after saving: %v", err)
	}
}
