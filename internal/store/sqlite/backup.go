package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// BackupFile is one database file a backup copied.
type BackupFile struct {
	From, To string
	Pages    int
	Bytes    int64
}

// Files lists the database files of the store at path: the main database,
// its nonce log and its audit log.
func Files(path string) []string { return []string{path, NoncePath(path), AuditPath(path)} }

// Backup copies the store at src to dst (and dst's nonce and audit files)
// with SQLite's online backup API, while moat may be serving from src:
// each file is copied as one consistent snapshot (a read transaction, which
// in WAL mode does not block writers). dst must not exist. progress, if
// set, is called after each file.
func Backup(ctx context.Context, src, dst string, progress func(BackupFile)) ([]BackupFile, error) {
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("sqlite: backup source: %w", err)
	}
	if dir := filepath.Dir(dst); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: backup destination: %w", err)
		}
	}
	srcs, dsts := Files(src), Files(dst)
	for _, d := range dsts {
		if _, err := os.Stat(d); err == nil {
			return nil, fmt.Errorf("sqlite: backup destination %s exists; choose a new path", d)
		}
	}
	var done []BackupFile
	for i := range srcs {
		if _, err := os.Stat(srcs[i]); errors.Is(err, os.ErrNotExist) && i > 0 {
			continue // a store written before this file existed
		}
		f, err := backupFile(ctx, srcs[i], dsts[i])
		if err != nil {
			for _, d := range dsts {
				os.Remove(d)
			}
			return nil, err
		}
		done = append(done, f)
		if progress != nil {
			progress(f)
		}
	}
	return done, nil
}

func backupFile(ctx context.Context, from, to string) (BackupFile, error) {
	f := BackupFile{From: from, To: to}
	sdb, err := sql.Open("sqlite3", "file:"+from+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return f, err
	}
	defer sdb.Close()
	ddb, err := sql.Open("sqlite3", "file:"+to+"?_busy_timeout=10000")
	if err != nil {
		return f, err
	}
	defer ddb.Close()
	sc, err := sdb.Conn(ctx)
	if err != nil {
		return f, fmt.Errorf("sqlite: open %s: %w", from, err)
	}
	defer sc.Close()
	dc, err := ddb.Conn(ctx)
	if err != nil {
		return f, fmt.Errorf("sqlite: create %s: %w", to, err)
	}
	defer dc.Close()
	err = dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			dconn, ok1 := d.(*sqlite3.SQLiteConn)
			sconn, ok2 := s.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("sqlite: not a go-sqlite3 connection")
			}
			b, err := dconn.Backup("main", sconn, "main")
			if err != nil {
				return err
			}
			// One step of every page: a single consistent snapshot.
			if _, err := b.Step(-1); err != nil {
				b.Close()
				return err
			}
			f.Pages = b.PageCount()
			return b.Finish()
		})
	})
	if err != nil {
		return f, fmt.Errorf("sqlite: back up %s to %s: %w", from, to, err)
	}
	if _, err := dc.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return f, fmt.Errorf("sqlite: %s: %w", to, err)
	}
	if st, err := os.Stat(to); err == nil {
		f.Bytes = st.Size()
	}
	return f, nil
}
