package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql":  {Data: []byte("B")},
		"m/0010_c.sql":  {Data: []byte("C")},
		"m/0001_a.sql":  {Data: []byte("A")},
		"x/0001_a.sql":  {Data: []byte("A")},
		"x/0001_b.sql":  {Data: []byte("B")},
		"y/notes.txt":   {Data: []byte("")},
		"z/0003_a.txt":  {Data: []byte("")},
		"w/0000_a.sql":  {Data: []byte("")},
		"v/12ab_a.sql":  {Data: []byte("")},
		"u/0004_x.sql":  {Data: []byte("X")},
		"u/0004_x.sqlx": {Data: []byte("X")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	if strings.Join(got, ",") != "0001_a.sql=A,0002_b.sql=B,0010_c.sql=C" || Latest(ms) != 10 {
		t.Fatalf("Load = %v, Latest %d", got, Latest(ms))
	}
	if Latest(nil) != 0 {
		t.Error("Latest(nil) != 0")
	}
	for _, dir := range []string{"x", "y", "z", "w", "v", "u", "missing"} {
		if _, err := Load(fsys, dir); err == nil {
			t.Errorf("Load(%s) accepted a bad directory", dir)
		}
	}
}
