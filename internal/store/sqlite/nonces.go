package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Every signed request records its SignatureNonce before it is answered,
// so this is the hottest write of the server. Kept in a B-tree keyed by the
// (random) nonce, each insert dirties a random page, and a group commit of
// 64 nonces writes 64 pages (a quarter of a megabyte) to the WAL: the
// bench runner measured 13 KB written per read request and every request
// queued behind the nonce writer.
//
// So nonces are stored as an append-only log in their own database file
// (nonce_log: sequence, 64-bit hash of key and nonce, expiry), where a
// group commit appends to the last page or two, and the exact set of
// recorded hashes is held in memory, rebuilt from the log at Open. A nonce
// is answered "used" when its hash is in the set; it leaves the set, and
// the log, only when PurgeNonces finds it expired.
//
// Memory: about 40 bytes per remembered nonce, i.e. per signed request in
// the last 32 minutes (8 MB at 100 requests/s; 770 MB at a sustained
// 10,000/s, which no single Alibaba account may send: DescribeInstances is
// limited to 10 per second per user).
//
// The hash is SHA-256 of "key \x00 nonce", truncated to 64 bits: a stable,
// unkeyed hash, because the log outlives the process. A collision would
// make a fresh nonce look used (the client retries with a new one); at 19
// million remembered nonces its probability per request is about 1e-12.

const nonceShards = 64

type nonceSet struct {
	shards [nonceShards]nonceShard
}

type nonceShard struct {
	mu sync.Mutex
	m  map[uint64]int64 // hash -> expires (unix ms)
}

func nonceHash(keyID, nonce string) uint64 {
	h := sha256.New()
	h.Write([]byte(keyID))
	h.Write([]byte{0})
	h.Write([]byte(nonce))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

func newNonceSet() *nonceSet {
	s := &nonceSet{}
	for i := range s.shards {
		s.shards[i].m = map[uint64]int64{}
	}
	return s
}

func (s *nonceSet) shard(h uint64) *nonceShard { return &s.shards[h%nonceShards] }

// add records h and reports whether it was absent.
func (s *nonceSet) add(h uint64, expires int64) bool {
	sh := s.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, used := sh.m[h]; used {
		return false
	}
	sh.m[h] = expires
	return true
}

// remove forgets h if it is still recorded with expires.
func (s *nonceSet) remove(h uint64, expires int64) {
	sh := s.shard(h)
	sh.mu.Lock()
	if e, ok := sh.m[h]; ok && e == expires {
		delete(sh.m, h)
	}
	sh.mu.Unlock()
}

const nonceSchema = `
CREATE TABLE IF NOT EXISTS nonce_log (
    seq        INTEGER PRIMARY KEY,
    h          INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);`

// loadNonces fills the set from the log.
func (s *Store) loadNonces(ctx context.Context) error {
	rows, err := s.nonces.conn.QueryContext(ctx, `SELECT h, expires_ms FROM nonce_log ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("sqlite: load nonces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, exp int64
		if err := rows.Scan(&h, &exp); err != nil {
			return fmt.Errorf("sqlite: load nonces: %w", err)
		}
		s.nonceSet.add(uint64(h), exp)
	}
	return rows.Err()
}

// UseNonce implements moat.Store.
func (s *Store) UseNonce(ctx context.Context, keyID, nonce string, expires time.Time) (bool, error) {
	h, exp := nonceHash(keyID, nonce), ms(expires)
	if !s.nonceSet.add(h, exp) {
		return false, nil
	}
	err := s.nonces.update(ctx, true, func(w *writer) error {
		st, err := w.stmt(`INSERT INTO nonce_log(h, expires_ms) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		_, err = st.Exec(int64(h), exp)
		return err
	})
	if err != nil {
		// Not durable, so not recorded. (A concurrent use of the same
		// nonce meanwhile was refused: that request fails too, which is
		// what a replay deserves.)
		s.nonceSet.remove(h, exp)
		return false, err
	}
	return true, nil
}

// PurgeNonces implements moat.Store. The log is in recording order, and
// expiry follows recording order (both come from the real clock), so the
// expired nonces are a prefix of the log: it deletes up to max of them
// from the front, stopping at the first one still live.
func (s *Store) PurgeNonces(ctx context.Context, before time.Time, max int) (int, error) {
	type entry struct{ seq, h, exp int64 }
	var gone []entry
	cut := ms(before)
	err := s.nonces.update(ctx, true, func(w *writer) error {
		gone = gone[:0]
		st, err := w.stmt(`SELECT seq, h, expires_ms FROM nonce_log ORDER BY seq` + limit(max))
		if err != nil {
			return err
		}
		rows, err := st.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.seq, &e.h, &e.exp); err != nil {
				rows.Close()
				return err
			}
			if e.exp >= cut {
				break
			}
			gone = append(gone, e)
		}
		rows.Close()
		if len(gone) == 0 {
			return nil
		}
		del, err := w.stmt(`DELETE FROM nonce_log WHERE seq <= ?`)
		if err != nil {
			return err
		}
		_, err = del.Exec(gone[len(gone)-1].seq)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, e := range gone {
		s.nonceSet.remove(uint64(e.h), e.exp)
	}
	return len(gone), nil
}

// size counts the remembered nonces.
func (s *nonceSet) size() int64 {
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += int64(len(sh.m))
		sh.mu.Unlock()
	}
	return n
}

// NonceCount is how many nonces the store remembers (for metrics).
func (s *Store) NonceCount(context.Context) (int64, error) { return s.nonceSet.size(), nil }
