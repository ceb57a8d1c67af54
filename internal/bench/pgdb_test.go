package bench

import (
	"strings"
	"testing"
)

func TestPlanPostgres(t *testing.T) {
	for _, tc := range []struct {
		in               string
		url, name, admin string
		reuse            bool
		wantErr          string
	}{
		// A server URL: a fresh database there; the maintenance connection
		// keeps the URL's database and drops pgxpool's settings.
		{in: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&pool_max_conns=32",
			url: "postgres://postgres@127.0.0.1:5432/moat_bench_abc123?sslmode=disable&pool_max_conns=32", name: "moat_bench_abc123",
			admin: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{in: "postgresql://u:pw@db.example:5433", url: "postgresql://u:pw@db.example:5433/moat_bench_abc123", name: "moat_bench_abc123",
			admin: "postgresql://u:pw@db.example:5433/postgres"},
		// A bench database: used as it is, kept.
		{in: "postgres://postgres@127.0.0.1/moat_bench_1m", url: "postgres://postgres@127.0.0.1/moat_bench_1m", name: "moat_bench_1m",
			admin: "postgres://postgres@127.0.0.1/postgres", reuse: true},
		{in: "postgres://postgres@127.0.0.1/moat_bench_Bad-Name", wantErr: "a bench database is"},
		{in: "postgres:///moat_bench_x", wantErr: "want postgres://"},
		{in: "/var/tmp/moat.db", wantErr: "want postgres://"},
	} {
		p, err := planPostgres(tc.in, "abc123")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("planPostgres(%q) = %+v, %v; want an error with %q", tc.in, p, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("planPostgres(%q): %v", tc.in, err)
			continue
		}
		if p.URL != tc.url || p.Name != tc.name || p.AdminURL != tc.admin || p.Reuse != tc.reuse {
			t.Errorf("planPostgres(%q) = %+v\nwant URL %s name %s admin %s reuse %v", tc.in, p, tc.url, tc.name, tc.admin, tc.reuse)
		}
	}
	if got := redactURL("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redactURL kept the password: %s", got)
	}
}

func TestRedactArgs(t *testing.T) {
	got := RedactArgs([]string{"moat", "bench", "--db", "postgres://u:pw@h/db", "--db=postgresql://u:pw@h/x", "--mix=describe=1"})
	want := []string{"moat", "bench", "--db", "postgres://u:xxxxx@h/db", "--db=postgresql://u:xxxxx@h/x", "--mix=describe=1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
