package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, KeySize)
	key[0] = 7
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("my secret")
	if err != nil || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, "my secret") {
		t.Fatalf("Seal = %q, %v", sealed, err)
	}
	again, _ := s.Seal("my secret")
	if again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	if plain, err := s.Open(sealed); err != nil || plain != "my secret" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if plain, err := s.Open("legacy-plain"); err != nil || plain != "legacy-plain" {
		t.Fatalf("Open(legacy) = %q, %v", plain, err)
	}
	other, _ := New(make([]byte, KeySize))
	if _, err := other.Open(sealed); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("Open with another key = %v, want an error naming the master key", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := s.Open(tampered); err == nil {
		t.Fatal("a tampered value opened")
	}
	if _, err := New(key[:16]); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}

func TestLoadKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadKey("", file)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first LoadKey = %d bytes, created %v, %v", len(k1), created, err)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, created, err := LoadKey("", file)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("second LoadKey must reuse the file: created %v, %v", created, err)
	}
	hexKey := strings.Repeat("ab", 32)
	k3, _, err := LoadKey(hexKey, file)
	if err != nil || k3[0] != 0xab {
		t.Fatalf("LoadKey(hex) = %x, %v", k3, err)
	}
	if _, _, err := LoadKey("short", file); err == nil {
		t.Fatal("a malformed MOAT_MASTER_KEY was accepted")
	}
}
