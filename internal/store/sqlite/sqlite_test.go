package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"moat/internal/moat"
	"moat/internal/store/sqlite"
	"moat/internal/store/storetest"
)

func openAt(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) moat.Store {
		s := openAt(t, filepath.Join(t.TempDir(), "moat.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestReopenKeepsCommittedData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "moat.db") // Open creates the directory
	base := time.Date(2031, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	in := moat.Instance{
		ID: "ddoscoo-cn-reopen00001", AccountID: "1000000000000001", Region: moat.RegionMainland, IP: "100.64.0.1",
		Remark: "survives", Edition: moat.EditionProfession, ResourceGroupID: "rg-1",
		CreateTime: base, ExpireTime: base.Add(time.Hour), Phase: moat.PhaseExpired,
	}
	var ev moat.Event

	s := openAt(t, path)
	err := s.Update(context.Background(), func(tx moat.Tx) error {
		if err := tx.InsertAccount(moat.Account{ID: in.AccountID, CreatedAt: base}); err != nil {
			return err
		}
		if err := tx.InsertInstance(&in); err != nil {
			return err
		}
		if err := tx.SetTags(in.ID, []moat.Tag{{Key: "env", Value: "prod"}}); err != nil {
			return err
		}
		ev = moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: moat.EventCreated}
		if err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		if err := tx.PushFreeIP(moat.RegionMainland, 77); err != nil {
			return err
		}
		if err := tx.SetIPCursor(moat.RegionMainland, "pool", 12); err != nil {
			return err
		}
		return tx.SetSetting(moat.SettingClockOffset, "123")
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if fresh, err := s.UseNonce(context.Background(), "LTAIkey", "nonce-1", base.Add(time.Hour)); err != nil || !fresh {
		t.Fatalf("UseNonce = %v, %v", fresh, err)
	}
	// An uncommitted (failed) write is not there after reopening either.
	failed := errors.New("not kept")
	if err := s.Update(context.Background(), func(tx moat.Tx) error {
		if err := tx.SetSetting("lost", "x"); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing Update = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openAt(t, path)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	got, err := s.Instance(ctx, in.ID)
	if err != nil || got != in {
		t.Errorf("Instance after reopen = %+v, %v; want %+v", got, err, in)
	}
	f := moat.InstanceFilter{AccountID: in.AccountID, Region: in.Region}
	if n, err := s.CountInstances(ctx, f); err != nil || n != 1 {
		t.Errorf("CountInstances after reopen = %d, %v; want 1", n, err)
	}
	f.Tags = []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}
	if l, err := s.Instances(ctx, f); err != nil || len(l) != 1 {
		t.Errorf("tag-filtered Instances after reopen = %+v, %v; want one", l, err)
	}
	if a, err := s.Account(ctx, in.AccountID); err != nil || !a.CreatedAt.Equal(base) {
		t.Errorf("Account after reopen = %+v, %v", a, err)
	}
	if evs, err := s.Events(ctx, moat.EventFilter{}); err != nil || len(evs) != 1 || evs[0].Seq != ev.Seq {
		t.Errorf("Events after reopen = %+v, %v; want seq %d", evs, err, ev.Seq)
	}
	if v, err := s.Setting(ctx, moat.SettingClockOffset); err != nil || v != "123" {
		t.Errorf("Setting after reopen = %q, %v; want 123", v, err)
	}
	if v, err := s.Setting(ctx, "lost"); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("Setting(lost) after reopen = %q, %v; want ErrNotFound", v, err)
	}
	if fresh, err := s.UseNonce(ctx, "LTAIkey", "nonce-1", base.Add(time.Hour)); err != nil || fresh {
		t.Errorf("UseNonce after reopen = %v, %v; want false", fresh, err)
	}
	err = s.Update(ctx, func(tx moat.Tx) error {
		if ip, ok, err := tx.PopFreeIP(moat.RegionMainland, 0, 100); err != nil || !ok || ip != 77 {
			t.Errorf("PopFreeIP after reopen = %d, %v, %v; want 77", ip, ok, err)
		}
		if c, err := tx.IPCursor(moat.RegionMainland, "pool"); err != nil || c != 12 {
			t.Errorf("IPCursor after reopen = %d, %v; want 12", c, err)
		}
		// The ID sequence of events continues past the reopened ones.
		e := moat.Event{Time: base, RecordedAt: base, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: moat.EventExpired}
		if err := tx.AppendEvent(&e); err != nil {
			return err
		}
		if e.Seq <= ev.Seq {
			t.Errorf("Seq after reopen = %d, want > %d", e.Seq, ev.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update after reopen: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	s := openAt(t, path)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if sqlite.SchemaVersion() < 1 {
		t.Fatalf("SchemaVersion() = %d, want at least 1", sqlite.SchemaVersion())
	}
	future := sqlite.SchemaVersion() + 1

	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var cur int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&cur); err != nil || cur != sqlite.SchemaVersion() {
		t.Fatalf("schema_migrations max version = %d, %v; want %d", cur, err, sqlite.SchemaVersion())
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, ?, ?)`, future, "9999_future.sql", 0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err == nil {
		s2.Close()
		t.Fatal("Open of a database with a newer schema succeeded, want an error")
	}
	if !strings.Contains(err.Error(), strconv.Itoa(future)) {
		t.Errorf("Open error %q does not mention the database's version %d", err, future)
	}
}

func TestOpenRejectsEmptyPath(t *testing.T) {
	if s, err := sqlite.Open(context.Background(), "", sqlite.Options{}); err == nil {
		s.Close()
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestUpdateAfterCloseFails(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "moat.db"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	ran := false
	err := s.Update(context.Background(), func(tx moat.Tx) error { ran = true; return nil })
	if err == nil {
		t.Fatal("Update after Close returned nil")
	}
	if ran {
		t.Error("Update after Close ran its fn")
	}
	if k := moat.ErrorKind(err); k != moat.KindUnavailable {
		t.Errorf("Update after Close: kind %v, want %v", k, moat.KindUnavailable)
	}
}

// TestManyQueryShapes: more distinct filter shapes than the statement
// cache holds still answer correctly (past the bound they run unprepared).
func TestManyQueryShapes(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "moat.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 300; i++ {
		tags := make([]moat.TagFilter, i%40+1)
		for j := range tags {
			tags[j] = moat.TagFilter{Key: "k", Value: "v", HasValue: (i>>uint(j%8))&1 == 1}
		}
		f := moat.InstanceFilter{AccountID: "a", Region: moat.RegionMainland, Tags: tags, RemarkContains: strings.Repeat("x", i%3)}
		if _, err := s.Instances(ctx, f); err != nil {
			t.Fatalf("shape %d: %v", i, err)
		}
		if n, err := s.CountInstances(ctx, f); err != nil || n != 0 {
			t.Fatalf("shape %d: count %d %v", i, n, err)
		}
	}
}
