package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// tx is the write side handed to Update's function: one READ COMMITTED
// transaction on one connection. Its statements go through pipeline
// (batch.go).
//
// Any statement error aborts a PostgreSQL transaction, so the first one is
// kept in err and every later call returns at once; Update then rolls back
// (and retries the whole function after a deadlock). Expected outcomes are
// never statement errors: a missing row is ErrNotFound, and a taken unique
// key is ErrConflict from INSERT … ON CONFLICT DO NOTHING, which leaves the
// transaction usable.
type tx struct {
	s    *Store
	ctx  context.Context // the caller's, to tell its cancellation apart
	octx context.Context // the attempt's, with its deadline
	tx   pgx.Tx
	err  error
	// shard is the instance_counts row this transaction updates for any
	// listing it changes (see the schema).
	shard int16
	// deleted remembers the seq of instances deleted in this transaction,
	// for their tombstones (see InsertTombstone).
	deleted map[string]int64
	// counts and cursors are this transaction's changes to instance_counts
	// and ip_cursor, written once, just before COMMIT (flush). PostgreSQL
	// keeps every version of a row that one transaction writes until it
	// ends, and each later access to the row walks them: updating one
	// counter and one cursor row per instance made an admin creation of
	// 10,000 instances quadratic (about ten seconds, past OpTimeout).
	counts  map[countKey]countDelta
	cursors map[cursorKey]*cursorState
	// events are appended at flush, last (see eventHorizonLock).
	events []*moat.Event
	// claimed are the instances DueInstances locked for this transaction;
	// phases holds UpdatePhase calls on them, written together in one
	// statement before the transaction's next statement or its COMMIT
	// (the lifecycle engine changes the phase of hundreds of claimed
	// instances per transaction; one round trip each dominated it).
	claimed map[string]bool
	phases  map[string]moat.Phase
	// pending are writes whose outcome nobody waits for (a freed IP, the
	// deferred phases, counters and cursors at flush): they are sent in
	// one round trip with the transaction's next statement, before it, so
	// that statement sees them (see pipeline).
	pending []queued
}

var _ moat.Tx = (*tx)(nil)

// Account reads the account FOR KEY SHARE: it cannot go away before
// this transaction ends, and every transaction of the account may hold
// that at once (an account row is never updated; FOR UPDATE here made
// all purchases of one account queue for its row, each until the
// previous one's COMMIT).
func (t *tx) Account(id string) (moat.Account, error) {
	var a moat.Account
	var created int64
	err := t.lockedRead("account", []string{"account", id}, func() error {
		return t.row("account", `SELECT account_id, created_ms, resource_group_id FROM accounts WHERE account_id = $1 FOR KEY SHARE`,
			[]any{id}, &a.ID, &created, &a.ResourceGroupID)
	})
	if err != nil {
		return moat.Account{}, err
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

func (t *tx) InsertAccount(a moat.Account) error {
	n, err := t.exec("insert account", `INSERT INTO accounts (account_id, created_ms, resource_group_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		a.ID, ms(a.CreatedAt), a.ResourceGroupID)
	return conflictIfNone(n, err)
}

func conflictIfNone(n int64, err error) error {
	if err == nil && n == 0 {
		return moat.ErrConflict
	}
	return err
}

func notFoundIfNone(n int64, err error) error {
	if err == nil && n == 0 {
		return moat.ErrNotFound
	}
	return err
}

// keyDest returns scan destinations for sqlbuild.KeyCols and a function that
// completes the key once scanned.
func keyDest(k *moat.AccessKey) ([]any, func()) {
	var created, expires int64
	return []any{&k.ID, &k.Secret, &k.AccountID, &k.Active, &created, &k.UserName, &k.TokenHash, &expires, &k.SessionPolicy}, func() {
		k.CreatedAt = fromMS(created)
		if expires != 0 {
			k.Expires = fromMS(expires)
		}
	}
}

func (t *tx) AccessKey(id string) (moat.AccessKey, error) {
	var k moat.AccessKey
	dest, done := keyDest(&k)
	err := t.lockedRead("access key", []string{"access_key", id}, func() error {
		return t.row("access key", `SELECT `+sqlbuild.KeyCols+` FROM access_keys WHERE access_key_id = $1 FOR UPDATE`, []any{id}, dest...)
	})
	if err != nil {
		return moat.AccessKey{}, err
	}
	done()
	return k, nil
}

func (t *tx) InsertAccessKey(k moat.AccessKey) error {
	var expires int64
	if !k.Expires.IsZero() {
		expires = ms(k.Expires)
	}
	n, err := t.exec("insert access key", `INSERT INTO access_keys (`+sqlbuild.KeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		k.ID, k.Secret, k.AccountID, k.Active, ms(k.CreatedAt), k.UserName, k.TokenHash, expires, k.SessionPolicy)
	return conflictIfNone(n, err)
}

func (t *tx) UpdateAccessKey(k moat.AccessKey) error {
	return notFoundIfNone(t.exec("update access key", `UPDATE access_keys SET secret = $1, active = $2 WHERE access_key_id = $3`, k.Secret, k.Active, k.ID))
}

func (t *tx) DeleteAccessKey(id string) error {
	return notFoundIfNone(t.exec("delete access key", `DELETE FROM access_keys WHERE access_key_id = $1`, id))
}

func (t *tx) RevokedKey(id string) (moat.RevokedKey, error) {
	r := moat.RevokedKey{ID: id}
	var at int64
	if err := t.row("revoked key", `SELECT account_id, revoked_ms FROM revoked_access_keys WHERE access_key_id = $1`, []any{id}, &r.AccountID, &at); err != nil {
		return moat.RevokedKey{}, err
	}
	r.RevokedAt = fromMS(at)
	return r, nil
}

func (t *tx) InsertRevokedKey(r moat.RevokedKey) error {
	_, err := t.exec("insert revoked key", `INSERT INTO revoked_access_keys(access_key_id, account_id, revoked_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		r.ID, r.AccountID, ms(r.RevokedAt))
	return err
}

func (t *tx) DeleteExpiredSTSKeys(before time.Time, max int) (int, error) {
	n, err := t.exec("delete expired STS keys", `DELETE FROM access_keys WHERE access_key_id IN (
		SELECT access_key_id FROM access_keys WHERE token_hash <> '' AND expires_ms < $1 ORDER BY expires_ms LIMIT $2)`, ms(before), limitArg(max))
	return int(n), err
}

// instanceDest returns scan destinations for sqlbuild.InstanceCols and a function
// that completes the instance once scanned.
func instanceDest(in *moat.Instance) ([]any, func() error) { return instanceDestMemo(in, nil) }

// instanceDestMemo is instanceDest decoding through m (see sqlbuild.Memo).
func instanceDestMemo(in *moat.Instance, m *sqlbuild.Memo) ([]any, func() error) {
	var region, product, spec, renewal string
	var created, expire int64
	var phase int16
	dest := []any{&in.ID, &in.AccountID, &region, &in.IP, &in.Remark, &in.Edition, &in.ResourceGroupID, &created, &expire, &phase,
		&product, &spec, &renewal, &in.RenewPeriod}
	return dest, func() error {
		in.Region, in.ProductType, in.RenewalStatus = moat.Region(region), moat.ProductType(product), moat.RenewalStatus(renewal)
		in.CreateTime, in.ExpireTime = fromMS(created), fromMS(expire)
		in.Phase = moat.Phase(phase)
		return m.Spec(spec, &in.Spec)
	}
}

// Instance locks the instance for the rest of the transaction: whatever
// the domain decides from it (release, renew, modify) holds when it
// commits.
func (t *tx) Instance(id string) (moat.Instance, error) {
	var in moat.Instance
	dest, done := instanceDest(&in)
	if err := t.row("instance", `SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE instance_id = $1 FOR UPDATE`, []any{id}, dest...); err != nil {
		return moat.Instance{}, err
	}
	return in, done()
}

// InsertInstance inserts the instance and counts it (at flush); a taken ID
// or (region, IP) inserts nothing and is ErrConflict.
func (t *tx) InsertInstance(in *moat.Instance) error {
	var seq int64
	err := t.row("insert instance", `INSERT INTO instances (`+sqlbuild.InstanceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING
		RETURNING seq`,
		[]any{in.ID, in.AccountID, string(in.Region), in.IP, in.Remark, in.Edition, in.ResourceGroupID, ms(in.CreateTime), ms(in.ExpireTime),
			int16(in.Phase), string(in.ProductType), sqlbuild.EncodeSpec(in.Spec), string(in.RenewalStatus), in.RenewPeriod}, &seq)
	if errors.Is(err, moat.ErrNotFound) {
		return moat.ErrConflict
	}
	if err != nil {
		return err
	}
	t.count(in.AccountID, string(in.Region), 1)
	return nil
}

func (t *tx) UpdatePhase(id string, phase moat.Phase) error {
	if t.claimed[id] {
		// Locked by this transaction and not deleted in it: the row
		// exists, so only the write is deferred, not an answer.
		if t.phases == nil {
			t.phases = map[string]moat.Phase{}
		}
		t.phases[id] = phase
		return nil
	}
	return notFoundIfNone(t.exec("update phase", `UPDATE instances SET phase = $1 WHERE instance_id = $2`, int16(phase), id))
}

// UpdateInstance writes the instance and bumps its listing's version (at
// flush).
func (t *tx) UpdateInstance(in *moat.Instance) error {
	var account, region string
	err := t.row("update instance", `UPDATE instances SET remark = $1, edition = $2, resource_group_id = $3, expire_ms = $4, phase = $5,
				spec = $6, renewal_status = $7, renew_period = $8
			WHERE instance_id = $9
			RETURNING account_id, region`,
		[]any{in.Remark, in.Edition, in.ResourceGroupID, ms(in.ExpireTime), int16(in.Phase),
			sqlbuild.EncodeSpec(in.Spec), string(in.RenewalStatus), in.RenewPeriod, in.ID}, &account, &region)
	if err != nil {
		return err
	}
	t.count(account, region, 0)
	return nil
}

func (t *tx) DeleteInstance(id string) error {
	var seq int64
	var account, region string
	err := t.row("delete instance", `WITH d AS (
			DELETE FROM instances WHERE instance_id = $1 RETURNING account_id, region, seq),
		tags AS (
			DELETE FROM instance_tags WHERE instance_id = $1),
		ports AS (
			DELETE FROM port_rules WHERE instance_id = $1),
		sources AS (
			DELETE FROM source_entries WHERE instance_id = $1),
		udp AS (
			DELETE FROM udp_reflect WHERE instance_id = $1),
		web AS (
			DELETE FROM web_rule_instances WHERE instance_id = $1),
		samples AS (
			DELETE FROM traffic_samples WHERE instance_id = $1),
		mitigations AS (
			DELETE FROM mitigation_events WHERE instance_id = $1)
		SELECT account_id, region, seq FROM d`, []any{id}, &account, &region, &seq)
	if err != nil {
		return err
	}
	t.count(account, region, -1)
	delete(t.claimed, id)
	if t.deleted == nil {
		t.deleted = map[string]int64{}
	}
	t.deleted[id] = seq
	return nil
}

// DueInstances claims the due instances: rows another transaction holds
// (another replica's engine, or a release in progress) are skipped, not
// waited for, and a row changed by a transaction that committed meanwhile
// is checked again against the conditions before it is returned.
func (t *tx) DueInstances(phase moat.Phase, at time.Time, n int) ([]moat.Instance, error) {
	if err := t.aborted("due instances"); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.octx, `SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE phase = $1 AND expire_ms <= $2
		ORDER BY expire_ms LIMIT $3 FOR UPDATE SKIP LOCKED`, int16(phase), ms(at), limitArg(n))
	if err != nil {
		return nil, t.wrap("due instances", err)
	}
	out, err := collectInstances(rows)
	if err != nil {
		return nil, t.wrap("due instances", err)
	}
	if t.claimed == nil {
		t.claimed = make(map[string]bool, len(out))
	}
	for i := range out {
		t.claimed[out[i].ID] = true
	}
	return out, nil
}

func collectInstances(rows pgx.Rows) ([]moat.Instance, error) {
	defer rows.Close()
	var out []moat.Instance
	for rows.Next() {
		var in moat.Instance
		dest, done := instanceDest(&in)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := done(); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// limitArg is a LIMIT parameter: NULL (no limit) for n <= 0.
func limitArg(n int) any {
	if n <= 0 {
		return nil
	}
	return int64(n)
}

func (t *tx) SetTags(instanceID string, tags []moat.Tag) error {
	// One statement per call: a key given twice keeps its last value, as
	// consecutive upserts would.
	keys := make([]string, 0, len(tags))
	values := make([]string, 0, len(tags))
	at := make(map[string]int, len(tags))
	for _, tg := range tags {
		if i, ok := at[tg.Key]; ok {
			values[i] = tg.Value
			continue
		}
		at[tg.Key] = len(keys)
		keys = append(keys, tg.Key)
		values = append(values, tg.Value)
	}
	var account, region string
	err := t.row("set tags", `WITH i AS (
			SELECT instance_id, account_id, region, seq FROM instances WHERE instance_id = $1),
		t AS (
			INSERT INTO instance_tags (instance_id, key, value, account_id, region, seq)
			SELECT i.instance_id, kv.k, kv.v, i.account_id, i.region, i.seq FROM i, unnest($2::text[], $3::text[]) AS kv (k, v)
			ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value)
		SELECT account_id, region FROM i`, []any{instanceID, keys, values}, &account, &region)
	if errors.Is(err, moat.ErrNotFound) {
		if len(tags) > 0 {
			return moat.ErrNotFound
		}
		return nil
	}
	if err != nil {
		return err
	}
	t.count(account, region, 0)
	return nil
}

func (t *tx) Tags(instanceID string) ([]moat.Tag, error) {
	if err := t.aborted("tags"); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(t.octx, `SELECT key, value FROM instance_tags WHERE instance_id = $1 ORDER BY key`, instanceID)
	if err != nil {
		return nil, t.wrap("tags", err)
	}
	out, err := collectTags(rows)
	if err != nil {
		return nil, t.wrap("tags", err)
	}
	return out, nil
}

func collectTags(rows pgx.Rows) ([]moat.Tag, error) {
	defer rows.Close()
	var out []moat.Tag
	for rows.Next() {
		var tg moat.Tag
		if err := rows.Scan(&tg.Key, &tg.Value); err != nil {
			return nil, err
		}
		out = append(out, tg)
	}
	return out, rows.Err()
}

// DeleteTags deletes the keys' tags (every tag when keys is nil) and bumps
// the instance's listing version (at flush), if the instance exists.
func (t *tx) DeleteTags(instanceID string, keys []string) error {
	q := `WITH i AS (SELECT account_id, region FROM instances WHERE instance_id = $1),
		d AS (DELETE FROM instance_tags WHERE instance_id = $1)
		SELECT account_id, region FROM i`
	args := []any{instanceID}
	if keys != nil {
		q = `WITH i AS (SELECT account_id, region FROM instances WHERE instance_id = $1),
		d AS (DELETE FROM instance_tags WHERE instance_id = $1 AND key = ANY($2::text[]))
		SELECT account_id, region FROM i`
		args = append(args, keys)
	}
	var account, region string
	err := t.row("delete tags", q, args, &account, &region)
	if errors.Is(err, moat.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	t.count(account, region, 0)
	return nil
}

// ClientToken serialises the calls made with one token: it takes the
// token's advisory lock before reading, so of two concurrent purchases
// with the same token the second waits until the first commits and then
// finds its record.
func (t *tx) ClientToken(accountID, action, token string) (moat.ClientToken, error) {
	c := moat.ClientToken{AccountID: accountID, Action: action, Token: token}
	if err := t.lock("client token", "client_token", accountID, action, token); err != nil {
		return c, err
	}
	var created int64
	err := t.row("client token", `SELECT params_hash, instance_id, order_id, created_ms FROM client_tokens
		WHERE account_id = $1 AND action = $2 AND token = $3`, []any{accountID, action, token}, &c.ParamsHash, &c.InstanceID, &c.OrderID, &created)
	c.CreatedAt = fromMS(created)
	return c, err
}

func (t *tx) PutClientToken(c moat.ClientToken) error {
	_, err := t.exec("put client token", `INSERT INTO client_tokens (account_id, action, token, params_hash, instance_id, order_id, created_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (account_id, action, token) DO UPDATE SET params_hash = excluded.params_hash, instance_id = excluded.instance_id,
			order_id = excluded.order_id, created_ms = excluded.created_ms`,
		c.AccountID, c.Action, c.Token, c.ParamsHash, c.InstanceID, c.OrderID, ms(c.CreatedAt))
	return err
}

func (t *tx) TombstoneExists(id string) (bool, error) {
	var ok bool
	err := t.row("tombstone exists", `SELECT EXISTS (SELECT 1 FROM tombstones WHERE instance_id = $1)`, []any{id}, &ok)
	return ok, err
}

// InsertTombstone keeps the seq of the instance when it was deleted in the
// same transaction (the usual release), or still exists.
//
// After a delete in this transaction the insert is queued (see pending)
// rather than sent: it cannot conflict, since an instance is created only
// where no tombstone has its ID, and a tombstone is written only by the
// release that deleted the (locked) instance row, here.
func (t *tx) InsertTombstone(ts moat.Tombstone) error {
	const q = `INSERT INTO tombstones (instance_id, account_id, region, released_ms, seq)
		VALUES ($1, $2, $3, $4, COALESCE($5::bigint, (SELECT seq FROM instances WHERE instance_id = $1), 0))
		ON CONFLICT DO NOTHING`
	if seq, ok := t.deleted[ts.InstanceID]; ok {
		if err := t.failed("insert tombstone"); err != nil {
			return err
		}
		t.later("insert tombstone", q, ts.InstanceID, ts.AccountID, string(ts.Region), ms(ts.ReleasedAt), seq)
		return nil
	}
	n, err := t.exec("insert tombstone", q, ts.InstanceID, ts.AccountID, string(ts.Region), ms(ts.ReleasedAt), nil)
	return conflictIfNone(n, err)
}

// AppendEvent queues e; flush inserts the transaction's events together
// just before COMMIT and sets their Seq (see eventHorizonLock).
func (t *tx) AppendEvent(e *moat.Event) error {
	if err := t.failed("append event"); err != nil {
		return err
	}
	t.events = append(t.events, e)
	return nil
}

// eventHorizonLock orders event Seqs with commits. An event's Seq is drawn
// from an identity as it is inserted, not as its transaction commits, so
// with several writers (replicas, or API calls beside the lifecycle
// engine) an event could become visible after one with a higher Seq, and a
// reader tailing the log by AfterSeq would step past it for good. So a
// transaction inserts its events only at the end (flush), holding this
// advisory lock in shared mode from the insert until it commits, and
// Events takes it exclusively before it reads: once granted, every Seq
// drawn so far is committed or rolled back, and every later one is drawn
// after it, so higher than any Seq the read returns. Writers hold it for
// one statement and the COMMIT; they never wait for each other.
var eventHorizonLock = lockKey("events", "horizon")

// PopFreeIP skips addresses that a concurrent transaction is taking, so
// concurrent purchases get different addresses without waiting.
func (t *tx) PopFreeIP(region moat.Region, lo, hi uint32) (uint32, bool, error) {
	var ip int64
	err := t.row("pop free ip", `DELETE FROM ip_free WHERE region = $1 AND ip = (
			SELECT ip FROM ip_free WHERE region = $1 AND ip BETWEEN $2 AND $3 ORDER BY ip LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING ip`, []any{string(region), int64(lo), int64(hi)}, &ip)
	if errors.Is(err, moat.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return uint32(ip), true, nil
}

func (t *tx) PushFreeIP(region moat.Region, ip uint32) error {
	if err := t.failed("push free ip"); err != nil {
		return err
	}
	t.later("push free ip", `INSERT INTO ip_free (region, ip) VALUES ($1, $2) ON CONFLICT DO NOTHING`, string(region), int64(ip))
	return nil
}

// IPCursor locks the cursor row (creating it at 0 when missing), so that
// concurrent allocations in a pool take turns on it. The transaction keeps
// the row locked and the value in memory from then on (see flush).
func (t *tx) IPCursor(region moat.Region, pool string) (uint32, error) {
	k := cursorKey{string(region), pool}
	if c, ok := t.cursors[k]; ok {
		return uint32(c.next), nil
	}
	var next int64
	read := func() error {
		return t.row("ip cursor", `SELECT next FROM ip_cursor WHERE region = $1 AND pool = $2 FOR UPDATE`, []any{string(region), pool}, &next)
	}
	err := read()
	if errors.Is(err, moat.ErrNotFound) {
		if _, err = t.exec("ip cursor", `INSERT INTO ip_cursor (region, pool, next) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`, string(region), pool); err != nil {
			return 0, err
		}
		err = read()
	}
	if err != nil {
		return 0, err
	}
	if next < 0 || next > 1<<32 {
		return 0, fmt.Errorf("postgres: ip cursor %d out of range", next)
	}
	if t.cursors == nil {
		t.cursors = map[cursorKey]*cursorState{}
	}
	t.cursors[k] = &cursorState{next: next}
	return uint32(next), nil
}

// SetIPCursor moves a cursor this transaction has read (and locked) in
// memory, written at flush; any other is written at once.
func (t *tx) SetIPCursor(region moat.Region, pool string, next uint32) error {
	if c, ok := t.cursors[cursorKey{string(region), pool}]; ok {
		c.next, c.dirty = int64(next), true
		return nil
	}
	return t.writeIPCursor(string(region), pool, int64(next))
}

func (t *tx) writeIPCursor(region, pool string, next int64) error {
	_, err := t.exec("set ip cursor", `INSERT INTO ip_cursor (region, pool, next) VALUES ($1, $2, $3)
		ON CONFLICT (region, pool) DO UPDATE SET next = excluded.next`, region, pool, next)
	return err
}

func (t *tx) IPInUse(region moat.Region, ip string) (bool, error) {
	var used bool
	err := t.row("ip in use", `SELECT EXISTS (SELECT 1 FROM instances WHERE region = $1 AND ip = $2)`, []any{string(region), ip}, &used)
	return used, err
}

func (t *tx) Setting(key string) (string, error) {
	var v string
	err := t.lockedRead("setting", []string{"setting", key}, func() error {
		return t.row("setting", `SELECT value FROM settings WHERE key = $1 FOR UPDATE`, []any{key}, &v)
	})
	return v, err
}

func (t *tx) SetSetting(key, value string) error {
	_, err := t.exec("set setting", `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
