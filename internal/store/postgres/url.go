package postgres

import "strings"

// IsURL reports whether a --db value names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than an SQLite file: moat
// serve, moat migrate and moat bench all choose the store by it.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
