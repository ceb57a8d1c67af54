package postgres_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// statementCounter counts the statements that start with a prefix.
type statementCounter struct {
	prefix string
	n      atomic.Int64
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(strings.TrimSpace(d.SQL), c.prefix) {
		c.n.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestLifecycleBatchOneUpdate pins that a lifecycle batch writes its
// instances' phases in one UPDATE, not one per instance: each instance
// appends an event and defers its phase change, and appending an event
// once flushed the deferred changes, turning a batch of 500 into 500
// round trips (100,000 expiries took 39 s instead of 6).
func TestLifecycleBatchOneUpdate(t *testing.T) {
	dsn := freshDB(t, false)
	updates := &statementCounter{prefix: "UPDATE instances"}
	s := open(t, dsn, postgres.Options{MaxConns: 4, Tracer: updates})
	if err := s.Update(t.Context(), func(tx moat.Tx) error {
		return tx.InsertAccount(moat.Account{ID: acct, ResourceGroupID: "rg-acfmtest"})
	}); err != nil {
		t.Fatal(err)
	}
	svc := service(t, s)
	hour := time.Hour
	const count, batch = 2000, 500
	if _, err := svc.CreateInstances(t.Context(), moat.NewInstances{AccountID: acct, Region: moat.RegionMainland, Count: count, ExpireIn: &hour}); err != nil {
		t.Fatal(err)
	}
	advance := 2 * time.Hour
	if _, _, err := svc.MoveClock(t.Context(), nil, &advance); err != nil {
		t.Fatal(err)
	}
	before := updates.n.Load()
	applied, passes := 0, 0
	for {
		n, err := svc.ApplyDue(t.Context(), batch)
		if err != nil {
			t.Fatal(err)
		}
		passes++
		if n == 0 {
			break
		}
		applied += n
	}
	if applied != count {
		t.Fatalf("applied %d transitions, want %d", applied, count)
	}
	if got := updates.n.Load() - before; got > int64(passes) {
		t.Errorf("%d UPDATE statements on instances for %d expiries in %d passes of up to %d; want at most one per pass", got, count, passes, batch)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM instances WHERE phase = $1`, int16(moat.PhaseExpired)); n != count {
		t.Errorf("%d instances in phase expired, want %d", n, count)
	}
}
