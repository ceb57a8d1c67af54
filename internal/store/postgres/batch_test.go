package postgres_test

import (
	"testing"

	"moat/internal/moat"
	"moat/internal/store/postgres"
)

// TestCreateMaxCount creates the largest admin batch (moat.MaxCreateCount
// instances in one transaction) with the store's default deadlines.
// Each instance moves the region's IP cursor and its listing's counter;
// written row by row, those thousands of updates of one row in one
// transaction made the creation quadratic (PostgreSQL walks every version
// of the row the transaction wrote): about ten seconds, at OpTimeout, and
// past it for a creation queued behind another on the IP cursor. They are
// now written once, before COMMIT.
func TestCreateMaxCount(t *testing.T) {
	dsn := freshDB(t, false)
	s := open(t, dsn, postgres.Options{MaxConns: 4})
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccount(moat.Account{ID: acct, ResourceGroupID: "rg-acfmtest"})
	}); err != nil {
		t.Fatal(err)
	}
	svc := service(t, s)
	if _, err := svc.CreateInstances(t.Context(), moat.NewInstances{AccountID: acct, Region: moat.RegionMainland, Count: moat.MaxCreateCount}); err != nil {
		t.Fatalf("CreateInstances(%d): %v", moat.MaxCreateCount, err)
	}
	const want = moat.MaxCreateCount
	if n, err := s.CountInstances(t.Context(), moat.InstanceFilter{AccountID: acct, Region: moat.RegionMainland}); err != nil || n != want {
		t.Fatalf("CountInstances = %d, %v; want %d", n, err, want)
	}
	if n := queryInt(t, dsn, `SELECT count(DISTINCT ip) FROM instances`); n != want {
		t.Fatalf("%d distinct IPs, want %d", n, want)
	}
	if n := queryInt(t, dsn, `SELECT next FROM ip_cursor`); n != want {
		t.Fatalf("IP cursor at %d, want %d", n, want)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM events WHERE type = 'created'`); n != want {
		t.Fatalf("%d created events, want %d", n, want)
	}
}
