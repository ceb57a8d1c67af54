// Package sqlbuild holds what the SQLite and PostgreSQL stores write word
// for word alike: the column lists of the tables they share, how a Spec is
// stored, and the conditions of an instance filter on plain columns. What
// differs by dialect (placeholders, array parameters, string functions,
// LIMIT, locking) stays in each store; so does every rule, which is the
// domain's.
package sqlbuild

import (
	"encoding/json"
	"fmt"
	"strings"

	"moat/internal/moat"
)

// KeyCols are the columns of access_keys, in the order both stores scan
// and insert them.
const KeyCols = `access_key_id, secret, account_id, active, created_ms, user_name, token_hash, expires_ms, session_policy`

// InstanceCols are the columns of instances, in the order both stores
// scan and insert them.
const InstanceCols = `instance_id, account_id, region, ip, remark, edition, resource_group_id, create_ms, expire_ms, phase, product_type, spec, renewal_status, renew_period`

// ListCols are the columns a listing reads (instances is i): the account
// is the filter's, so it is not read back.
const ListCols = `i.instance_id, i.region, i.ip, i.remark, i.edition, i.resource_group_id, i.create_ms, i.expire_ms, i.phase, i.product_type, i.spec, i.renewal_status, i.renew_period`

// EventCols are the columns both stores read of an event, in the order
// they scan them.
const EventCols = `seq, time_ms, recorded_ms, instance_id, account_id, region, type, request_id, reason, periods, subject`

// AuditCols are the columns both stores read of an audit record, in the
// order they scan them (resources is a JSON array in SQLite, a text[] in
// PostgreSQL).
const AuditCols = `seq, time_ms, account_id, principal, source_ip, action, resources, code, request_id, resource_count`

// EncodeSpec is the stored form of a Spec: its JSON.
func EncodeSpec(s moat.Spec) string {
	b, _ := json.Marshal(s) // a struct of ints and strings always encodes
	return string(b)
}

// DecodeSpec reads a Spec stored by EncodeSpec.
func DecodeSpec(v string, s *moat.Spec) error {
	if err := json.Unmarshal([]byte(v), s); err != nil {
		return fmt.Errorf("stored spec %q: %w", v, err)
	}
	return nil
}

// Dialect is what a store's SQL for Where differs in.
type Dialect struct {
	// Param records arg and returns its placeholder (? or $n); it is
	// called in the order the placeholders appear.
	Param func(arg any) string
	// IDIn returns the condition "i.instance_id is one of ids".
	IDIn func(ids []string) string
	// Instr is the function whose (haystack, needle) > 0 is a
	// case-sensitive literal substring test: instr or strpos.
	Instr string
}

// Where returns f's conditions on the columns of instances (aliased i)
// other than its owner and tags, to be ANDed, in a fixed order.
func Where(f *moat.InstanceFilter, d Dialect) []string {
	var w []string
	add := func(cond string, arg any) {
		w = append(w, cond+d.Param(arg))
	}
	if f.IDs != nil {
		w = append(w, d.IDIn(f.IDs))
	}
	if f.IP != "" {
		add("i.ip = ", f.IP)
	}
	if f.RemarkContains != "" {
		// Case-sensitive literal substring, identical on every store.
		w = append(w, d.Instr+"(i.remark, "+d.Param(f.RemarkContains)+") > 0")
	}
	if f.Edition != nil {
		add("i.edition = ", *f.Edition)
	}
	if f.ExpireFrom != nil {
		add("i.expire_ms >= ", f.ExpireFrom.UnixMilli())
	}
	if f.ExpireBefore != nil {
		add("i.expire_ms < ", f.ExpireBefore.UnixMilli())
	}
	if f.ResourceGroupID != "" {
		add("i.resource_group_id = ", f.ResourceGroupID)
	}
	if f.CreateFrom != nil {
		add("i.create_ms >= ", f.CreateFrom.UnixMilli())
	}
	if f.CreateBefore != nil {
		add("i.create_ms < ", f.CreateBefore.UnixMilli())
	}
	if f.RenewalStatus != "" {
		add("i.renewal_status = ", string(f.RenewalStatus))
	}
	if f.ProductType != "" {
		add("i.product_type = ", string(f.ProductType))
	}
	return w
}

// PortRuleCols are the columns of port_rules, in the order both stores
// scan and insert them.
const PortRuleCols = `instance_id, protocol, frontend_port, backend_port, real_servers, config, health_check, created_ms, updated_ms`

// PortRuleListCols are PortRuleCols for listings, which leave Config and
// HealthCheck out: empty strings stand for them, which DecodeJSON reads as
// the zero value (decoding them cost a listing of ten rules a quarter of
// its time).
const PortRuleListCols = `instance_id, protocol, frontend_port, backend_port, real_servers, '', '', created_ms, updated_ms`

// WebRuleCols are the columns of web_rules, in the order both stores scan
// and insert them (the instance bindings are in web_rule_instances).
const WebRuleCols = `account_id, domain, region, cname, real_servers, rs_type, proxy_types, https_ext, cert_id, created_ms, updated_ms`

// CertCols are the columns of certs after cert_id, which the store assigns,
// in the order both stores scan and insert them.
const CertCols = `account_id, region, name, cert_pem, key_pem, common, issuer, not_before_ms, not_after_ms, created_ms`

// SourceCols are the columns of source_entries, in the order both stores
// scan and insert them.
const SourceCols = `instance_id, list, ip, type, expire_ms, created_ms`

// TrafficCols are the columns of traffic_samples, in the order both
// stores scan and insert them.
const TrafficCols = `instance_id, protocol, frontend_port, bucket_ms, node, in_bytes, out_bytes, in_packets, out_packets, new_conns, active_conns, inactive_conns, max_conns, dropped`

// MitigationCols are the columns of mitigation_events, in the order both
// stores scan and insert them.
const MitigationCols = `instance_id, protocol, frontend_port, node, source, limit_name, start_ms, end_ms, peak, dropped`

// EncodeJSON is the stored form of a structured value of a rule (origins,
// settings, health check, proxy types, ports): its JSON.
func EncodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Every stored value is made of ints, strings and slices of them.
		panic(fmt.Sprintf("sqlbuild: encode %T: %v", v, err))
	}
	return string(b)
}

// DecodeJSON reads a value stored by EncodeJSON into v.
func DecodeJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("stored %T %q: %w", v, s, err)
	}
	return nil
}

// likeEscaper escapes LIKE's metacharacters, with backslash as the
// escape character (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// LikeContains is a LIKE pattern (ESCAPE '\') matching values that
// contain s literally.
func LikeContains(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// LikePrefix is a LIKE pattern (ESCAPE '\') matching values that start
// with s literally.
func LikePrefix(s string) string { return likeEscaper.Replace(s) + "%" }

// Memo decodes the structured values of many rules and instances, each
// distinct text once: a forwarding configuration of thousands of rules
// holds few distinct settings, health checks and specs, and decoding them
// all was most of its reading time. The types it keeps hold no
// references, so a copy shares nothing. A nil Memo decodes every text.
type Memo struct {
	config map[string]moat.RuleConfig
	health map[string]moat.HealthCheck
	spec   map[string]moat.Spec
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo {
	return &Memo{config: map[string]moat.RuleConfig{}, health: map[string]moat.HealthCheck{}, spec: map[string]moat.Spec{}}
}

func memoized[T any](m map[string]T, s string, v *T, decode func(string, *T) error) error {
	if m == nil {
		return decode(s, v)
	}
	if d, ok := m[s]; ok {
		*v = d
		return nil
	}
	if err := decode(s, v); err != nil {
		return err
	}
	m[s] = *v
	return nil
}

// Rule decodes a port rule's stored origins, settings and health check.
func (m *Memo) Rule(servers, config, health string, r *moat.PortRule) error {
	if err := DecodeJSON(servers, &r.RealServers); err != nil {
		return err
	}
	if m == nil {
		m = &Memo{}
	}
	if err := memoized(m.config, config, &r.Config, func(s string, v *moat.RuleConfig) error { return DecodeJSON(s, v) }); err != nil {
		return err
	}
	return memoized(m.health, health, &r.HealthCheck, func(s string, v *moat.HealthCheck) error { return DecodeJSON(s, v) })
}

// Spec decodes a stored Spec.
func (m *Memo) Spec(s string, sp *moat.Spec) error {
	if m == nil {
		return DecodeSpec(s, sp)
	}
	return memoized(m.spec, s, sp, DecodeSpec)
}

// WebTrafficCols are the columns of web_traffic_samples, in the order both
// stores write and scan them: the key, then the counters of
// moat.WebTrafficSample in field order (the codes of moat.WebStatusCodes
// last).
const WebTrafficCols = `account_id, domain, bucket_ms, node, requests, attack_requests, in_bytes, out_bytes, ` +
	`status_2xx, status_3xx, status_4xx, status_5xx, ` +
	`status_200, status_403, status_404, status_405, status_410, status_499, status_501, status_502, status_503, status_504`

// WebTrafficCounters are the counter columns of web_traffic_samples.
var WebTrafficCounters = []string{"requests", "attack_requests", "in_bytes", "out_bytes",
	"status_2xx", "status_3xx", "status_4xx", "status_5xx",
	"status_200", "status_403", "status_404", "status_405", "status_410", "status_499", "status_501", "status_502", "status_503", "status_504"}

// WebTrafficValues are a sample's counters in WebTrafficCounters order.
func WebTrafficValues(x *moat.WebTrafficSample) []int64 {
	v := []int64{x.Requests, x.AttackRequests, x.InBytes, x.OutBytes, x.Status2xx, x.Status3xx, x.Status4xx, x.Status5xx}
	return append(v, x.Codes[:]...)
}

// WebTrafficDest are pointers to a sample's counters in WebTrafficCounters
// order.
func WebTrafficDest(x *moat.WebTrafficSample) []any {
	d := []any{&x.Requests, &x.AttackRequests, &x.InBytes, &x.OutBytes, &x.Status2xx, &x.Status3xx, &x.Status4xx, &x.Status5xx}
	for i := range x.Codes {
		d = append(d, &x.Codes[i])
	}
	return d
}

// WebAttackCols are the columns of web_attack_events, in the order both
// stores write and scan them.
const WebAttackCols = `node, account_id, domain, source, reason, start_ms, end_ms, peak, blocked, watched`

// LiveWebRule is the condition on web_rules w that the website is bound
// to at least one live instance.
const LiveWebRule = `EXISTS (SELECT 1 FROM web_rule_instances b JOIN instances i ON i.instance_id = b.instance_id
	WHERE b.account_id = w.account_id AND b.domain = w.domain)`
