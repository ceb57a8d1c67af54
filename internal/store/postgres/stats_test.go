package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"moat/internal/store/postgres"
)

func TestPoolStatsAndNonceCount(t *testing.T) {
	dsn := freshDB(t, false)
	s := open(t, dsn, postgres.Options{MaxConns: 5})
	if _, _, maxOpen := s.PoolStats(); maxOpen != 5 {
		t.Errorf("PoolStats max = %d, want 5", maxOpen)
	}
	exp := time.Now().Add(time.Hour)
	for i := range 300 {
		if fresh, err := s.UseNonce(t.Context(), "LTAIstats", fmt.Sprint("n", i), exp); err != nil || !fresh {
			t.Fatalf("UseNonce %d: %v %v", i, fresh, err)
		}
	}
	// Exact before the table was ever analyzed (the planner's estimate
	// would say 0), and after.
	n, err := s.NonceCount(t.Context())
	if err != nil || n != 300 {
		t.Fatalf("NonceCount = %d, %v; want 300", n, err)
	}
	exec(t, dsn, "ANALYZE nonces")
	for i := range 5 {
		if _, err := s.UseNonce(t.Context(), "LTAIstats", fmt.Sprint("after", i), exp); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.NonceCount(t.Context()); err != nil || n != 305 {
		t.Fatalf("NonceCount = %d, %v; want 305 (the estimate after ANALYZE says 300)", n, err)
	}
	if _, idle, _ := s.PoolStats(); idle < 1 {
		t.Errorf("PoolStats idle = %d after reads, want at least 1", idle)
	}
}
