package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// tx is the write side handed to Update's function. It runs on the writer
// goroutine inside the batch's transaction.
type tx struct {
	w *writer
	// deleted remembers the seq of instances deleted in this operation,
	// for their tombstones (see InsertTombstone).
	deleted map[string]int64
}

var _ moat.Tx = (*tx)(nil)

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	st, err := t.w.stmt(q)
	if err != nil {
		// sql.Row carries no way to inject an error; prepare errors are
		// programming errors caught by the conformance suite.
		panic(err)
	}
	return st.QueryRow(args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.Query(args...)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return moat.ErrNotFound
	}
	return err
}

func insertErr(err error) error {
	if conflict(err) {
		return moat.ErrConflict
	}
	return err
}

func (t *tx) Account(id string) (moat.Account, error) {
	var a moat.Account
	var created int64
	err := t.queryRow(`SELECT account_id, created_ms, resource_group_id FROM accounts WHERE account_id = ?`, id).Scan(&a.ID, &created, &a.ResourceGroupID)
	a.CreatedAt = fromMS(created)
	return a, notFound(err)
}

func (t *tx) InsertAccount(a moat.Account) error {
	_, err := t.exec(`INSERT INTO accounts(account_id, created_ms, resource_group_id) VALUES (?, ?, ?)`, a.ID, ms(a.CreatedAt), a.ResourceGroupID)
	return insertErr(err)
}

func scanKey(sc interface{ Scan(...any) error }) (moat.AccessKey, error) {
	var k moat.AccessKey
	var created, expires int64
	err := sc.Scan(&k.ID, &k.Secret, &k.AccountID, &k.Active, &created, &k.UserName, &k.TokenHash, &expires, &k.SessionPolicy)
	k.CreatedAt = fromMS(created)
	if expires != 0 {
		k.Expires = fromMS(expires)
	}
	return k, notFound(err)
}

func (t *tx) AccessKey(id string) (moat.AccessKey, error) {
	return scanKey(t.queryRow(`SELECT `+sqlbuild.KeyCols+` FROM access_keys WHERE access_key_id = ?`, id))
}

func (t *tx) InsertAccessKey(k moat.AccessKey) error {
	var expires int64
	if !k.Expires.IsZero() {
		expires = ms(k.Expires)
	}
	_, err := t.exec(`INSERT INTO access_keys(`+sqlbuild.KeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Secret, k.AccountID, k.Active, ms(k.CreatedAt), k.UserName, k.TokenHash, expires, k.SessionPolicy)
	return insertErr(err)
}

func (t *tx) DeleteAccessKey(id string) error {
	res, err := t.exec(`DELETE FROM access_keys WHERE access_key_id = ?`, id)
	return affected(res, err)
}

func (t *tx) RevokedKey(id string) (moat.RevokedKey, error) {
	r := moat.RevokedKey{ID: id}
	var at int64
	err := t.queryRow(`SELECT account_id, revoked_ms FROM revoked_access_keys WHERE access_key_id = ?`, id).Scan(&r.AccountID, &at)
	r.RevokedAt = fromMS(at)
	return r, notFound(err)
}

func (t *tx) InsertRevokedKey(r moat.RevokedKey) error {
	_, err := t.exec(`INSERT INTO revoked_access_keys(access_key_id, account_id, revoked_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		r.ID, r.AccountID, ms(r.RevokedAt))
	return err
}

func (t *tx) DeleteExpiredSTSKeys(before time.Time, max int) (int, error) {
	res, err := t.exec(`DELETE FROM access_keys WHERE access_key_id IN (
		SELECT access_key_id FROM access_keys WHERE token_hash != '' AND expires_ms < ? ORDER BY expires_ms`+limit(max)+`)`, ms(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) UpdateAccessKey(k moat.AccessKey) error {
	res, err := t.exec(`UPDATE access_keys SET secret = ?, active = ? WHERE access_key_id = ?`, k.Secret, k.Active, k.ID)
	return affected(res, err)
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return moat.ErrNotFound
	}
	return nil
}

func scanInstance(sc interface{ Scan(...any) error }) (moat.Instance, error) {
	return scanInstanceMemo(sc, nil)
}

func scanInstanceMemo(sc interface{ Scan(...any) error }, m *sqlbuild.Memo) (moat.Instance, error) {
	var in moat.Instance
	var region, product, spec, renewal string
	var created, expire int64
	err := sc.Scan(&in.ID, &in.AccountID, &region, &in.IP, &in.Remark, &in.Edition, &in.ResourceGroupID, &created, &expire, &in.Phase,
		&product, &spec, &renewal, &in.RenewPeriod)
	if err != nil {
		return in, notFound(err)
	}
	in.Region, in.ProductType, in.RenewalStatus = moat.Region(region), moat.ProductType(product), moat.RenewalStatus(renewal)
	in.CreateTime, in.ExpireTime = fromMS(created), fromMS(expire)
	return in, m.Spec(spec, &in.Spec)
}

func (t *tx) Instance(id string) (moat.Instance, error) {
	return scanInstance(t.queryRow(`SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE instance_id = ?`, id))
}

func (t *tx) InsertInstance(in *moat.Instance) error {
	_, err := t.exec(`INSERT INTO instances(`+sqlbuild.InstanceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID, in.AccountID, string(in.Region), in.IP, in.Remark, in.Edition, in.ResourceGroupID, ms(in.CreateTime), ms(in.ExpireTime), in.Phase,
		string(in.ProductType), sqlbuild.EncodeSpec(in.Spec), string(in.RenewalStatus), in.RenewPeriod)
	if err != nil {
		return insertErr(err)
	}
	_, err = t.exec(`INSERT INTO instance_counts(account_id, region, n, version) VALUES (?, ?, 1, 1)
		ON CONFLICT(account_id, region) DO UPDATE SET n = n + 1, version = version + 1`, in.AccountID, string(in.Region))
	return err
}

func (t *tx) UpdatePhase(id string, phase moat.Phase) error {
	res, err := t.exec(`UPDATE instances SET phase = ? WHERE instance_id = ?`, phase, id)
	return affected(res, err)
}

// touch bumps the listing version of an instance's account and region.
func (t *tx) touch(instanceID string) error {
	_, err := t.exec(`UPDATE instance_counts SET version = version + 1
		WHERE (account_id, region) = (SELECT account_id, region FROM instances WHERE instance_id = ?)`, instanceID)
	return err
}

func (t *tx) UpdateInstance(in *moat.Instance) error {
	var account, region string
	err := t.queryRow(`UPDATE instances SET remark = ?, edition = ?, resource_group_id = ?, expire_ms = ?, phase = ?,
		spec = ?, renewal_status = ?, renew_period = ? WHERE instance_id = ? RETURNING account_id, region`,
		in.Remark, in.Edition, in.ResourceGroupID, ms(in.ExpireTime), in.Phase,
		sqlbuild.EncodeSpec(in.Spec), string(in.RenewalStatus), in.RenewPeriod, in.ID).Scan(&account, &region)
	if err != nil {
		return notFound(err)
	}
	return t.touchOwner(account, moat.Region(region))
}

// touchOwner bumps the listing version of an account in a region.
func (t *tx) touchOwner(account string, region moat.Region) error {
	_, err := t.exec(`UPDATE instance_counts SET version = version + 1 WHERE account_id = ? AND region = ?`, account, string(region))
	return err
}

func (t *tx) DeleteInstance(id string) error {
	var account, region string
	var seq int64
	err := t.queryRow(`DELETE FROM instances WHERE instance_id = ? RETURNING account_id, region, seq`, id).Scan(&account, &region, &seq)
	if err != nil {
		return notFound(err)
	}
	if t.deleted == nil {
		t.deleted = map[string]int64{}
	}
	t.deleted[id] = seq
	if _, err := t.exec(`DELETE FROM instance_tags WHERE instance_id = ?`, id); err != nil {
		return err
	}
	if err := t.deleteRulesOf(id); err != nil {
		return err
	}
	_, err = t.exec(`UPDATE instance_counts SET n = n - 1, version = version + 1 WHERE account_id = ? AND region = ?`, account, region)
	return err
}

func (t *tx) DueInstances(phase moat.Phase, at time.Time, n int) ([]moat.Instance, error) {
	rows, err := t.query(`SELECT `+sqlbuild.InstanceCols+` FROM instances WHERE phase = ? AND expire_ms <= ? ORDER BY expire_ms`+limit(n), phase, ms(at))
	if err != nil {
		return nil, err
	}
	return collectInstances(rows)
}

func collectInstances(rows *sql.Rows) ([]moat.Instance, error) {
	defer rows.Close()
	var out []moat.Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

func (t *tx) SetTags(instanceID string, tags []moat.Tag) error {
	if err := t.touch(instanceID); err != nil {
		return err
	}
	for _, tg := range tags {
		res, err := t.exec(`INSERT INTO instance_tags(instance_id, key, value, account_id, region, seq)
			SELECT instance_id, ?, ?, account_id, region, seq FROM instances WHERE instance_id = ?
			ON CONFLICT(instance_id, key) DO UPDATE SET value = excluded.value`, tg.Key, tg.Value, instanceID)
		if err := affected(res, err); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Tags(instanceID string) ([]moat.Tag, error) {
	rows, err := t.query(`SELECT key, value FROM instance_tags WHERE instance_id = ? ORDER BY key`, instanceID)
	if err != nil {
		return nil, err
	}
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

func (t *tx) DeleteTags(instanceID string, keys []string) error {
	if err := t.touch(instanceID); err != nil {
		return err
	}
	if keys == nil {
		_, err := t.exec(`DELETE FROM instance_tags WHERE instance_id = ?`, instanceID)
		return err
	}
	for _, k := range keys {
		if _, err := t.exec(`DELETE FROM instance_tags WHERE instance_id = ? AND key = ?`, instanceID, k); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ClientToken(accountID, action, token string) (moat.ClientToken, error) {
	c := moat.ClientToken{AccountID: accountID, Action: action, Token: token}
	var created int64
	err := t.queryRow(`SELECT params_hash, instance_id, order_id, created_ms FROM client_tokens WHERE account_id = ? AND action = ? AND token = ?`,
		accountID, action, token).Scan(&c.ParamsHash, &c.InstanceID, &c.OrderID, &created)
	c.CreatedAt = fromMS(created)
	return c, notFound(err)
}

func (t *tx) PutClientToken(c moat.ClientToken) error {
	_, err := t.exec(`INSERT INTO client_tokens(account_id, action, token, params_hash, instance_id, order_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(account_id, action, token) DO UPDATE SET params_hash = excluded.params_hash, instance_id = excluded.instance_id,
		order_id = excluded.order_id, created_ms = excluded.created_ms`,
		c.AccountID, c.Action, c.Token, c.ParamsHash, c.InstanceID, c.OrderID, ms(c.CreatedAt))
	return err
}

func (t *tx) TombstoneExists(id string) (bool, error) {
	var one int
	err := t.queryRow(`SELECT 1 FROM tombstones WHERE instance_id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// InsertTombstone keeps the seq of the instance when it was deleted in the
// same operation (the usual release), or still exists.
func (t *tx) InsertTombstone(ts moat.Tombstone) error {
	seq, ok := t.deleted[ts.InstanceID]
	if !ok {
		err := t.queryRow(`SELECT seq FROM instances WHERE instance_id = ?`, ts.InstanceID).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO tombstones(instance_id, account_id, region, released_ms, seq) VALUES (?, ?, ?, ?, ?)`,
		ts.InstanceID, ts.AccountID, string(ts.Region), ms(ts.ReleasedAt), seq)
	return insertErr(err)
}

func (t *tx) AppendEvent(e *moat.Event) error {
	res, err := t.exec(`INSERT INTO events(time_ms, recorded_ms, instance_id, account_id, region, type, request_id, reason, periods, subject, instance_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT seq FROM instances WHERE instance_id = ?), (SELECT seq FROM tombstones WHERE instance_id = ?), 0))`,
		ms(e.Time), ms(e.RecordedAt), e.InstanceID, e.AccountID, string(e.Region), string(e.Type), e.RequestID, e.Reason, e.Periods, e.Subject,
		e.InstanceID, e.InstanceID)
	if err != nil {
		return err
	}
	e.Seq, err = res.LastInsertId()
	return err
}

func (t *tx) PopFreeIP(region moat.Region, lo, hi uint32) (uint32, bool, error) {
	var ip int64
	err := t.queryRow(`DELETE FROM ip_free WHERE region = ? AND ip = (SELECT ip FROM ip_free WHERE region = ? AND ip BETWEEN ? AND ? ORDER BY ip LIMIT 1) RETURNING ip`,
		string(region), string(region), int64(lo), int64(hi)).Scan(&ip)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return uint32(ip), true, nil
}

func (t *tx) PushFreeIP(region moat.Region, ip uint32) error {
	_, err := t.exec(`INSERT INTO ip_free(region, ip) VALUES (?, ?) ON CONFLICT DO NOTHING`, string(region), int64(ip))
	return err
}

func (t *tx) IPCursor(region moat.Region, pool string) (uint32, error) {
	var next int64
	err := t.queryRow(`SELECT next FROM ip_cursor WHERE region = ? AND pool = ?`, string(region), pool).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if next < 0 || next > 1<<32 {
		return 0, fmt.Errorf("sqlite: ip cursor %d out of range", next)
	}
	return uint32(next), err
}

func (t *tx) SetIPCursor(region moat.Region, pool string, next uint32) error {
	_, err := t.exec(`INSERT INTO ip_cursor(region, pool, next) VALUES (?, ?, ?) ON CONFLICT(region, pool) DO UPDATE SET next = excluded.next`,
		string(region), pool, int64(next))
	return err
}

func (t *tx) IPInUse(region moat.Region, ip string) (bool, error) {
	var one int
	err := t.queryRow(`SELECT 1 FROM instances WHERE region = ? AND ip = ?`, string(region), ip).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) Setting(key string) (string, error) {
	var v string
	err := t.queryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, notFound(err)
}

func (t *tx) SetSetting(key, value string) error {
	_, err := t.exec(`INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
