package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rpc "github.com/alibabacloud-go/tea-rpc/client"
	util "github.com/alibabacloud-go/tea-utils/service"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
)

// The calls below replay terraform-provider-alicloud's alicloud_ddoscoo_port
// and alicloud_ddoscoo_domain_resource (resource_alicloud_ddoscoo_port.go,
// resource_alicloud_ddoscoo_domain_resource.go and the DdosCooServiceV2
// describe functions) with tea-rpc v1.2.0 as the provider's RpcPost drives
// it: POST, version 2020-01-01, AK auth, the query map in the URL and the
// body map in a form body, both flattened by tea-rpc-utils (a list X as
// X.1, X.2; a map in a list as X.1.Key).

// tfRPCPost is the provider's client.RpcPost: DoRequest with the query
// and body maps, autoRetry as the call site sets it, then formatError.
func tfRPCPost(conn *rpc.Client, action string, query, body map[string]any, autoRetry bool) (map[string]any, error) {
	runtime := &util.RuntimeOptions{}
	runtime.SetAutoretry(autoRetry)
	res, err := conn.DoRequest(tea.String(action), nil, tea.String("POST"), tea.String("2020-01-01"), tea.String("AK"), query, body, runtime)
	return res, tfFormatError(res, err)
}

// tfFormatError is the provider's formatError: a 200 answer is an error
// when it has a Code other than success/ok/200/0, no Success true and a
// non-empty Message.
func tfFormatError(res map[string]any, err error) error {
	if err != nil {
		return err
	}
	code, hasCode := res["Code"]
	if hasCode {
		switch strings.ToLower(fmt.Sprint(code)) {
		case "success", "ok", "200", "0":
			return nil
		}
	}
	success, hasSuccess := res["Success"]
	if hasSuccess && fmt.Sprint(success) == "true" {
		return nil
	}
	if msg, ok := res["Message"]; ok && (msg == nil || fmt.Sprint(msg) == "") {
		return nil
	}
	if hasCode || hasSuccess {
		return fmt.Errorf("a 200 answer the provider reads as an error: %v", res)
	}
	return nil
}

var (
	tfNotFoundRE  = regexp.MustCompile("NotFound")
	tfRetryCodeRE = regexp.MustCompile(`^code: 5\d\d`)
)

// tfNotFound is the provider's NotFoundError for a tea error: HTTP 404, or
// "NotFound" in its message.
func tfNotFound(err error) bool {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return false
	}
	return tea.IntValue(se.StatusCode) == 404 || tfNotFoundRE.MatchString(tea.StringValue(se.Message))
}

// tfExpected is the current provider's IsExpectedErrors for a tea error:
// the code equals the error's Code, starts with it, or appears in the
// error's Data (the answer's JSON).
func tfExpected(err error, codes ...string) bool {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return false
	}
	for _, code := range codes {
		if tea.StringValue(se.Code) == code || strings.HasPrefix(code, tea.StringValue(se.Code)) || strings.Contains(tea.StringValue(se.Data), code) {
			return true
		}
	}
	return false
}

// tfNeedRetry is the provider's NeedRetry for a tea error.
func tfNeedRetry(err error) bool {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return false
	}
	code, msg := tea.StringValue(se.Code), tea.StringValue(se.Message)
	if strings.Contains(msg, "Client.Timeout") {
		return true
	}
	return code == "ServiceUnavailable" || code == "Rejected.Throttling" || strings.Contains(code, "Throttling") || tfRetryCodeRE.MatchString(msg)
}

// tfJSONList is the provider's jsonpath "$.Key[*]": the key must be present
// and hold a JSON list (a missing key or null fails the read with
// FailedGetAttribute instead of "not found").
func tfJSONList(t testing.TB, what string, res map[string]any, key string) []any {
	t.Helper()
	v, ok := res[key]
	if !ok {
		t.Fatalf("%s: no %s in %v: the provider's jsonpath $.%s[*] fails the read", what, key, res, key)
	}
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: %s = %#v (%T), want a JSON list", what, key, v, v)
	}
	return list
}

// tfObject is a type assertion the provider makes without checking: a
// value that is not a JSON object would panic it.
func tfObject(t testing.TB, what string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a JSON object (the provider type-asserts it)", what, v, v)
	}
	return m
}

// tfUnserved replays a call the provider makes that is outside the
// forwarding-rule actions moat serves: the gateway answers 404
// InvalidAction.NotFound, which the provider's NotFoundError accepts.
func tfUnserved(t testing.TB, conn *rpc.Client, action string, body map[string]any) {
	t.Helper()
	_, err := tfRPCPost(conn, action, map[string]any{}, body, true)
	teaError(t, err, 404, "InvalidAction.NotFound")
	if !tfNotFound(err) {
		t.Fatalf("%s: %v is not NotFoundError to the provider", action, err)
	}
}

// tfSwitches is the provider's DescribeDomainCcProtectSwitch: Domains.1 and
// RegionId in the body, ProtectSwitchList[0] read, BlackWhiteListEnable
// compared with bw_list_enable as a number.
func tfSwitches(t testing.TB, conn *rpc.Client, domain string) {
	t.Helper()
	res, err := tfRPCPost(conn, "DescribeDomainCcProtectSwitch", map[string]any{}, map[string]any{"Domains.1": domain, "RegionId": "cn-hangzhou"}, true)
	if err != nil {
		t.Fatalf("DescribeDomainCcProtectSwitch %s: %v", domain, err)
	}
	list := tfJSONList(t, "DescribeDomainCcProtectSwitch "+domain, res, "ProtectSwitchList")
	if len(list) != 1 {
		t.Fatalf("DescribeDomainCcProtectSwitch %s: %d entries, want 1", domain, len(list))
	}
	sw := tfObject(t, "ProtectSwitchList[0]", list[0])
	if fmt.Sprint(sw["Domain"]) != domain || tfNumber(t, "BlackWhiteListEnable", sw["BlackWhiteListEnable"]) != 0 || tfNumber(t, "CcEnable", sw["CcEnable"]) != 1 {
		t.Fatalf("DescribeDomainCcProtectSwitch %s: ProtectSwitchList[0] = %v", domain, sw)
	}
}

func tfStrings(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// tfSortedStrings renders a JSON list as sorted strings (the provider
// keeps these attributes in sets).
func tfSortedStrings(t testing.TB, what string, v any) []string {
	t.Helper()
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a JSON list", what, v, v)
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	slices.Sort(out)
	return out
}

func tfRequestID(t testing.TB, what string, res map[string]any) string {
	t.Helper()
	id := fmt.Sprint(res["RequestId"])
	wantRequestID(t, what, id)
	return id
}

// tfWantEvent checks that the instance has an event of type typ recorded
// with the request's RequestId.
func tfWantEvent(t testing.TB, s *Server, instanceID, typ, requestID string) {
	t.Helper()
	evs := eventsOfType(t, s, instanceID, typ)
	for _, e := range evs {
		if e.RequestId == requestID {
			return
		}
	}
	t.Fatalf("%s events of %s = %+v, want one with RequestId %s", typ, instanceID, evs, requestID)
}

// ---- alicloud_ddoscoo_port ----

// tfPortConfig is an alicloud_ddoscoo_port block. Persistence is
// config.0.persistence_timeout, nil when the config block is absent.
type tfPortConfig struct {
	InstanceID   string
	FrontendPort string
	Protocol     string
	BackendPort  string
	RealServers  []string
	Persistence  *int
}

func (c tfPortConfig) id() string { return c.InstanceID + ":" + c.FrontendPort + ":" + c.Protocol }

// tfPortState is what the provider's Read takes from NetworkRules[0] and
// NetworkRuleAttributes[0].
type tfPortState struct {
	Rule   map[string]any // DescribePort NetworkRules[0]
	Attr   map[string]any // DescribeNetworkRuleAttributes NetworkRuleAttributes[0]
	Config map[string]any // Attr["Config"], nil when absent
}

// tfPortCreate is resourceAliCloudDdosCooPortCreate: CreatePort with the ID
// parts in the query and BackendPort and RealServers.N in the body, then
// the update pass of a new resource (ModifyPort skipped;
// ModifyNetworkRuleAttribute only when a config block is set), then Read.
// It returns the CreatePort answer's RequestId.
func tfPortCreate(t testing.TB, conn *rpc.Client, c tfPortConfig) (string, tfPortState) {
	t.Helper()
	res, err := tfPortCreateCall(conn, c)
	if err != nil {
		t.Fatalf("CreatePort %s: %v", c.id(), err)
	}
	reqID := tfRequestID(t, "CreatePort", res)
	if c.Persistence != nil {
		tfPortModifyConfig(t, conn, c)
	}
	st, gone := tfPortRead(t, conn, c.id(), true)
	if gone {
		t.Fatalf("read after create of %s found nothing", c.id())
	}
	return reqID, st
}

func tfPortCreateCall(conn *rpc.Client, c tfPortConfig) (map[string]any, error) {
	query := map[string]any{"InstanceId": c.InstanceID, "FrontendPort": c.FrontendPort, "FrontendProtocol": c.Protocol}
	body := map[string]any{}
	if c.BackendPort != "" {
		body["BackendPort"] = c.BackendPort
	}
	if len(c.RealServers) > 0 {
		body["RealServers"] = tfStrings(c.RealServers)
	}
	return tfRPCPost(conn, "CreatePort", query, body, false)
}

// tfPortModifyConfig is the ModifyNetworkRuleAttribute step of the update:
// ForwardProtocol and FrontendPort (a string) from the ID in the query,
// and a Config JSON string that carries only PersistenceTimeout.
func tfPortModifyConfig(t testing.TB, conn *rpc.Client, c tfPortConfig) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"PersistenceTimeout": *c.Persistence})
	query := map[string]any{"InstanceId": c.InstanceID, "ForwardProtocol": c.Protocol, "FrontendPort": c.FrontendPort}
	res, err := tfRPCPost(conn, "ModifyNetworkRuleAttribute", query, map[string]any{"Config": string(cfg)}, false)
	if err != nil {
		t.Fatalf("ModifyNetworkRuleAttribute %s Config %s: %v", c.id(), cfg, err)
	}
	tfRequestID(t, "ModifyNetworkRuleAttribute", res)
}

// tfPortUpdate is resourceAliCloudDdosCooPortUpdate for a change from old
// to c: ModifyPort (ID parts in the query, RealServers.N and BackendPort in
// the body) when real_servers changed, ModifyNetworkRuleAttribute when the
// config changed, then Read. It returns ModifyPort's RequestId ("" when
// not called).
func tfPortUpdate(t testing.TB, conn *rpc.Client, old, c tfPortConfig) (string, tfPortState) {
	t.Helper()
	var reqID string
	if !slices.Equal(old.RealServers, c.RealServers) {
		query := map[string]any{"FrontendPort": c.FrontendPort, "InstanceId": c.InstanceID, "FrontendProtocol": c.Protocol}
		body := map[string]any{"RealServers": tfStrings(c.RealServers), "BackendPort": c.BackendPort}
		res, err := tfRPCPost(conn, "ModifyPort", query, body, false)
		if err != nil {
			t.Fatalf("ModifyPort %s: %v", c.id(), err)
		}
		reqID = tfRequestID(t, "ModifyPort", res)
	}
	if c.Persistence != nil && (old.Persistence == nil || *old.Persistence != *c.Persistence) {
		tfPortModifyConfig(t, conn, c)
	}
	st, gone := tfPortRead(t, conn, c.id(), false)
	if gone {
		t.Fatalf("read after update of %s found nothing", c.id())
	}
	return reqID, st
}

// tfPortRead is resourceAliCloudDdosCooPortRead: DescribePort with the ID
// parts as query strings (no paging) read as NetworkRules[0], then
// DescribeNetworkRuleAttributes with NetworkRules =
// [{"FrontendPort":N,"InstanceId":…,"Protocol":…}] in the body read as
// NetworkRuleAttributes[0]. gone is the provider dropping the resource from
// state: an empty NetworkRules, or a NotFoundError, on a resource that is
// not new (a new one fails the apply instead).
func tfPortRead(t testing.TB, conn *rpc.Client, id string, isNew bool) (st tfPortState, gone bool) {
	t.Helper()
	parts := strings.Split(id, ":")
	if len(parts) != 3 {
		t.Fatalf("port ID %q", id)
	}
	res, err := tfRPCPost(conn, "DescribePort", map[string]any{"FrontendPort": parts[1], "FrontendProtocol": parts[2], "InstanceId": parts[0]}, map[string]any{}, true)
	if err != nil {
		if tfExpected(err, "anycast_controller3006") {
			t.Fatalf("DescribePort %s: %v, which the provider retries for a minute and then fails on", id, err)
		}
		if !isNew && tfNotFound(err) {
			return st, true
		}
		t.Fatalf("DescribePort %s: %v", id, err)
	}
	rules := tfJSONList(t, "DescribePort "+id, res, "NetworkRules")
	if len(rules) == 0 {
		if isNew {
			t.Fatalf("DescribePort %s right after create: no NetworkRules", id)
		}
		return st, true
	}
	st.Rule = tfObject(t, "DescribePort NetworkRules[0]", rules[0])
	if v := st.Rule["RealServers"]; v != nil {
		if _, ok := v.([]any); !ok {
			t.Fatalf("DescribePort NetworkRules[0].RealServers = %#v (%T), want a JSON list (the provider type-asserts it)", v, v)
		}
	}

	port, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("port ID %q: %v", id, err)
	}
	key, _ := json.Marshal([]any{map[string]any{"FrontendPort": port, "Protocol": parts[2], "InstanceId": parts[0]}})
	res, err = tfRPCPost(conn, "DescribeNetworkRuleAttributes", map[string]any{}, map[string]any{"NetworkRules": string(key)}, true)
	if err != nil {
		t.Fatalf("DescribeNetworkRuleAttributes %s: %v (the provider fails the read)", key, err)
	}
	attrs := tfJSONList(t, "DescribeNetworkRuleAttributes "+id, res, "NetworkRuleAttributes")
	if len(attrs) == 0 {
		t.Fatalf("DescribeNetworkRuleAttributes %s: no NetworkRuleAttributes (the provider fails the read)", key)
	}
	st.Attr = tfObject(t, "NetworkRuleAttributes[0]", attrs[0])
	if v := st.Attr["Config"]; v != nil {
		st.Config = tfObject(t, "NetworkRuleAttributes[0].Config", v)
	}
	return st, false
}

// tfPortDelete is resourceAliCloudDdosCooPortDelete: DeletePort with the ID
// parts in the query and RealServers.N and BackendPort in the body.
func tfPortDelete(conn *rpc.Client, c tfPortConfig) (map[string]any, error) {
	query := map[string]any{"FrontendPort": c.FrontendPort, "InstanceId": c.InstanceID, "FrontendProtocol": c.Protocol}
	body := map[string]any{"RealServers": tfStrings(c.RealServers)}
	if c.BackendPort != "" {
		body["BackendPort"] = c.BackendPort
	}
	return tfRPCPost(conn, "DeletePort", query, body, false)
}

// tfWantPort checks what the provider sets from a read: backend_port,
// frontend_port, frontend_protocol, instance_id and real_servers from
// NetworkRules[0]; frontend_port, frontend_protocol and instance_id again
// from NetworkRuleAttributes[0]; config.0.persistence_timeout from its
// Config.
func tfWantPort(t testing.TB, label string, st tfPortState, c tfPortConfig) {
	t.Helper()
	r := st.Rule
	if fmt.Sprint(r["InstanceId"]) != c.InstanceID || fmt.Sprint(r["FrontendProtocol"]) != c.Protocol ||
		tfNumber(t, "NetworkRules[0].FrontendPort", r["FrontendPort"]) != int64(mustInt(t, c.FrontendPort)) ||
		tfNumber(t, "NetworkRules[0].BackendPort", r["BackendPort"]) != int64(mustInt(t, c.BackendPort)) {
		t.Fatalf("%s: NetworkRules[0] = %v, want InstanceId %s, FrontendProtocol %s, FrontendPort %s, BackendPort %s", label, r, c.InstanceID, c.Protocol, c.FrontendPort, c.BackendPort)
	}
	if got, want := tfSortedStrings(t, "RealServers", r["RealServers"]), slices.Sorted(slices.Values(c.RealServers)); !slices.Equal(got, want) {
		t.Fatalf("%s: RealServers = %v, want %v", label, got, want)
	}
	a := st.Attr
	if fmt.Sprint(a["InstanceId"]) != c.InstanceID || fmt.Sprint(a["Protocol"]) != c.Protocol ||
		tfNumber(t, "NetworkRuleAttributes[0].FrontendPort", a["FrontendPort"]) != int64(mustInt(t, c.FrontendPort)) {
		t.Fatalf("%s: NetworkRuleAttributes[0] = %v, want InstanceId %s, Protocol %s, FrontendPort %s", label, a, c.InstanceID, c.Protocol, c.FrontendPort)
	}
	if st.Config == nil {
		t.Fatalf("%s: NetworkRuleAttributes[0] has no Config: %v", label, a)
	}
	pt := tfNumber(t, "Config.PersistenceTimeout", st.Config["PersistenceTimeout"])
	if c.Persistence != nil && pt != int64(*c.Persistence) {
		t.Fatalf("%s: Config.PersistenceTimeout = %d, want %d (Config %v)", label, pt, *c.Persistence, st.Config)
	}
}

func mustInt(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTerraformPortFlow replays alicloud_ddoscoo_port through its life on
// one instance: create of tcp/7001 with a config block and of udp/7001
// without (same port, other protocol, so DescribePort must filter by
// FrontendProtocol, since the provider takes NetworkRules[0] unchecked);
// each read gives NetworkRules[0] and NetworkRuleAttributes[0] with
// Config as an object; a second resource on tcp/7001 fails with
// NetworkRuleExist and an origin that is not IPv4 with InvalidIp; an
// update of real_servers (ModifyPort) and of persistence_timeout
// (ModifyNetworkRuleAttribute with a Config of that one key, which leaves
// the other settings as they were); import reads the same state; delete,
// after which the read finds an empty NetworkRules and drops the resource;
// the rule events carry the calls' RequestIds; the udp rule outlives the
// instance's expiry and is gone from reads once the instance is released.
func TestTerraformPortFlow(t *testing.T) {
	s := StartServer(t)
	inst := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	conn := TeaRPC(t, s, testKeyID, testKeySecret)

	pt := 100
	tcp := tfPortConfig{InstanceID: inst.InstanceId, FrontendPort: "7001", Protocol: "tcp", BackendPort: "7002", RealServers: []string{"1.1.1.1", "2.2.2.2"}, Persistence: &pt}
	udp := tfPortConfig{InstanceID: inst.InstanceId, FrontendPort: "7001", Protocol: "udp", BackendPort: "53", RealServers: []string{"3.3.3.3"}}

	createID, st := tfPortCreate(t, conn, tcp)
	tfWantPort(t, "tcp after create", st, tcp)
	tfWantEvent(t, s, inst.InstanceId, "rule_created", createID)
	_, st = tfPortCreate(t, conn, udp)
	tfWantPort(t, "udp after create", st, udp)
	if st, _ := tfPortRead(t, conn, tcp.id(), false); fmt.Sprint(st.Rule["FrontendProtocol"]) != "tcp" {
		t.Fatalf("read of %s after the udp rule: NetworkRules[0] = %v", tcp.id(), st.Rule)
	}

	dup := tcp
	dup.RealServers = []string{"9.9.9.9"}
	_, err := tfPortCreateCall(conn, dup)
	teaError(t, err, 400, "NetworkRuleExist")
	if tfNeedRetry(err) {
		t.Fatalf("NetworkRuleExist is retried by the provider: %v", err)
	}
	bad := tfPortConfig{InstanceID: inst.InstanceId, FrontendPort: "7003", Protocol: "tcp", BackendPort: "7003", RealServers: []string{"1.1.1.300"}}
	_, err = tfPortCreateCall(conn, bad)
	teaError(t, err, 400, "InvalidIp")
	if st, gone := tfPortRead(t, conn, bad.id(), false); !gone {
		t.Fatalf("a refused CreatePort left a rule: %v", st.Rule)
	}

	st, _ = tfPortRead(t, conn, tcp.id(), false)
	otherSettings := func(cfg map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range cfg {
			if k != "PersistenceTimeout" {
				out[k] = v
			}
		}
		return out
	}
	settings := otherSettings(st.Config)

	moved := tcp
	moved.RealServers = []string{"4.4.4.4", "5.5.5.5", "6.6.6.6"}
	modifyID, st := tfPortUpdate(t, conn, tcp, moved)
	tfWantPort(t, "tcp after a real_servers update", st, moved)
	tfWantEvent(t, s, inst.InstanceId, "rule_modified", modifyID)

	pt2 := 200
	longer := moved
	longer.Persistence = &pt2
	_, st = tfPortUpdate(t, conn, moved, longer)
	tfWantPort(t, "tcp after a persistence_timeout update", st, longer)
	if got := otherSettings(st.Config); !reflect.DeepEqual(got, settings) {
		t.Fatalf("a Config of PersistenceTimeout alone changed the other settings: %v, were %v", got, settings)
	}

	imported, gone := tfPortRead(t, conn, longer.id(), false)
	if gone {
		t.Fatalf("import of %s found nothing", longer.id())
	}
	tfWantPort(t, "import", imported, longer)
	if !reflect.DeepEqual(imported, st) {
		t.Fatalf("import read %+v, the last read was %+v", imported, st)
	}

	res, err := tfPortDelete(conn, longer)
	if err != nil {
		t.Fatalf("DeletePort %s: %v", longer.id(), err)
	}
	deleteID := tfRequestID(t, "DeletePort", res)
	tfWantEvent(t, s, inst.InstanceId, "rule_deleted", deleteID)
	if st, gone := tfPortRead(t, conn, longer.id(), false); !gone {
		t.Fatalf("read after delete: %v, want an empty NetworkRules", st.Rule)
	}
	if st, gone := tfPortRead(t, conn, udp.id(), false); gone || fmt.Sprint(st.Rule["FrontendProtocol"]) != "udp" {
		t.Fatalf("deleting tcp/7001 touched udp/7001: gone %v, %v", gone, st.Rule)
	}

	s.Advance(t, "800h") // past the term: expired, rules kept
	if st, gone := tfPortRead(t, conn, udp.id(), false); gone {
		t.Fatalf("udp rule gone after expiry")
	} else {
		tfWantPort(t, "udp after expiry", st, udp)
	}
	if _, err := tfCall(conn, "ReleaseInstance", map[string]any{"RegionId": "cn-hangzhou", "InstanceId": inst.InstanceId}); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	if st, gone := tfPortRead(t, conn, udp.id(), false); !gone {
		t.Fatalf("read of %s after release: %v, want the resource dropped", udp.id(), st.Rule)
	}
}

// ---- alicloud_ddoscoo_domain_resource ----

// tfProxy is one proxy_types block.
type tfProxy struct {
	Type  string
	Ports []int
}

// tfWebConfig is an alicloud_ddoscoo_domain_resource block (the arguments
// this flow sets).
type tfWebConfig struct {
	Domain      string
	InstanceIDs []string
	ProxyTypes  []tfProxy
	RsType      int
	RealServers []string
	HttpsExt    string
	Cert, Key   string
	CertName    string
}

// tfWebState is what the provider's Read takes: WebRules[0] of
// DescribeDomainResource and of DescribeWebRules (nil when that call found
// none, which the provider tolerates).
type tfWebState struct {
	Rule    map[string]any
	WebRule map[string]any
}

func tfProxyTypes(ps []tfProxy) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		ports := make([]any, len(p.Ports))
		for i, n := range p.Ports {
			ports[i] = n
		}
		out = append(out, map[string]any{"ProxyPorts": ports, "ProxyType": p.Type})
	}
	return out
}

func tfWebCreateCall(conn *rpc.Client, c tfWebConfig) (map[string]any, error) {
	body := map[string]any{
		"Domain":      c.Domain,
		"InstanceIds": tfStrings(c.InstanceIDs),
		"ProxyTypes":  tfProxyTypes(c.ProxyTypes),
		"RsType":      c.RsType,
		"RealServers": tfStrings(c.RealServers),
	}
	if c.HttpsExt != "" {
		body["HttpsExt"] = c.HttpsExt
	}
	return tfRPCPost(conn, "CreateDomainResource", map[string]any{}, body, true)
}

// tfWebCreate is resourceAliCloudDdosCooDomainResourceCreate:
// CreateDomainResource with every argument in the body (InstanceIds.N,
// ProxyTypes.N.ProxyPorts.M, ProxyTypes.N.ProxyType, RsType,
// RealServers.N, HttpsExt), then the update pass of a new resource, then
// Read. It returns CreateDomainResource's RequestId.
func tfWebCreate(t testing.TB, conn *rpc.Client, c tfWebConfig) (string, tfWebState) {
	t.Helper()
	res, err := tfWebCreateCall(conn, c)
	if err != nil {
		t.Fatalf("CreateDomainResource %s: %v", c.Domain, err)
	}
	reqID := tfRequestID(t, "CreateDomainResource", res)
	tfWebUpdateCalls(t, conn, tfWebConfig{Domain: c.Domain}, c, true)
	st, gone := tfWebRead(t, conn, c.Domain, true)
	if gone {
		t.Fatalf("read after create of %s found nothing", c.Domain)
	}
	return reqID, st
}

// tfWebUpdateCalls is the body of resourceAliCloudDdosCooDomainResourceUpdate
// for the arguments this flow uses: ModifyDomainResource when instance_ids,
// proxy_types, real_servers, rs_type or https_ext changed (never for a new
// resource; HttpsExt only when it changed), AssociateWebCert with the
// changed ones of Key, Cert and CertName, and the call it always makes,
// DescribeDomainCcProtectSwitch. It returns ModifyDomainResource's
// RequestId ("" when not called).
func tfWebUpdateCalls(t testing.TB, conn *rpc.Client, old, c tfWebConfig, isNew bool) string {
	t.Helper()
	var reqID string
	changed := !slices.Equal(old.InstanceIDs, c.InstanceIDs) || !reflect.DeepEqual(old.ProxyTypes, c.ProxyTypes) ||
		!slices.Equal(old.RealServers, c.RealServers) || old.RsType != c.RsType || old.HttpsExt != c.HttpsExt
	if !isNew && changed {
		body := map[string]any{
			"Domain":      c.Domain,
			"InstanceIds": tfStrings(c.InstanceIDs),
			"ProxyTypes":  tfProxyTypes(c.ProxyTypes),
			"RealServers": tfStrings(c.RealServers),
			"RsType":      c.RsType,
		}
		if old.HttpsExt != c.HttpsExt {
			body["HttpsExt"] = c.HttpsExt
		}
		res, err := tfRPCPost(conn, "ModifyDomainResource", map[string]any{}, body, true)
		if err != nil {
			t.Fatalf("ModifyDomainResource %s: %v", c.Domain, err)
		}
		reqID = tfRequestID(t, "ModifyDomainResource", res)
	}
	cert := map[string]any{"Domain": c.Domain}
	if old.Key != c.Key {
		cert["Key"] = c.Key
	}
	if old.Cert != c.Cert {
		cert["Cert"] = c.Cert
	}
	if old.CertName != c.CertName {
		cert["CertName"] = c.CertName
	}
	if len(cert) > 1 {
		res, err := tfRPCPost(conn, "AssociateWebCert", map[string]any{}, cert, true)
		if err != nil {
			t.Fatalf("AssociateWebCert %s: %v", c.Domain, err)
		}
		tfRequestID(t, "AssociateWebCert", res)
	}
	// ConfigDomainSecurityProfile's step reads DescribeDomainCcProtectSwitch
	// first and returns any error it gets, not-found included: the
	// provider's create and update need it served.
	tfSwitches(t, conn, c.Domain)
	return reqID
}

// tfWebRead is resourceAliCloudDdosCooDomainResourceRead:
// DescribeDomainResource with Domain alone (fuzzy match, no paging) read as
// WebRules[0]; DescribeWebRules with Domain alone, WebRules[0];
// DescribeDomainCcProtectSwitch and DescribeHeaders, unserved, whose
// not-found the read tolerates. gone is the provider dropping the resource.
func tfWebRead(t testing.TB, conn *rpc.Client, domain string, isNew bool) (st tfWebState, gone bool) {
	t.Helper()
	res, err := tfRPCPost(conn, "DescribeDomainResource", map[string]any{}, map[string]any{"Domain": domain}, true)
	if err != nil {
		if !isNew && tfNotFound(err) {
			return st, true
		}
		t.Fatalf("DescribeDomainResource %s: %v", domain, err)
	}
	rules := tfJSONList(t, "DescribeDomainResource "+domain, res, "WebRules")
	if len(rules) == 0 {
		if isNew {
			t.Fatalf("DescribeDomainResource %s right after create: no WebRules", domain)
		}
		return st, true
	}
	st.Rule = tfObject(t, "DescribeDomainResource WebRules[0]", rules[0])
	if v := st.Rule["ProxyTypes"]; v != nil {
		list, ok := v.([]any)
		if !ok {
			t.Fatalf("WebRules[0].ProxyTypes = %#v (%T), want a JSON list", v, v)
		}
		for i, p := range list {
			tfObject(t, fmt.Sprintf("WebRules[0].ProxyTypes[%d]", i), p)
		}
	}

	res, err = tfRPCPost(conn, "DescribeWebRules", map[string]any{}, map[string]any{"Domain": domain}, true)
	if err != nil && !tfNotFound(err) {
		t.Fatalf("DescribeWebRules %s: %v (the provider fails the read)", domain, err)
	}
	if err == nil {
		if web := tfJSONList(t, "DescribeWebRules "+domain, res, "WebRules"); len(web) > 0 {
			st.WebRule = tfObject(t, "DescribeWebRules WebRules[0]", web[0])
		}
	}
	tfSwitches(t, conn, domain)
	tfUnserved(t, conn, "DescribeHeaders", map[string]any{"Domain": domain, "RegionId": "cn-hangzhou"})
	return st, false
}

// tfWantWeb checks what the provider sets from a read: domain (from both
// calls: it is ForceNew, so another domain here would replace the
// resource), instance_ids, real_servers, rs_type, proxy_types, https_ext
// (compared as JSON) and cname, which must be a non-empty string.
func tfWantWeb(t testing.TB, label string, st tfWebState, c tfWebConfig) {
	t.Helper()
	r := st.Rule
	if fmt.Sprint(r["Domain"]) != c.Domain {
		t.Fatalf("%s: DescribeDomainResource WebRules[0].Domain = %v, want %s", label, r["Domain"], c.Domain)
	}
	if st.WebRule == nil || fmt.Sprint(st.WebRule["Domain"]) != c.Domain {
		t.Fatalf("%s: DescribeWebRules WebRules[0] = %v, want Domain %s", label, st.WebRule, c.Domain)
	}
	if got, want := tfSortedStrings(t, "InstanceIds", r["InstanceIds"]), slices.Sorted(slices.Values(c.InstanceIDs)); !slices.Equal(got, want) {
		t.Fatalf("%s: InstanceIds = %v, want %v", label, got, want)
	}
	if got, want := tfSortedStrings(t, "RealServers", r["RealServers"]), slices.Sorted(slices.Values(c.RealServers)); !slices.Equal(got, want) {
		t.Fatalf("%s: RealServers = %v, want %v", label, got, want)
	}
	if tfNumber(t, "RsType", r["RsType"]) != int64(c.RsType) {
		t.Fatalf("%s: RsType = %v, want %d", label, r["RsType"], c.RsType)
	}
	got := map[string][]string{}
	for _, p := range r["ProxyTypes"].([]any) {
		m := p.(map[string]any)
		got[fmt.Sprint(m["ProxyType"])] = tfSortedStrings(t, "ProxyPorts", m["ProxyPorts"])
	}
	want := map[string][]string{}
	for _, p := range c.ProxyTypes {
		var ports []string
		for _, n := range p.Ports {
			ports = append(ports, fmt.Sprint(n))
		}
		slices.Sort(ports)
		want[p.Type] = ports
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: ProxyTypes = %v, want %v", label, got, want)
	}
	if c.HttpsExt != "" {
		s, ok := r["HttpsExt"].(string)
		var gotExt, wantExt map[string]any
		if !ok || json.Unmarshal([]byte(s), &gotExt) != nil || json.Unmarshal([]byte(c.HttpsExt), &wantExt) != nil || !reflect.DeepEqual(gotExt, wantExt) {
			t.Fatalf("%s: HttpsExt = %#v, want a JSON string equivalent to %s", label, r["HttpsExt"], c.HttpsExt)
		}
	}
	if cname, ok := r["Cname"].(string); !ok || cname == "" {
		t.Fatalf("%s: Cname = %#v, want a name", label, r["Cname"])
	}
}

// tfWebDelete is resourceAliCloudDdosCooDomainResourceDelete:
// DeleteDomainResource with Domain in the body.
func tfWebDelete(conn *rpc.Client, domain string) (map[string]any, error) {
	return tfRPCPost(conn, "DeleteDomainResource", map[string]any{}, map[string]any{"Domain": domain}, true)
}

// tfTestCert makes a self-signed RSA certificate for domain and its
// PKCS #1 key, as PEM.
func tfTestCert(t testing.TB, domain string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7001),
		Subject:      pkix.Name{CommonName: domain},
		DNSNames:     []string{domain},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// TestTerraformDomainResourceFlow replays alicloud_ddoscoo_domain_resource
// through its life: create on one instance with http and https proxy
// types, HttpsExt and a certificate (AssociateWebCert with Domain, Key,
// Cert and CertName, as the update pass of a new resource sends them);
// the read gives WebRules[0] of DescribeDomainResource and of
// DescribeWebRules with the domain, instances, origins, proxy types and a
// Cname, and the certificate's name; a second resource for the same domain
// fails with DomainExist; an update binding a second instance with other
// origins and ports (ModifyDomainResource without HttpsExt, which keeps
// it), then one of https_ext alone; the Cname is the same throughout;
// import reads the same state; delete, after which the read finds an
// empty WebRules and drops the resource, and a second delete is
// DomainNotExist; the rule events carry the calls' RequestIds.
//
// DescribeDomainCcProtectSwitch and DescribeHeaders are outside the
// actions moat serves: the gateway answers 404 InvalidAction.NotFound,
// which the provider's read tolerates (NotFoundError), but its create and
// update return the DescribeDomainCcProtectSwitch error, so a real apply
// stops there; the flow goes on as the provider would if it were served.
func TestTerraformDomainResourceFlow(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	b := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	conn := TeaRPC(t, s, testKeyID, testKeySecret)

	const domain = "www.moat-tf-test.com"
	certPEM, keyPEM := tfTestCert(t, domain)
	c := tfWebConfig{
		Domain:      domain,
		InstanceIDs: []string{a.InstanceId},
		ProxyTypes:  []tfProxy{{Type: "https", Ports: []int{443}}, {Type: "http", Ports: []int{80}}},
		RsType:      0,
		RealServers: []string{"177.167.32.11"},
		HttpsExt:    `{"Http2":1,"Http2https":0,"Https2http":0}`,
		Cert:        certPEM,
		Key:         keyPEM,
		CertName:    "tf-cert",
	}
	createID, st := tfWebCreate(t, conn, c)
	tfWantWeb(t, "after create", st, c)
	tfWantEvent(t, s, a.InstanceId, "rule_created", createID)
	cname := st.Rule["Cname"]
	if fmt.Sprint(st.WebRule["CertName"]) != c.CertName {
		t.Fatalf("after AssociateWebCert: DescribeWebRules WebRules[0].CertName = %v, want %s", st.WebRule["CertName"], c.CertName)
	}

	_, err := tfWebCreateCall(conn, tfWebConfig{Domain: domain, InstanceIDs: []string{b.InstanceId}, ProxyTypes: []tfProxy{{Type: "http", Ports: []int{80}}}, RealServers: []string{"1.2.3.4"}})
	teaError(t, err, 400, "DomainExist")

	wider := c
	wider.InstanceIDs = []string{a.InstanceId, b.InstanceId}
	wider.RealServers = []string{"177.167.32.12", "177.167.32.13"}
	wider.ProxyTypes = []tfProxy{{Type: "https", Ports: []int{443, 8443}}, {Type: "http", Ports: []int{80}}}
	modifyID := tfWebUpdateCalls(t, conn, c, wider, false)
	st, gone := tfWebRead(t, conn, domain, false)
	if gone {
		t.Fatalf("read after update found nothing")
	}
	tfWantWeb(t, "after an update without https_ext", st, wider)
	tfWantEvent(t, s, a.InstanceId, "rule_modified", modifyID)

	ext := wider
	ext.HttpsExt = `{"Http2":0,"Http2https":1,"Https2http":0}`
	tfWebUpdateCalls(t, conn, wider, ext, false)
	st, _ = tfWebRead(t, conn, domain, false)
	tfWantWeb(t, "after an https_ext update", st, ext)
	if st.Rule["Cname"] != cname {
		t.Fatalf("Cname changed from %v to %v", cname, st.Rule["Cname"])
	}

	imported, gone := tfWebRead(t, conn, domain, false)
	if gone {
		t.Fatalf("import of %s found nothing", domain)
	}
	tfWantWeb(t, "import", imported, ext)
	if !reflect.DeepEqual(imported, st) {
		t.Fatalf("import read %+v, the last read was %+v", imported, st)
	}

	res, err := tfWebDelete(conn, domain)
	if err != nil {
		t.Fatalf("DeleteDomainResource: %v", err)
	}
	tfWantEvent(t, s, a.InstanceId, "rule_deleted", tfRequestID(t, "DeleteDomainResource", res))
	if st, gone := tfWebRead(t, conn, domain, false); !gone {
		t.Fatalf("read after delete: %v, want an empty WebRules", st.Rule)
	}
	_, err = tfWebDelete(conn, domain)
	teaError(t, err, 400, "DomainNotExist")
}

// TestTerraformDomainResourceFuzzyRead pins the order of a fuzzy match for
// the provider's read: it sends Domain alone (QueryDomainPattern's default,
// fuzzy) and takes WebRules[0] without checking its Domain, and domain is
// ForceNew. With a.moat-fuzzy.com created first (it also sorts first), the
// read of moat-fuzzy.com must still list moat-fuzzy.com first, in
// DescribeDomainResource and in DescribeWebRules, or Terraform would plan
// to replace it.
func TestTerraformDomainResourceFuzzyRead(t *testing.T) {
	s := StartServer(t)
	inst := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	conn := TeaRPC(t, s, testKeyID, testKeySecret)

	long := tfWebConfig{Domain: "a.moat-fuzzy.com", InstanceIDs: []string{inst.InstanceId}, ProxyTypes: []tfProxy{{Type: "http", Ports: []int{80}}}, RealServers: []string{"1.1.1.1"}}
	short := tfWebConfig{Domain: "moat-fuzzy.com", InstanceIDs: []string{inst.InstanceId}, ProxyTypes: []tfProxy{{Type: "http", Ports: []int{80}}}, RealServers: []string{"2.2.2.2"}}
	_, st := tfWebCreate(t, conn, long)
	tfWantWeb(t, long.Domain, st, long)
	_, st = tfWebCreate(t, conn, short)
	tfWantWeb(t, short.Domain+" right after create", st, short)
	for _, c := range []tfWebConfig{short, long} {
		st, gone := tfWebRead(t, conn, c.Domain, false)
		if gone {
			t.Fatalf("read of %s found nothing", c.Domain)
		}
		tfWantWeb(t, "read of "+c.Domain, st, c)
	}
}
