package moat_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/secrets"
	"moat/internal/store/sqlite"
)

func TestCheckMasterKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "moat.db")
	open := func(key byte) (*moat.Service, func()) {
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := secrets.New(bytes.Repeat([]byte{key}, secrets.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		svc, err := moat.NewService(moat.Config{Store: st, Clock: moat.NewServerClock(time.Now), Sealer: sl})
		if err != nil {
			t.Fatal(err)
		}
		return svc, func() { svc.Close(); st.Close() }
	}
	svc, done := open(1)
	if err := svc.CheckMasterKey(ctx); err != nil {
		t.Fatalf("first check (records the value): %v", err)
	}
	if err := svc.CheckMasterKey(ctx); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	done()
	svc, done = open(2)
	err := svc.CheckMasterKey(ctx)
	done()
	if err == nil || !strings.Contains(err.Error(), "MOAT_MASTER_KEY") {
		t.Fatalf("another key: %v, want a refusal naming MOAT_MASTER_KEY", err)
	}
	svc, done = open(1)
	defer done()
	if err := svc.CheckMasterKey(ctx); err != nil {
		t.Fatalf("the first key after a refusal: %v", err)
	}
}
