package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"moat/internal/moat"
	"moat/internal/store/sqlbuild"
)

// Forwarding configuration: port rules, websites and their instance
// bindings, certificates, source lists and the UDP reflection filter.
// Lists travel as array parameters. Nothing is cached: every replica reads
// the committed rows.

type scanner interface{ Scan(...any) error }

// portRuleDest returns scan destinations for sqlbuild.PortRuleCols and a
// function that completes the rule once scanned.
func portRuleDest(r *moat.PortRule) ([]any, func() error) { return portRuleDestMemo(r, nil) }

// portRuleDestMemo is portRuleDest decoding through m (see sqlbuild.Memo).
func portRuleDestMemo(r *moat.PortRule, m *sqlbuild.Memo) ([]any, func() error) {
	var servers, config, health string
	var created, updated int64
	return []any{&r.InstanceID, &r.Protocol, &r.FrontendPort, &r.BackendPort, &servers, &config, &health, &created, &updated}, func() error {
		r.Created, r.Updated = fromMS(created), fromMS(updated)
		return m.Rule(servers, config, health, r)
	}
}

func collectPortRules(rows pgx.Rows) ([]moat.PortRule, error) {
	defer rows.Close()
	var out []moat.PortRule
	for rows.Next() {
		var r moat.PortRule
		dest, done := portRuleDest(&r)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := done(); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// webRuleSelect reads sqlbuild.WebRuleCols of web_rules w and, last, the
// website's instances in binding order.
const webRuleSelect = `SELECT ` + sqlbuild.WebRuleCols + `,
		ARRAY(SELECT b.instance_id FROM web_rule_instances b WHERE b.account_id = w.account_id AND b.domain = w.domain ORDER BY b.pos)
	FROM web_rules w`

func webRuleDest(w *moat.WebRule) ([]any, func() error) {
	var region, servers, proxies, ext string
	var created, updated int64
	return []any{&w.AccountID, &w.Domain, &region, &w.Cname, &servers, &w.RsType, &proxies, &ext, &w.CertID, &created, &updated, &w.InstanceIDs},
		func() error {
			w.Region, w.Created, w.Updated = moat.Region(region), fromMS(created), fromMS(updated)
			if len(w.InstanceIDs) == 0 {
				w.InstanceIDs = nil
			}
			return errors.Join(sqlbuild.DecodeJSON(servers, &w.RealServers), sqlbuild.DecodeJSON(proxies, &w.ProxyTypes),
				sqlbuild.DecodeJSON(ext, &w.HTTPSExt))
		}
}

func collectWebRules(rows pgx.Rows) ([]moat.WebRule, error) {
	defer rows.Close()
	var out []moat.WebRule
	for rows.Next() {
		var w moat.WebRule
		dest, done := webRuleDest(&w)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := done(); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func certDest(c *moat.Cert) ([]any, func()) {
	var region string
	var before, after, created int64
	return []any{&c.ID, &c.AccountID, &region, &c.Name, &c.CertPEM, &c.KeyPEM, &c.Common, &c.Issuer, &before, &after, &created}, func() {
		c.Region, c.NotBefore, c.NotAfter, c.Created = moat.Region(region), fromMS(before), fromMS(after), fromMS(created)
	}
}

func expiryMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// nonNil makes a nil list an empty array parameter (nil is NULL).
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// page reads a count and then a page of rows in one round trip.
func (s *Store) page(ctx context.Context, op, count string, countArgs []any, list string, listArgs []any, collect func(pgx.Rows) error) (int64, error) {
	var n int64
	err := s.read(ctx, op, func(ctx context.Context, c *pgxpool.Conn) error {
		b := &pgx.Batch{}
		b.Queue(count, countArgs...)
		b.Queue(list, listArgs...)
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if err := br.QueryRow().Scan(&n); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		if err := collect(rows); err != nil {
			return err
		}
		return br.Close()
	})
	return n, err
}

// ---- Reader ----

// PortRulePage implements moat.Reader.
func (s *Store) PortRulePage(ctx context.Context, f moat.PortRuleFilter) ([]moat.PortRule, int64, error) {
	var p params
	where := ` FROM port_rules WHERE instance_id = ` + p.add(f.InstanceID)
	if f.Protocol != "" {
		where += ` AND protocol = ` + p.add(f.Protocol)
	}
	if f.FrontendPort != 0 {
		where += ` AND frontend_port = ` + p.add(int64(f.FrontendPort))
	}
	lp := append(params{}, p...)
	list := `SELECT ` + sqlbuild.PortRuleListCols + where + ` ORDER BY protocol, frontend_port LIMIT ` + lp.add(limitArg(f.Limit)) +
		` OFFSET ` + lp.add(int64(max(f.Offset, 0)))
	var out []moat.PortRule
	n, err := s.page(ctx, "port rule page", `SELECT COUNT(*)`+where, p, list, lp, func(rows pgx.Rows) error {
		var err error
		out, err = collectPortRules(rows)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// PortRulesByKey implements moat.Reader.
func (s *Store) PortRulesByKey(ctx context.Context, keys []moat.PortKey) ([]moat.PortRule, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids, protos, ports := make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		ids[i], protos[i], ports[i] = k.InstanceID, k.Protocol, int64(k.FrontendPort)
	}
	var out []moat.PortRule
	err := s.read(ctx, "port rules by key", func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT r.instance_id, r.protocol, r.frontend_port, r.backend_port, r.real_servers, r.config, r.health_check,
				r.created_ms, r.updated_ms
			FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k (id, protocol, port, ord)
			JOIN port_rules r ON r.instance_id = k.id AND r.protocol = k.protocol AND r.frontend_port = k.port
			ORDER BY k.ord`, ids, protos, ports)
		if err != nil {
			return err
		}
		out, err = collectPortRules(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WebRulePage implements moat.Reader.
func (s *Store) WebRulePage(ctx context.Context, f moat.WebRuleFilter) ([]moat.WebRule, int64, error) {
	var p params
	where := ` WHERE w.account_id = ` + p.add(f.AccountID)
	if f.Region != "" {
		where += ` AND w.region = ` + p.add(string(f.Region))
	}
	if f.Domain != "" {
		if f.Exact {
			where += ` AND w.domain = ` + p.add(f.Domain)
		} else {
			where += ` AND lower(w.domain) LIKE ` + p.add(sqlbuild.LikeContains(strings.ToLower(f.Domain))) + ` ESCAPE '\'`
		}
	}
	if f.InstanceIDs != nil {
		where += ` AND EXISTS (SELECT 1 FROM web_rule_instances b WHERE b.account_id = w.account_id AND b.domain = w.domain
			AND b.instance_id = ANY(` + p.add(f.InstanceIDs) + `::text[]))`
	}
	lp := append(params{}, p...)
	order := ` ORDER BY w.domain`
	if f.Domain != "" && !f.Exact {
		order = ` ORDER BY lower(w.domain) = ` + lp.add(strings.ToLower(f.Domain)) + ` DESC, w.domain`
	}
	list := webRuleSelect + where + order + ` LIMIT ` + lp.add(limitArg(f.Limit)) + ` OFFSET ` + lp.add(int64(max(f.Offset, 0)))
	var out []moat.WebRule
	n, err := s.page(ctx, "web rule page", `SELECT COUNT(*) FROM web_rules w`+where, p, list, lp, func(rows pgx.Rows) error {
		var err error
		out, err = collectWebRules(rows)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// Certs implements moat.Reader.
func (s *Store) Certs(ctx context.Context, accountID string) ([]moat.Cert, error) {
	var out []moat.Cert
	err := s.read(ctx, "certs", func(ctx context.Context, c *pgxpool.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, `SELECT cert_id, `+sqlbuild.CertCols+` FROM certs WHERE account_id = $1 ORDER BY cert_id`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ct moat.Cert
			dest, done := certDest(&ct)
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			done()
			out = append(out, ct)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// SourceEntryPage implements moat.Reader.
func (s *Store) SourceEntryPage(ctx context.Context, f moat.SourceFilter) ([]moat.SourceEntry, int64, error) {
	var p params
	where := ` FROM source_entries WHERE instance_id = ` + p.add(f.InstanceID) + ` AND list = ` + p.add(string(f.List)) +
		` AND (expire_ms = 0 OR expire_ms > ` + p.add(ms(f.Now)) + `)`
	if f.Prefix != "" {
		where += ` AND ip LIKE ` + p.add(sqlbuild.LikePrefix(f.Prefix)) + ` ESCAPE '\'`
	}
	if f.Type != "" {
		where += ` AND type = ` + p.add(f.Type)
	}
	lp := append(params{}, p...)
	list := `SELECT ` + sqlbuild.SourceCols + where + ` ORDER BY ip LIMIT ` + lp.add(limitArg(f.Limit)) + ` OFFSET ` + lp.add(int64(max(f.Offset, 0)))
	var out []moat.SourceEntry
	n, err := s.page(ctx, "source entry page", `SELECT COUNT(*)`+where, p, list, lp, func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			e, err := scanSource(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// ruleCountsSQL counts the port rules and website bindings of the
// instances in $1.
const ruleCountsSQL = `SELECT instance_id, 0, COUNT(*) FROM port_rules WHERE instance_id = ANY($1::text[]) GROUP BY instance_id
	UNION ALL
	SELECT instance_id, 1, COUNT(*) FROM web_rule_instances WHERE instance_id = ANY($1::text[]) GROUP BY instance_id`

// RuleCounts implements moat.Reader.
func (s *Store) RuleCounts(ctx context.Context, instanceIDs []string) (map[string]moat.RuleCount, error) {
	out := map[string]moat.RuleCount{}
	if len(instanceIDs) == 0 {
		return out, nil
	}
	err := s.read(ctx, "rule counts", func(ctx context.Context, c *pgxpool.Conn) error {
		clear(out)
		rows, err := c.Query(ctx, ruleCountsSQL, instanceIDs)
		if err != nil {
			return err
		}
		return collectRuleCounts(rows, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func collectRuleCounts(rows pgx.Rows, out map[string]moat.RuleCount) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var kind int32
		var n int64
		if err := rows.Scan(&id, &kind, &n); err != nil {
			return err
		}
		c := out[id]
		if kind == 0 {
			c.Ports = int(n)
		} else {
			c.Domains = int(n)
		}
		out[id] = c
	}
	return rows.Err()
}

// UDPReflect implements moat.Reader.
func (s *Store) UDPReflect(ctx context.Context, instanceID string) ([]int, error) {
	var v string
	err := s.rowOnce(ctx, "udp reflect", `SELECT ports FROM udp_reflect WHERE instance_id = $1`, []any{instanceID}, &v)
	if errors.Is(err, moat.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
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

// query runs a statement for several rows in the transaction.
func (t *tx) query(op, q string, args []any, collect func(pgx.Rows) error) error {
	if err := t.aborted(op); err != nil {
		return err
	}
	rows, err := t.tx.Query(t.octx, q, args...)
	if err != nil {
		return t.wrap(op, err)
	}
	if err := collect(rows); err != nil {
		return t.wrap(op, err)
	}
	return nil
}

func (t *tx) PortRules(instanceID string) ([]moat.PortRule, error) {
	var out []moat.PortRule
	err := t.query("port rules", `SELECT `+sqlbuild.PortRuleCols+` FROM port_rules WHERE instance_id = $1 ORDER BY protocol, frontend_port`,
		[]any{instanceID}, func(rows pgx.Rows) error {
			var err error
			out, err = collectPortRules(rows)
			return err
		})
	return out, err
}

// PortRule locks the rule for the rest of the transaction.
func (t *tx) PortRule(k moat.PortKey) (moat.PortRule, error) {
	var r moat.PortRule
	dest, done := portRuleDest(&r)
	err := t.row("port rule", `SELECT `+sqlbuild.PortRuleCols+` FROM port_rules WHERE instance_id = $1 AND protocol = $2 AND frontend_port = $3
		FOR UPDATE`, []any{k.InstanceID, k.Protocol, int64(k.FrontendPort)}, dest...)
	if err != nil {
		return moat.PortRule{}, err
	}
	return r, done()
}

func (t *tx) InsertPortRule(r *moat.PortRule) error {
	n, err := t.exec("insert port rule", `INSERT INTO port_rules (`+sqlbuild.PortRuleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT DO NOTHING`,
		r.InstanceID, r.Protocol, int64(r.FrontendPort), int64(r.BackendPort), sqlbuild.EncodeJSON(r.RealServers), sqlbuild.EncodeJSON(r.Config),
		sqlbuild.EncodeJSON(r.HealthCheck), ms(r.Created), ms(r.Updated))
	return conflictIfNone(n, err)
}

func (t *tx) UpdatePortRule(r *moat.PortRule) error {
	return notFoundIfNone(t.exec("update port rule", `UPDATE port_rules SET backend_port = $1, real_servers = $2, config = $3, health_check = $4,
			updated_ms = $5
		WHERE instance_id = $6 AND protocol = $7 AND frontend_port = $8`,
		int64(r.BackendPort), sqlbuild.EncodeJSON(r.RealServers), sqlbuild.EncodeJSON(r.Config), sqlbuild.EncodeJSON(r.HealthCheck), ms(r.Updated),
		r.InstanceID, r.Protocol, int64(r.FrontendPort)))
}

func (t *tx) DeletePortRule(k moat.PortKey) error {
	return notFoundIfNone(t.exec("delete port rule", `DELETE FROM port_rules WHERE instance_id = $1 AND protocol = $2 AND frontend_port = $3`,
		k.InstanceID, k.Protocol, int64(k.FrontendPort)))
}

func (t *tx) RuleCount(instanceID string) (moat.RuleCount, error) {
	var ports, domains int64
	err := t.row("rule count", `SELECT (SELECT COUNT(*) FROM port_rules WHERE instance_id = $1),
		(SELECT COUNT(*) FROM web_rule_instances WHERE instance_id = $1)`, []any{instanceID}, &ports, &domains)
	return moat.RuleCount{Ports: int(ports), Domains: int(domains)}, err
}

// WebRule locks the website for the rest of the transaction.
func (t *tx) WebRule(accountID, domain string) (moat.WebRule, error) {
	var w moat.WebRule
	dest, done := webRuleDest(&w)
	if err := t.row("web rule", webRuleSelect+` WHERE w.account_id = $1 AND w.domain = $2 FOR UPDATE OF w`, []any{accountID, domain}, dest...); err != nil {
		return moat.WebRule{}, err
	}
	return w, done()
}

func (t *tx) WebRulesOf(instanceID string) ([]moat.WebRule, error) {
	var out []moat.WebRule
	err := t.query("web rules of", webRuleSelect+`
		WHERE EXISTS (SELECT 1 FROM web_rule_instances i WHERE i.account_id = w.account_id AND i.domain = w.domain AND i.instance_id = $1)
		ORDER BY w.domain`, []any{instanceID}, func(rows pgx.Rows) error {
		var err error
		out, err = collectWebRules(rows)
		return err
	})
	return out, err
}

// InsertWebRule inserts the website and its bindings in one statement; a
// taken domain inserts nothing.
func (t *tx) InsertWebRule(w *moat.WebRule) error {
	var one int
	err := t.row("insert web rule", `WITH w AS (
			INSERT INTO web_rules (`+sqlbuild.WebRuleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT DO NOTHING
			RETURNING account_id, domain),
		b AS (
			INSERT INTO web_rule_instances (account_id, domain, instance_id, pos)
			SELECT w.account_id, w.domain, i.id, MIN(i.ord) FROM w, unnest($12::text[]) WITH ORDINALITY AS i (id, ord)
			GROUP BY w.account_id, w.domain, i.id)
		SELECT 1 FROM w`,
		[]any{w.AccountID, w.Domain, string(w.Region), w.Cname, sqlbuild.EncodeJSON(w.RealServers), int64(w.RsType), sqlbuild.EncodeJSON(w.ProxyTypes),
			sqlbuild.EncodeJSON(w.HTTPSExt), w.CertID, ms(w.Created), ms(w.Updated), nonNil(w.InstanceIDs)}, &one)
	if errors.Is(err, moat.ErrNotFound) {
		return moat.ErrConflict
	}
	return err
}

// UpdateWebRule rewrites the website, drops the bindings not in
// InstanceIDs and upserts the others (disjoint rows, so one statement).
func (t *tx) UpdateWebRule(w *moat.WebRule) error {
	var one int
	return t.row("update web rule", `WITH w AS (
			UPDATE web_rules SET region = $3, real_servers = $4, rs_type = $5, proxy_types = $6, https_ext = $7, cert_id = $8, updated_ms = $9
			WHERE account_id = $1 AND domain = $2
			RETURNING account_id, domain),
		d AS (
			DELETE FROM web_rule_instances b USING w
			WHERE b.account_id = w.account_id AND b.domain = w.domain AND b.instance_id <> ALL($10::text[])),
		i AS (
			INSERT INTO web_rule_instances (account_id, domain, instance_id, pos)
			SELECT w.account_id, w.domain, i.id, MIN(i.ord) FROM w, unnest($10::text[]) WITH ORDINALITY AS i (id, ord)
			GROUP BY w.account_id, w.domain, i.id
			ON CONFLICT (account_id, domain, instance_id) DO UPDATE SET pos = excluded.pos)
		SELECT 1 FROM w`,
		[]any{w.AccountID, w.Domain, string(w.Region), sqlbuild.EncodeJSON(w.RealServers), int64(w.RsType), sqlbuild.EncodeJSON(w.ProxyTypes),
			sqlbuild.EncodeJSON(w.HTTPSExt), w.CertID, ms(w.Updated), nonNil(w.InstanceIDs)}, &one)
}

func (t *tx) DeleteWebRule(accountID, domain string) error {
	var one int
	return t.row("delete web rule", `WITH w AS (
			DELETE FROM web_rules WHERE account_id = $1 AND domain = $2 RETURNING 1),
		b AS (
			DELETE FROM web_rule_instances WHERE account_id = $1 AND domain = $2),
		p AS (
			DELETE FROM web_protections WHERE account_id = $1 AND domain = $2)
		SELECT 1 FROM w`, []any{accountID, domain}, &one)
}

// InsertCert inserts the certificate; a taken name inserts nothing (the
// identity may skip a value then, which leaves IDs increasing).
func (t *tx) InsertCert(c *moat.Cert) error {
	var id int64
	err := t.row("insert cert", `INSERT INTO certs (`+sqlbuild.CertCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING RETURNING cert_id`,
		[]any{c.AccountID, string(c.Region), c.Name, c.CertPEM, c.KeyPEM, c.Common, c.Issuer, ms(c.NotBefore), ms(c.NotAfter), ms(c.Created)}, &id)
	if errors.Is(err, moat.ErrNotFound) {
		return moat.ErrConflict
	}
	if err != nil {
		return err
	}
	c.ID = id
	return nil
}

func (t *tx) cert(op, where string, args ...any) (moat.Cert, error) {
	var c moat.Cert
	dest, done := certDest(&c)
	if err := t.row(op, `SELECT cert_id, `+sqlbuild.CertCols+` FROM certs WHERE `+where, args, dest...); err != nil {
		return moat.Cert{}, err
	}
	done()
	return c, nil
}

func (t *tx) Cert(accountID string, id int64) (moat.Cert, error) {
	return t.cert("cert", `account_id = $1 AND cert_id = $2`, accountID, id)
}

func (t *tx) CertByName(accountID, name string) (moat.Cert, error) {
	return t.cert("cert by name", `account_id = $1 AND name = $2`, accountID, name)
}

// PutSourceEntries upserts the entries in one statement; of an address
// given twice the last one counts.
func (t *tx) PutSourceEntries(entries []moat.SourceEntry) error {
	type key struct{ id, list, ip string }
	at := make(map[key]int, len(entries))
	var ids, lists, ips, types []string
	var expires, created []int64
	for _, e := range entries {
		k := key{e.InstanceID, string(e.List), e.IP}
		if i, ok := at[k]; ok {
			types[i], expires[i], created[i] = e.Type, expiryMS(e.Expires), ms(e.Created)
			continue
		}
		at[k] = len(ids)
		ids, lists, ips, types = append(ids, e.InstanceID), append(lists, string(e.List)), append(ips, e.IP), append(types, e.Type)
		expires, created = append(expires, expiryMS(e.Expires)), append(created, ms(e.Created))
	}
	if len(ids) == 0 {
		return t.failed("put source entries")
	}
	_, err := t.exec("put source entries", `INSERT INTO source_entries (`+sqlbuild.SourceCols+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
		ON CONFLICT (instance_id, list, ip) DO UPDATE SET type = excluded.type, expire_ms = excluded.expire_ms, created_ms = excluded.created_ms`,
		ids, lists, ips, types, expires, created)
	return err
}

func (t *tx) DeleteSourceEntries(instanceID string, list moat.SourceListKind, ips []string) (int, error) {
	if ips == nil {
		n, err := t.exec("delete source entries", `DELETE FROM source_entries WHERE instance_id = $1 AND list = $2`, instanceID, string(list))
		return int(n), err
	}
	n, err := t.exec("delete source entries", `DELETE FROM source_entries WHERE instance_id = $1 AND list = $2 AND ip = ANY($3::text[])`,
		instanceID, string(list), ips)
	return int(n), err
}

func (t *tx) CountSourceEntries(instanceID string, list moat.SourceListKind, typ string, now time.Time) (int, error) {
	var n int64
	err := t.row("count source entries", `SELECT COUNT(*) FROM source_entries WHERE instance_id = $1 AND list = $2 AND ($3 = '' OR type = $3)
		AND (expire_ms = 0 OR expire_ms > $4)`, []any{instanceID, string(list), typ, ms(now)}, &n)
	return int(n), err
}

func (t *tx) SetUDPReflect(instanceID string, ports []int) error {
	if len(ports) == 0 {
		_, err := t.exec("set udp reflect", `DELETE FROM udp_reflect WHERE instance_id = $1`, instanceID)
		return err
	}
	_, err := t.exec("set udp reflect", `INSERT INTO udp_reflect (instance_id, ports) VALUES ($1, $2)
		ON CONFLICT (instance_id) DO UPDATE SET ports = excluded.ports`, instanceID, sqlbuild.EncodeJSON(ports))
	return err
}
