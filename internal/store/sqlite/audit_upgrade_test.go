package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlite"
)

// TestAuditFileWithoutResourceCount pins the upgrade of an audit file
// written before records kept ResourceCount: the store adds the column at
// open, an old record reads back whole (with ResourceCount 0, which the
// admin listing shows as the length of its list), and new records keep
// their count.
func TestAuditFileWithoutResourceCount(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "moat.db")
	old, err := sql.Open("sqlite3", "file:"+sqlite.AuditPath(path))
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, account_id TEXT NOT NULL,
		principal TEXT NOT NULL, source_ip TEXT NOT NULL, action TEXT NOT NULL, resources TEXT NOT NULL, code TEXT NOT NULL, request_id TEXT NOT NULL);
		INSERT INTO audit VALUES (1, 0, '1000000000000001', 'root', '127.0.0.1', 'ddoscoo:ReleaseInstance', '["i-1","i-2"]', 'OK', 'R-old');`)
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AppendAudit(ctx, []moat.AuditRecord{{Time: time.UnixMilli(1), AccountID: "1000000000000001", Principal: "root",
		Action: "ddoscoo:DescribeInstanceSpecs", Resources: []string{"i-3"}, ResourceCount: 990, Code: "OK", RequestID: "R-new"}}); err != nil {
		t.Fatal(err)
	}
	recs, err := st.Audit(ctx, moat.AuditFilter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("Audit = %+v, %v", recs, err)
	}
	if recs[0].RequestID != "R-old" || len(recs[0].Resources) != 2 || recs[1].RequestID != "R-new" || recs[1].ResourceCount != 990 {
		t.Fatalf("records %+v; want the old one with its two IDs and the new one with ResourceCount 990", recs)
	}
}
