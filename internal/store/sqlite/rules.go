package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Forwarding configuration: port rules, websites and their instance
// bindings, certificates, source lists and the UDP reflection filter.
// Lists of keys travel as one JSON argument, so statement texts stay few.

type scanner interface{ Scan(...any) error }

func scanPortRule(sc scanner) (moat.PortRule, error) {
	return scanPortRuleMemo(sc, nil)
}

func scanPortRuleMemo(sc scanner, m *sqlbuild.Memo) (moat.PortRule, error) {
	var r moat.PortRule
	var servers, config, health string
	var created, updated int64
	err := sc.Scan(&r.InstanceID, &r.Protocol, &r.FrontendPort, &r.BackendPort, &servers, &config, &health, &created, &updated)
	if err != nil {
		return r, notFound(err)
	}
	r.Created, r.Updated = fromMS(created), fromMS(updated)
	return r, m.Rule(servers, config, health, &r)
}

func collectPortRules(rows *sql.Rows) ([]moat.PortRule, error) {
	defer rows.Close()
	var out []moat.PortRule
	for rows.Next() {
		r, err := scanPortRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// webRuleSelect reads sqlbuild.WebRuleCols of web_rules w and, last, the
// JSON array of the website's instances in binding order.
const webRuleSelect = `SELECT ` + sqlbuild.WebRuleCols + `, (SELECT json_group_array(instance_id) FROM
		(SELECT b.instance_id FROM web_rule_instances b WHERE b.account_id = w.account_id AND b.domain = w.domain ORDER BY b.pos))
	FROM web_rules w`

func scanWebRule(sc scanner) (moat.WebRule, error) {
	var w moat.WebRule
	var region, servers, proxies, ext, instances string
	var created, updated int64
	err := sc.Scan(&w.AccountID, &w.Domain, &region, &w.Cname, &servers, &w.RsType, &proxies, &ext, &w.CertID, &created, &updated, &instances)
	if err != nil {
		return w, notFound(err)
	}
	w.Region, w.Created, w.Updated = moat.Region(region), fromMS(created), fromMS(updated)
	err = errors.Join(sqlbuild.DecodeJSON(servers, &w.RealServers), sqlbuild.DecodeJSON(proxies, &w.ProxyTypes),
		sqlbuild.DecodeJSON(ext, &w.HTTPSExt), sqlbuild.DecodeJSON(instances, &w.InstanceIDs))
	if len(w.InstanceIDs) == 0 {
		w.InstanceIDs = nil
	}
	return w, err
}

func collectWebRules(rows *sql.Rows) ([]moat.WebRule, error) {
	defer rows.Close()
	var out []moat.WebRule
	for rows.Next() {
		w, err := scanWebRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func scanCert(sc scanner) (moat.Cert, error) {
	var c moat.Cert
	var region string
	var before, after, created int64
	err := sc.Scan(&c.ID, &c.AccountID, &region, &c.Name, &c.CertPEM, &c.KeyPEM, &c.Common, &c.Issuer, &before, &after, &created)
	c.Region, c.NotBefore, c.NotAfter, c.Created = moat.Region(region), fromMS(before), fromMS(after), fromMS(created)
	return c, notFound(err)
}

func scanSource(sc scanner) (moat.SourceEntry, error) {
	var e moat.SourceEntry
	var list string
	var expires, created int64
	err := sc.Scan(&e.InstanceID, &list, &e.IP, &e.Type, &expires, &created)
	e.List, e.Created = moat.SourceListKind(list), fromMS(created)
	if expires != 0 {
		e.Expires = fromMS(expires)
	}
	return e, err
}

func expiryMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func jsonList[T any](v []T) string {
	if v == nil {
		v = []T{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- Reader ----

// PortRulePage implements moat.Reader.
func (s *Store) PortRulePage(ctx context.Context, f moat.PortRuleFilter) ([]moat.PortRule, int64, error) {
	where := ` FROM port_rules WHERE instance_id = ?`
	args := []any{f.InstanceID}
	if f.Protocol != "" {
		where += ` AND protocol = ?`
		args = append(args, f.Protocol)
	}
	if f.FrontendPort != 0 {
		where += ` AND frontend_port = ?`
		args = append(args, f.FrontendPort)
	}
	n, past, err := s.pageCount(ctx, where, args, f.Offset)
	if err != nil || past {
		return nil, n, err
	}
	rows, err := s.rquery(ctx, `SELECT `+sqlbuild.PortRuleListCols+where+` ORDER BY protocol, frontend_port`+limit(f.Limit)+` OFFSET ?`,
		append(args, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	out, err := collectPortRules(rows)
	return out, n, err
}

type jsonPortKey struct {
	I string `json:"i"`
	P string `json:"p"`
	F int    `json:"f"`
}

// PortRulesByKey implements moat.Reader.
func (s *Store) PortRulesByKey(ctx context.Context, keys []moat.PortKey) ([]moat.PortRule, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	jk := make([]jsonPortKey, len(keys))
	for i, k := range keys {
		jk[i] = jsonPortKey{k.InstanceID, k.Protocol, k.FrontendPort}
	}
	rows, err := s.rquery(ctx, `SELECT r.instance_id, r.protocol, r.frontend_port, r.backend_port, r.real_servers, r.config, r.health_check,
			r.created_ms, r.updated_ms
		FROM json_each(?) k JOIN port_rules r ON r.instance_id = k.value ->> 'i' AND r.protocol = k.value ->> 'p'
			AND r.frontend_port = k.value ->> 'f'
		ORDER BY k.key`, jsonList(jk))
	if err != nil {
		return nil, err
	}
	return collectPortRules(rows)
}

// WebRulePage implements moat.Reader.
func (s *Store) WebRulePage(ctx context.Context, f moat.WebRuleFilter) ([]moat.WebRule, int64, error) {
	where := ` WHERE w.account_id = ?`
	args := []any{f.AccountID}
	if f.Region != "" {
		where += ` AND w.region = ?`
		args = append(args, string(f.Region))
	}
	if f.Domain != "" {
		if f.Exact {
			where += ` AND w.domain = ?`
			args = append(args, f.Domain)
		} else {
			where += ` AND lower(w.domain) LIKE ? ESCAPE '\'`
			args = append(args, sqlbuild.LikeContains(strings.ToLower(f.Domain)))
		}
	}
	if f.InstanceIDs != nil {
		where += ` AND EXISTS (SELECT 1 FROM web_rule_instances b WHERE b.account_id = w.account_id AND b.domain = w.domain
			AND b.instance_id IN (SELECT value FROM json_each(?)))`
		args = append(args, jsonList(f.InstanceIDs))
	}
	n, past, err := s.pageCount(ctx, ` FROM web_rules w`+where, args, f.Offset)
	if err != nil || past {
		return nil, n, err
	}
	order := ` ORDER BY w.domain`
	if f.Domain != "" && !f.Exact {
		order = ` ORDER BY lower(w.domain) = ? DESC, w.domain`
		args = append(args, strings.ToLower(f.Domain))
	}
	rows, err := s.rquery(ctx, webRuleSelect+where+order+limit(f.Limit)+` OFFSET ?`, append(args, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	out, err := collectWebRules(rows)
	return out, n, err
}

// Certs implements moat.Reader.
func (s *Store) Certs(ctx context.Context, accountID string) ([]moat.Cert, error) {
	rows, err := s.rquery(ctx, `SELECT cert_id, `+sqlbuild.CertCols+` FROM certs WHERE account_id = ? ORDER BY cert_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []moat.Cert
	for rows.Next() {
		c, err := scanCert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SourceEntryPage implements moat.Reader.
func (s *Store) SourceEntryPage(ctx context.Context, f moat.SourceFilter) ([]moat.SourceEntry, int64, error) {
	where := ` FROM source_entries WHERE instance_id = ? AND list = ? AND (expire_ms = 0 OR expire_ms > ?)`
	args := []any{f.InstanceID, string(f.List), ms(f.Now)}
	if f.Prefix != "" {
		where += ` AND ip LIKE ? ESCAPE '\'`
		args = append(args, sqlbuild.LikePrefix(f.Prefix))
	}
	if f.Type != "" {
		where += ` AND type = ?`
		args = append(args, f.Type)
	}
	n, past, err := s.pageCount(ctx, where, args, f.Offset)
	if err != nil || past {
		return nil, n, err
	}
	rows, err := s.rquery(ctx, `SELECT `+sqlbuild.SourceCols+where+` ORDER BY ip`+limit(f.Limit)+` OFFSET ?`, append(args, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []moat.SourceEntry
	for rows.Next() {
		e, err := scanSource(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, n, rows.Err()
}

// RuleCounts implements moat.Reader.
func (s *Store) RuleCounts(ctx context.Context, instanceIDs []string) (map[string]moat.RuleCount, error) {
	out := map[string]moat.RuleCount{}
	if len(instanceIDs) == 0 {
		return out, nil
	}
	rows, err := s.rquery(ctx, ruleCountsSQL, jsonList(instanceIDs), jsonList(instanceIDs))
	if err != nil {
		return nil, err
	}
	return out, collectRuleCounts(rows, out)
}

// ruleCountsSQL counts port rules and website bindings of the instances
// in two JSON arrays (the same list twice).
const ruleCountsSQL = `SELECT instance_id, 0, COUNT(*) FROM port_rules WHERE instance_id IN (SELECT value FROM json_each(?)) GROUP BY instance_id
	UNION ALL
	SELECT instance_id, 1, COUNT(*) FROM web_rule_instances WHERE instance_id IN (SELECT value FROM json_each(?)) GROUP BY instance_id`

func collectRuleCounts(rows *sql.Rows, out map[string]moat.RuleCount) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var kind, n int
		if err := rows.Scan(&id, &kind, &n); err != nil {
			return err
		}
		c := out[id]
		if kind == 0 {
			c.Ports = n
		} else {
			c.Domains = n
		}
		out[id] = c
	}
	return rows.Err()
}

// UDPReflect implements moat.Reader.
func (s *Store) UDPReflect(ctx context.Context, instanceID string) ([]int, error) {
	row, err := s.queryRow(ctx, `SELECT ports FROM udp_reflect WHERE instance_id = ?`, instanceID)
	if err != nil {
		return nil, err
	}
	return scanPorts(row)
}

func scanPorts(row *sql.Row) ([]int, error) {
	var v string
	if err := row.Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	var ports []int
	if err := sqlbuild.DecodeJSON(v, &ports); err != nil {
		return nil, err
	}
	if len(ports) == 0 {
		return nil, nil
	}
	return ports, nil
}

// ---- Tx ----

func (t *tx) PortRules(instanceID string) ([]moat.PortRule, error) {
	rows, err := t.query(`SELECT `+sqlbuild.PortRuleCols+` FROM port_rules WHERE instance_id = ? ORDER BY protocol, frontend_port`, instanceID)
	if err != nil {
		return nil, err
	}
	return collectPortRules(rows)
}

func (t *tx) PortRule(k moat.PortKey) (moat.PortRule, error) {
	return scanPortRule(t.queryRow(`SELECT `+sqlbuild.PortRuleCols+` FROM port_rules WHERE instance_id = ? AND protocol = ? AND frontend_port = ?`,
		k.InstanceID, k.Protocol, k.FrontendPort))
}

func (t *tx) InsertPortRule(r *moat.PortRule) error {
	_, err := t.exec(`INSERT INTO port_rules(`+sqlbuild.PortRuleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.InstanceID, r.Protocol, r.FrontendPort, r.BackendPort, sqlbuild.EncodeJSON(r.RealServers), sqlbuild.EncodeJSON(r.Config),
		sqlbuild.EncodeJSON(r.HealthCheck), ms(r.Created), ms(r.Updated))
	return insertErr(err)
}

func (t *tx) UpdatePortRule(r *moat.PortRule) error {
	res, err := t.exec(`UPDATE port_rules SET backend_port = ?, real_servers = ?, config = ?, health_check = ?, updated_ms = ?
		WHERE instance_id = ? AND protocol = ? AND frontend_port = ?`,
		r.BackendPort, sqlbuild.EncodeJSON(r.RealServers), sqlbuild.EncodeJSON(r.Config), sqlbuild.EncodeJSON(r.HealthCheck), ms(r.Updated),
		r.InstanceID, r.Protocol, r.FrontendPort)
	return affected(res, err)
}

func (t *tx) DeletePortRule(k moat.PortKey) error {
	res, err := t.exec(`DELETE FROM port_rules WHERE instance_id = ? AND protocol = ? AND frontend_port = ?`, k.InstanceID, k.Protocol, k.FrontendPort)
	return affected(res, err)
}

func (t *tx) RuleCount(instanceID string) (moat.RuleCount, error) {
	var c moat.RuleCount
	err := t.queryRow(`SELECT (SELECT COUNT(*) FROM port_rules WHERE instance_id = ?), (SELECT COUNT(*) FROM web_rule_instances WHERE instance_id = ?)`,
		instanceID, instanceID).Scan(&c.Ports, &c.Domains)
	return c, err
}

func (t *tx) WebRule(accountID, domain string) (moat.WebRule, error) {
	return scanWebRule(t.queryRow(webRuleSelect+` WHERE w.account_id = ? AND w.domain = ?`, accountID, domain))
}

func (t *tx) WebRulesOf(instanceID string) ([]moat.WebRule, error) {
	rows, err := t.query(webRuleSelect+`
		WHERE EXISTS (SELECT 1 FROM web_rule_instances i WHERE i.account_id = w.account_id AND i.domain = w.domain AND i.instance_id = ?)
		ORDER BY w.domain`, instanceID)
	if err != nil {
		return nil, err
	}
	return collectWebRules(rows)
}

func (t *tx) InsertWebRule(w *moat.WebRule) error {
	_, err := t.exec(`INSERT INTO web_rules(`+sqlbuild.WebRuleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.AccountID, w.Domain, string(w.Region), w.Cname, sqlbuild.EncodeJSON(w.RealServers), w.RsType, sqlbuild.EncodeJSON(w.ProxyTypes),
		sqlbuild.EncodeJSON(w.HTTPSExt), w.CertID, ms(w.Created), ms(w.Updated))
	if err != nil {
		return insertErr(err)
	}
	return t.bindWebRule(w)
}

// bindWebRule writes the website's instance bindings in their order.
func (t *tx) bindWebRule(w *moat.WebRule) error {
	_, err := t.exec(`INSERT INTO web_rule_instances(account_id, domain, instance_id, pos)
		SELECT ?, ?, value, MIN(key) FROM json_each(?) GROUP BY value`, w.AccountID, w.Domain, jsonList(w.InstanceIDs))
	return err
}

func (t *tx) UpdateWebRule(w *moat.WebRule) error {
	res, err := t.exec(`UPDATE web_rules SET region = ?, real_servers = ?, rs_type = ?, proxy_types = ?, https_ext = ?, cert_id = ?, updated_ms = ?
		WHERE account_id = ? AND domain = ?`,
		string(w.Region), sqlbuild.EncodeJSON(w.RealServers), w.RsType, sqlbuild.EncodeJSON(w.ProxyTypes), sqlbuild.EncodeJSON(w.HTTPSExt),
		w.CertID, ms(w.Updated), w.AccountID, w.Domain)
	if err := affected(res, err); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM web_rule_instances WHERE account_id = ? AND domain = ?`, w.AccountID, w.Domain); err != nil {
		return err
	}
	return t.bindWebRule(w)
}

func (t *tx) DeleteWebRule(accountID, domain string) error {
	res, err := t.exec(`DELETE FROM web_rules WHERE account_id = ? AND domain = ?`, accountID, domain)
	if err := affected(res, err); err != nil {
		return err
	}
	if _, err = t.exec(`DELETE FROM web_rule_instances WHERE account_id = ? AND domain = ?`, accountID, domain); err != nil {
		return err
	}
	_, err = t.exec(`DELETE FROM web_protections WHERE account_id = ? AND domain = ?`, accountID, domain)
	return err
}

func (t *tx) InsertCert(c *moat.Cert) error {
	var id int64
	err := t.queryRow(`INSERT INTO certs(`+sqlbuild.CertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING cert_id`,
		c.AccountID, string(c.Region), c.Name, c.CertPEM, c.KeyPEM, c.Common, c.Issuer, ms(c.NotBefore), ms(c.NotAfter), ms(c.Created)).Scan(&id)
	if err != nil {
		return insertErr(err)
	}
	c.ID = id
	return nil
}

func (t *tx) Cert(accountID string, id int64) (moat.Cert, error) {
	return scanCert(t.queryRow(`SELECT cert_id, `+sqlbuild.CertCols+` FROM certs WHERE account_id = ? AND cert_id = ?`, accountID, id))
}

func (t *tx) CertByName(accountID, name string) (moat.Cert, error) {
	return scanCert(t.queryRow(`SELECT cert_id, `+sqlbuild.CertCols+` FROM certs WHERE account_id = ? AND name = ?`, accountID, name))
}

func (t *tx) PutSourceEntries(entries []moat.SourceEntry) error {
	for _, e := range entries {
		_, err := t.exec(`INSERT INTO source_entries(`+sqlbuild.SourceCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(instance_id, list, ip) DO UPDATE SET type = excluded.type, expire_ms = excluded.expire_ms, created_ms = excluded.created_ms`,
			e.InstanceID, string(e.List), e.IP, e.Type, expiryMS(e.Expires), ms(e.Created))
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeleteSourceEntries(instanceID string, list moat.SourceListKind, ips []string) (int, error) {
	var res sql.Result
	var err error
	if ips == nil {
		res, err = t.exec(`DELETE FROM source_entries WHERE instance_id = ? AND list = ?`, instanceID, string(list))
	} else {
		res, err = t.exec(`DELETE FROM source_entries WHERE instance_id = ? AND list = ? AND ip IN (SELECT value FROM json_each(?))`,
			instanceID, string(list), jsonList(ips))
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) CountSourceEntries(instanceID string, list moat.SourceListKind, typ string, now time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM source_entries WHERE instance_id = ? AND list = ? AND (? = '' OR type = ?)
		AND (expire_ms = 0 OR expire_ms > ?)`, instanceID, string(list), typ, typ, ms(now)).Scan(&n)
	return n, err
}

func (t *tx) SetUDPReflect(instanceID string, ports []int) error {
	if len(ports) == 0 {
		_, err := t.exec(`DELETE FROM udp_reflect WHERE instance_id = ?`, instanceID)
		return err
	}
	_, err := t.exec(`INSERT INTO udp_reflect(instance_id, ports) VALUES (?, ?) ON CONFLICT(instance_id) DO UPDATE SET ports = excluded.ports`,
		instanceID, sqlbuild.EncodeJSON(ports))
	return err
}

// deleteRulesOf deletes what is attached to an instance besides its tags:
// its forwarding configuration and what the data plane measured of it.
func (t *tx) deleteRulesOf(id string) error {
	for _, q := range []string{
		`DELETE FROM port_rules WHERE instance_id = ?`,
		`DELETE FROM source_entries WHERE instance_id = ?`,
		`DELETE FROM udp_reflect WHERE instance_id = ?`,
		`DELETE FROM web_rule_instances WHERE instance_id = ?`,
		`DELETE FROM traffic_samples WHERE instance_id = ?`,
		`DELETE FROM mitigation_events WHERE instance_id = ?`,
	} {
		if _, err := t.exec(q, id); err != nil {
			return err
		}
	}
	return nil
}
