package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"moat/internal/moat"
)

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "m.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 200 {
		if err := s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting(fmt.Sprint("before-", i), "v") }); err != nil {
			t.Fatal(err)
		}
	}
	if fresh, err := s.UseNonce(ctx, "k", "used-before", time.Now().Add(time.Hour)); err != nil || !fresh {
		t.Fatal(fresh, err)
	}
	if err := s.AppendAudit(ctx, []moat.AuditRecord{{Time: time.Now(), AccountID: "a", Action: "ddoscoo:ReleaseInstance", RequestID: "r1"}}); err != nil {
		t.Fatal(err)
	}
	// Writers keep going during the backup.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Update(ctx, func(tx moat.Tx) error { return tx.SetSetting(fmt.Sprint("during-", i), "v") })
		}
	}()
	dst := filepath.Join(dir, "backup", "copy.db")
	var seen []string
	files, err := Backup(ctx, filepath.Join(dir, "m.db"), dst, func(f BackupFile) { seen = append(seen, f.To) })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || len(seen) != 3 || files[0].Pages == 0 || files[0].Bytes == 0 {
		t.Fatalf("Backup copied %+v (progress %v), want the main, nonce and audit files", files, seen)
	}
	if _, err := Backup(ctx, filepath.Join(dir, "m.db"), dst, nil); err == nil {
		t.Fatal("a second backup onto the same destination succeeded; want a refusal")
	}

	b, err := Open(ctx, dst, Options{NoMigrate: true})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer b.Close()
	for i := range 200 {
		if v, err := b.Setting(ctx, fmt.Sprint("before-", i)); err != nil || v != "v" {
			t.Fatalf("backup lacks before-%d: %q %v", i, v, err)
		}
	}
	if fresh, err := b.UseNonce(ctx, "k", "used-before", time.Now().Add(time.Hour)); err != nil || fresh {
		t.Errorf("the backup forgot a used nonce (fresh=%v, %v)", fresh, err)
	}
	recs, err := b.Audit(ctx, moat.AuditFilter{})
	if err != nil || len(recs) != 1 || recs[0].RequestID != "r1" {
		t.Errorf("backup audit = %+v, %v", recs, err)
	}
}

func TestBackupMissingSource(t *testing.T) {
	if _, err := Backup(context.Background(), filepath.Join(t.TempDir(), "nope.db"), filepath.Join(t.TempDir(), "b.db"), nil); err == nil {
		t.Fatal("backup of a missing store succeeded")
	}
}
