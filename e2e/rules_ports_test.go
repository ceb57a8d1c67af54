package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// portRule is a port rule as the tests compare them.
type portRule struct {
	InstanceId   string
	Protocol     string
	FrontendPort int
	BackendPort  int
	RealServers  []string
}

// ruleJSON is a NetworkRules JSON array of rules.
func ruleJSON(t testing.TB, rules ...portRule) string {
	t.Helper()
	b, err := json.Marshal(rules)
	if err != nil {
		t.Fatalf("rules JSON: %v", err)
	}
	return string(b)
}

// keyJSON is a NetworkRule(s) JSON array naming one rule.
func keyJSON(id, protocol string, port int) string {
	return fmt.Sprintf(`[{"InstanceId":%q,"Protocol":%q,"FrontendPort":%d}]`, id, protocol, port)
}

// v3Rules lists an instance's rules through DescribeNetworkRules (one
// page of up to 100) and returns them with TotalCount.
func v3Rules(t testing.TB, c *ddoscoov3.Client, id string) ([]portRule, int64) {
	t.Helper()
	resp, err := c.DescribeNetworkRules((&ddoscoov3.DescribeNetworkRulesRequest{}).SetInstanceId(id).SetPageNumber(1).SetPageSize(100))
	if err != nil {
		t.Fatalf("v3 DescribeNetworkRules(%s): %v", id, err)
	}
	wantRequestID(t, "v3 DescribeNetworkRules", tea.StringValue(resp.Body.RequestId))
	out := []portRule{}
	for _, r := range resp.Body.NetworkRules {
		if r.IsAutoCreate == nil || *r.IsAutoCreate {
			t.Errorf("rule %v: IsAutoCreate %v, want false", r, r.IsAutoCreate)
		}
		out = append(out, portRule{InstanceId: tea.StringValue(r.InstanceId), Protocol: tea.StringValue(r.Protocol),
			FrontendPort: int(tea.Int32Value(r.FrontendPort)), BackendPort: int(tea.Int32Value(r.BackendPort)), RealServers: tea.StringSliceValue(r.RealServers)})
	}
	return out, tea.Int64Value(resp.Body.TotalCount)
}

func v3CreatePort(c *ddoscoov3.Client, id, protocol, port, backend string, origins ...string) error {
	req := (&ddoscoov3.CreatePortRequest{}).SetInstanceId(id).SetFrontendProtocol(protocol).SetFrontendPort(port).SetRealServers(tea.StringSlice(origins))
	if backend != "" {
		req.SetBackendPort(backend)
	}
	_, err := c.CreatePort(req)
	return err
}

// defaultRuleConfig is DescribeNetworkRuleAttributes' Config of a new rule.
func defaultRuleConfig() *ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfig {
	return &ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfig{
		PersistenceTimeout: tea.Int32(0), Synproxy: tea.String("off"), NodataConn: tea.String("off"),
		Sla: &ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfigSla{
			Cps: tea.Int32(100000), Maxconn: tea.Int32(1000000), CpsEnable: tea.Int32(0), MaxconnEnable: tea.Int32(0)},
		Slimit: &ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfigSlimit{
			Cps: tea.Int32(0), Maxconn: tea.Int32(0), Bps: tea.Int64(0), Pps: tea.Int64(0), CpsEnable: tea.Int32(0), MaxconnEnable: tea.Int32(0), CpsMode: tea.Int32(1)},
		PayloadLen: &ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfigPayloadLen{Min: tea.Int32(0), Max: tea.Int32(6000)},
		Cc:         &ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfigCc{Sblack: []*ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfigCcSblack{}},
	}
}

func v3RuleConfig(t testing.TB, c *ddoscoov3.Client, id, protocol string, port int) *ddoscoov3.DescribeNetworkRuleAttributesResponseBodyNetworkRuleAttributesConfig {
	t.Helper()
	resp, err := c.DescribeNetworkRuleAttributes((&ddoscoov3.DescribeNetworkRuleAttributesRequest{}).SetNetworkRules(keyJSON(id, protocol, port)))
	if err != nil {
		t.Fatalf("v3 DescribeNetworkRuleAttributes: %v", err)
	}
	attrs := resp.Body.NetworkRuleAttributes
	if len(attrs) != 1 || tea.StringValue(attrs[0].InstanceId) != id || tea.StringValue(attrs[0].Protocol) != protocol || tea.Int32Value(attrs[0].FrontendPort) != int32(port) {
		t.Fatalf("v3 DescribeNetworkRuleAttributes(%s %s %d) = %v", id, protocol, port, attrs)
	}
	return attrs[0].Config
}

// TestPortRulesV3 drives every port rule action through the generated v3
// client: a rule's life (create, read, change origins, protection
// settings merged field by field, health check, delete), its shapes, the
// usage count, the events with their RequestIds, and the errors: bad
// ports, protocols, origins and JSON, a duplicate, a missing rule, and
// another account's instance answered exactly as a missing one.
func TestPortRulesV3(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	const acct, key, secret = "1000000000000111", "LTAIportrulesaccount0111", "port-rules-account-secret-0111"
	s.CreateAccount(t, acct, key, secret)
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	oc := SDKv3(t, s, key, secret)
	id := a.InstanceId

	created, err := c.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(id).SetFrontendProtocol("tcp").SetFrontendPort("80").
		SetBackendPort("8080").SetRealServers(tea.StringSlice([]string{"192.0.2.1", "192.0.2.2"})))
	if err != nil {
		t.Fatalf("v3 CreatePort: %v", err)
	}
	wantRequestID(t, "v3 CreatePort", tea.StringValue(created.Body.RequestId))
	port, err := c.DescribePort((&ddoscoov3.DescribePortRequest{}).SetInstanceId(id).SetFrontendProtocol("tcp").SetFrontendPort(80).SetPageNumber(1).SetPageSize(10))
	if err != nil {
		t.Fatalf("v3 DescribePort: %v", err)
	}
	wantPort := []*ddoscoov3.DescribePortResponseBodyNetworkRules{{
		InstanceId: tea.String(id), FrontendProtocol: tea.String("tcp"), FrontendPort: tea.Int32(80), BackendPort: tea.Int32(8080),
		RealServers: tea.StringSlice([]string{"192.0.2.1", "192.0.2.2"}), IsAutoCreate: tea.Bool(false),
	}}
	if tea.Int64Value(port.Body.TotalCount) != 1 || !reflect.DeepEqual(port.Body.NetworkRules, wantPort) {
		t.Fatalf("v3 DescribePort = %d %v, want 1 %v", tea.Int64Value(port.Body.TotalCount), port.Body.NetworkRules, wantPort)
	}

	// Refusals of CreatePort, none of which creates anything.
	teaError(t, v3CreatePort(c, id, "tcp", "80", "81", "192.0.2.9"), 400, "NetworkRuleExist")
	teaError(t, v3CreatePort(c, id, "TCP", "80", "", "192.0.2.9"), 400, "NetworkRuleExist")
	for _, p := range []string{"0", "65536", "http", "-1"} {
		se := teaError(t, v3CreatePort(c, id, "tcp", p, "", "192.0.2.9"), 400, "InvalidParameter")
		if !strings.Contains(tea.StringValue(se.Message), "FrontendPort") {
			t.Errorf("FrontendPort %q: message %q does not name FrontendPort", p, tea.StringValue(se.Message))
		}
	}
	teaError(t, v3CreatePort(c, id, "tcp", "81", "70000", "192.0.2.9"), 400, "InvalidParameter")
	se := teaError(t, v3CreatePort(c, id, "icmp", "81", "", "192.0.2.9"), 400, "InvalidParameter")
	if !strings.Contains(tea.StringValue(se.Message), "FrontendProtocol") {
		t.Errorf("protocol icmp: message %q does not name FrontendProtocol", tea.StringValue(se.Message))
	}
	teaError(t, v3CreatePort(c, id, "tcp", "81", "", "192.0.2.300"), 400, "InvalidIp")
	teaError(t, v3CreatePort(c, id, "tcp", "81", "", "2001:db8::1"), 400, "InvalidIp")
	teaError(t, v3CreatePort(c, id, "tcp", "81", ""), 400, "MissingRealServers")
	twentyOne := make([]string, 21)
	for i := range twentyOne {
		twentyOne[i] = fmt.Sprintf("192.0.2.%d", i+1)
	}
	teaError(t, v3CreatePort(c, id, "tcp", "81", "", twentyOne...), 400, "InvalidParameter")
	if err := v3CreatePort(c, id, "tcp", "82", "", twentyOne[:20]...); err != nil {
		t.Fatalf("CreatePort with 20 origins: %v", err)
	}

	// Another account's instance is exactly a missing one.
	if err := v3CreatePort(oc, other.InstanceId, "tcp", "80", "", "192.0.2.50"); err != nil {
		t.Fatalf("other account's CreatePort: %v", err)
	}
	const missing = "ddoscoo-cn-neverexisted"
	seOther := teaError(t, v3CreatePort(c, other.InstanceId, "tcp", "81", "", "192.0.2.9"), 404, "InstanceNotFound")
	seMissing := teaError(t, v3CreatePort(c, missing, "tcp", "81", "", "192.0.2.9"), 404, "InstanceNotFound")
	// The v3 SDK appends the request's own ID to the message.
	bare := func(msg, id string) string {
		msg, _, _ = strings.Cut(msg, " request id: ")
		return strings.ReplaceAll(msg, id, "ID")
	}
	if bare(tea.StringValue(seOther.Message), other.InstanceId) != bare(tea.StringValue(seMissing.Message), missing) {
		t.Errorf("another account's instance %q and a missing one %q are told apart", tea.StringValue(seOther.Message), tea.StringValue(seMissing.Message))
	}
	_, err = c.DescribePort((&ddoscoov3.DescribePortRequest{}).SetInstanceId(other.InstanceId))
	teaError(t, err, 404, "InstanceNotFound")
	_, err = c.DescribeNetworkRules((&ddoscoov3.DescribeNetworkRulesRequest{}).SetInstanceId(other.InstanceId).SetPageNumber(1).SetPageSize(10))
	teaError(t, err, 404, "InstanceNotFound")
	_, err = c.DeleteNetworkRule((&ddoscoov3.DeleteNetworkRuleRequest{}).SetNetworkRule(keyJSON(other.InstanceId, "tcp", 80)))
	teaError(t, err, 404, "InstanceNotFound")
	_, err = c.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(other.InstanceId).SetForwardProtocol("tcp").SetFrontendPort(80).SetConfig(`{"Synproxy":"on"}`))
	teaError(t, err, 404, "InstanceNotFound")
	attrs, err := c.DescribeNetworkRuleAttributes((&ddoscoov3.DescribeNetworkRuleAttributesRequest{}).SetNetworkRules(keyJSON(other.InstanceId, "tcp", 80)))
	if err != nil || len(attrs.Body.NetworkRuleAttributes) != 0 {
		t.Errorf("another account's rule attributes: %v, %v; want none", attrs, err)
	}

	// ModifyPort changes origins and the backend port.
	if _, err := c.ModifyPort((&ddoscoov3.ModifyPortRequest{}).SetInstanceId(id).SetFrontendProtocol("tcp").SetFrontendPort("80").
		SetBackendPort("9090").SetRealServers(tea.StringSlice([]string{"192.0.2.3"}))); err != nil {
		t.Fatalf("v3 ModifyPort: %v", err)
	}
	_, err = c.ModifyPort((&ddoscoov3.ModifyPortRequest{}).SetInstanceId(id).SetFrontendProtocol("udp").SetFrontendPort("80").SetRealServers(tea.StringSlice([]string{"192.0.2.3"})))
	teaError(t, err, 400, "NetworkRuleNotExist")

	// The JSON calls.
	if _, err := c.CreateNetworkRules((&ddoscoov3.CreateNetworkRulesRequest{}).SetNetworkRules(ruleJSON(t,
		portRule{id, "udp", 53, 5353, []string{"192.0.2.4"}}, portRule{id, "tcp", 443, 443, []string{"192.0.2.5", "192.0.2.6"}}))); err != nil {
		t.Fatalf("v3 CreateNetworkRules: %v", err)
	}
	if _, err := c.ConfigNetworkRules((&ddoscoov3.ConfigNetworkRulesRequest{}).SetNetworkRules(ruleJSON(t, portRule{id, "udp", 53, 53, []string{"192.0.2.7"}}))); err != nil {
		t.Fatalf("v3 ConfigNetworkRules: %v", err)
	}
	rules, total := v3Rules(t, c, id)
	want := []portRule{
		{id, "tcp", 80, 9090, []string{"192.0.2.3"}},
		{id, "tcp", 82, 82, twentyOne[:20]},
		{id, "tcp", 443, 443, []string{"192.0.2.5", "192.0.2.6"}},
		{id, "udp", 53, 53, []string{"192.0.2.7"}},
	}
	if total != 4 || !reflect.DeepEqual(rules, want) {
		t.Fatalf("DescribeNetworkRules = %d %+v, want 4 %+v", total, rules, want)
	}
	page, err := c.DescribeNetworkRules((&ddoscoov3.DescribeNetworkRulesRequest{}).SetInstanceId(id).SetForwardProtocol("tcp").SetPageNumber(2).SetPageSize(2))
	if err != nil || tea.Int64Value(page.Body.TotalCount) != 3 || len(page.Body.NetworkRules) != 1 || tea.Int32Value(page.Body.NetworkRules[0].FrontendPort) != 443 {
		t.Errorf("tcp page 2 of 2: %v, %v; want TotalCount 3 and port 443", page, err)
	}
	for _, bad := range []struct{ value, code string }{
		{`not json`, "InvalidParameter.JSONError"},
		{`{"InstanceId":"` + id + `"}`, "InvalidParameter.JSONError"},
		{`[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":"90","BackendPort":90,"RealServers":["192.0.2.1"]}]`, "InvalidParameter.JSONError"},
		{`[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":90,"BackendPort":90,"RealServers":"192.0.2.1"}]`, "InvalidParameter.JSONError"},
		{`[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":0,"BackendPort":90,"RealServers":["192.0.2.1"]}]`, "InvalidParameter"},
		{`[]`, "MissingNetworkRules"},
	} {
		_, err := c.CreateNetworkRules((&ddoscoov3.CreateNetworkRulesRequest{}).SetNetworkRules(bad.value))
		se := teaError(t, err, 400, bad.code)
		if bad.code == "InvalidParameter.JSONError" && !strings.Contains(tea.StringValue(se.Message), "NetworkRules must be a JSON array") {
			t.Errorf("NetworkRules %s: message %q", bad.value, tea.StringValue(se.Message))
		}
	}

	// Protection settings: defaults, then partial changes that merge.
	if got := v3RuleConfig(t, c, id, "tcp", 80); !reflect.DeepEqual(got, defaultRuleConfig()) {
		t.Fatalf("new rule's Config = %v, want %v", got, defaultRuleConfig())
	}
	modify := func(config string) error {
		_, err := c.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(id).SetForwardProtocol("tcp").SetFrontendPort(80).SetConfig(config))
		return err
	}
	if err := modify(`{"PersistenceTimeout":120,"Sla":{"CpsEnable":1,"Cps":500},"PayloadLen":{"Max":1500}}`); err != nil {
		t.Fatalf("v3 ModifyNetworkRuleAttribute: %v", err)
	}
	if err := modify(`{"Synproxy":"on","Slimit":{"Bps":2048,"CpsMode":2}}`); err != nil {
		t.Fatalf("v3 ModifyNetworkRuleAttribute (second): %v", err)
	}
	wantCfg := defaultRuleConfig()
	wantCfg.PersistenceTimeout, wantCfg.Synproxy = tea.Int32(120), tea.String("on")
	wantCfg.Sla.CpsEnable, wantCfg.Sla.Cps = tea.Int32(1), tea.Int32(500)
	wantCfg.PayloadLen.Max = tea.Int32(1500)
	wantCfg.Slimit.Bps, wantCfg.Slimit.CpsMode = tea.Int64(2048), tea.Int32(2)
	if got := v3RuleConfig(t, c, id, "tcp", 80); !reflect.DeepEqual(got, wantCfg) {
		t.Fatalf("merged Config = %v, want %v", got, wantCfg)
	}
	teaError(t, modify(`{"Sla":{"Cps":5}}`), 400, "InvalidParameter")
	teaError(t, modify(`{"PersistenceTimeout":10}`), 400, "InvalidParameter")
	teaError(t, modify(`{"PayloadLen":{"Min":2000}}`), 400, "InvalidParameter")
	teaError(t, modify(`{"Synproxy":"maybe"}`), 400, "InvalidParameter")
	teaError(t, modify(`{"Sla":{"Cps":"500"}}`), 400, "InvalidParameter.JSONError")
	teaError(t, modify(`[1]`), 400, "InvalidParameter.JSONError")
	if got := v3RuleConfig(t, c, id, "tcp", 80); !reflect.DeepEqual(got, wantCfg) {
		t.Fatalf("refused changes altered Config to %v", got)
	}
	_, err = c.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(id).SetForwardProtocol("tcp").SetFrontendPort(81).SetConfig(`{}`))
	teaError(t, err, 400, "NetworkRuleNotExist")

	// Health checks.
	hc := func(protocol string, port int32, check string) error {
		_, err := c.ModifyHealthCheckConfig((&ddoscoov3.ModifyHealthCheckConfigRequest{}).SetInstanceId(id).SetForwardProtocol(protocol).SetFrontendPort(port).SetHealthCheck(check))
		return err
	}
	if err := hc("tcp", 80, `{"Type":"http","Domain":"www.example.com","Uri":"/health","Interval":10,"Timeout":5,"Up":2,"Down":4}`); err != nil {
		t.Fatalf("v3 ModifyHealthCheckConfig: %v", err)
	}
	if err := hc("tcp", 443, `{"Type":"tcp","Port":8443}`); err != nil {
		t.Fatalf("v3 ModifyHealthCheckConfig (tcp): %v", err)
	}
	teaError(t, hc("udp", 53, `{"Type":"tcp"}`), 400, "InvalidParameter")
	teaError(t, hc("tcp", 80, `{"Type":"tcp","Interval":31}`), 400, "InvalidParameter")
	teaError(t, hc("tcp", 80, `{"Type":"tcp","Interval":"5"}`), 400, "InvalidParameter.JSONError")
	keys := `[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":80},{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":443},` +
		`{"InstanceId":"` + id + `","Protocol":"udp","FrontendPort":53},{"InstanceId":"` + id + `","Protocol":"udp","FrontendPort":9}]`
	list, err := c.DescribeHealthCheckList((&ddoscoov3.DescribeHealthCheckListRequest{}).SetNetworkRules(keys))
	if err != nil {
		t.Fatalf("v3 DescribeHealthCheckList: %v", err)
	}
	type hcBody = ddoscoov3.DescribeHealthCheckListResponseBodyHealthCheckListHealthCheck
	wantList := []*ddoscoov3.DescribeHealthCheckListResponseBodyHealthCheckList{
		{InstanceId: tea.String(id), Protocol: tea.String("tcp"), FrontendPort: tea.Int32(80), HealthCheck: &hcBody{
			Type: tea.String("http"), Domain: tea.String("www.example.com"), Uri: tea.String("/health"), Port: tea.Int32(0), Interval: tea.Int32(10), Timeout: tea.Int32(5), Up: tea.Int32(2), Down: tea.Int32(4)}},
		{InstanceId: tea.String(id), Protocol: tea.String("tcp"), FrontendPort: tea.Int32(443), HealthCheck: &hcBody{
			Type: tea.String("tcp"), Domain: tea.String(""), Uri: tea.String(""), Port: tea.Int32(8443), Interval: tea.Int32(5), Timeout: tea.Int32(3), Up: tea.Int32(3), Down: tea.Int32(3)}},
		{InstanceId: tea.String(id), Protocol: tea.String("udp"), FrontendPort: tea.Int32(53), HealthCheck: &hcBody{
			Type: tea.String(""), Domain: tea.String(""), Uri: tea.String(""), Port: tea.Int32(0), Interval: tea.Int32(0), Timeout: tea.Int32(0), Up: tea.Int32(0), Down: tea.Int32(0)}},
	}
	if !reflect.DeepEqual(list.Body.HealthCheckList, wantList) {
		t.Errorf("DescribeHealthCheckList = %v, want %v", list.Body.HealthCheckList, wantList)
	}
	status, err := c.DescribeHealthCheckStatus((&ddoscoov3.DescribeHealthCheckStatusRequest{}).SetNetworkRules(keyJSON(id, "tcp", 443)))
	if err != nil {
		t.Fatalf("v3 DescribeHealthCheckStatus: %v", err)
	}
	type rsStatus = ddoscoov3.DescribeHealthCheckStatusResponseBodyHealthCheckStatusRealServerStatusList
	wantStatus := []*ddoscoov3.DescribeHealthCheckStatusResponseBodyHealthCheckStatus{{
		InstanceId: tea.String(id), Protocol: tea.String("tcp"), FrontendPort: tea.Int32(443), Status: tea.String("normal"),
		RealServerStatusList: []*rsStatus{{Address: tea.String("192.0.2.5"), Status: tea.String("normal")}, {Address: tea.String("192.0.2.6"), Status: tea.String("normal")}},
	}}
	if !reflect.DeepEqual(status.Body.HealthCheckStatus, wantStatus) {
		t.Errorf("DescribeHealthCheckStatus = %v, want %v", status.Body.HealthCheckStatus, wantStatus)
	}
	_, err = c.DescribeHealthCheckStatus((&ddoscoov3.DescribeHealthCheckStatusRequest{}).SetNetworkRules(`{}`))
	teaError(t, err, 400, "InvalidParameter.JSONError")

	// Usage, then deletion.
	stats, err := c.DescribeInstanceStatistics((&ddoscoov3.DescribeInstanceStatisticsRequest{}).SetInstanceIds(tea.StringSlice([]string{id})))
	if err != nil || len(stats.Body.InstanceStatistics) != 1 || tea.Int32Value(stats.Body.InstanceStatistics[0].PortUsage) != 4 ||
		tea.Int32Value(stats.Body.InstanceStatistics[0].DomainUsage) != 0 {
		t.Errorf("DescribeInstanceStatistics = %v, %v; want PortUsage 4, DomainUsage 0", stats, err)
	}
	del, err := c.DeleteNetworkRule((&ddoscoov3.DeleteNetworkRuleRequest{}).SetNetworkRule(keyJSON(id, "udp", 53)))
	if err != nil {
		t.Fatalf("v3 DeleteNetworkRule: %v", err)
	}
	if _, err := c.DeletePort((&ddoscoov3.DeletePortRequest{}).SetInstanceId(id).SetFrontendProtocol("tcp").SetFrontendPort("82")); err != nil {
		t.Fatalf("v3 DeletePort: %v", err)
	}
	_, err = c.DeletePort((&ddoscoov3.DeletePortRequest{}).SetInstanceId(id).SetFrontendProtocol("tcp").SetFrontendPort("82"))
	teaError(t, err, 400, "NetworkRuleNotExist")
	_, err = c.DeleteNetworkRule((&ddoscoov3.DeleteNetworkRuleRequest{}).SetNetworkRule(`[{"InstanceId":"` + id + `","Protocol":"tcp","FrontendPort":"80"}]`))
	teaError(t, err, 400, "InvalidParameter.JSONError")
	if rules, total := v3Rules(t, c, id); total != 2 || !reflect.DeepEqual(rules, []portRule{want[0], want[2]}) {
		t.Errorf("after deletes: %d %+v, want tcp 80 and 443", total, rules)
	}

	// Every change is an event carrying its RequestId.
	ev := s.Events(t, id, "rule_deleted")
	if len(ev) != 2 || ev[0].RequestId != tea.StringValue(del.Body.RequestId) {
		t.Errorf("rule_deleted events %+v, want 2, the first with RequestId %s", ev, tea.StringValue(del.Body.RequestId))
	}
	if ev := s.Events(t, id, "rule_created"); len(ev) != 4 || ev[0].RequestId != tea.StringValue(created.Body.RequestId) {
		t.Errorf("rule_created events %+v, want 4, the first with RequestId %s", ev, tea.StringValue(created.Body.RequestId))
	}
}

// TestPortRulesSDKv1 drives the port family (CreatePort, DescribePort,
// ModifyPort, DeletePort) through sdk-go v1 with its own request types,
// as Terraform's older paths do, and pins its errors as ServerError.
func TestPortRulesSDKv1(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	id := a.InstanceId

	create := ddoscoo.CreateCreatePortRequest()
	create.InstanceId, create.FrontendProtocol, create.FrontendPort, create.BackendPort = id, "udp", "7001", "7002"
	create.RealServers = &[]string{"192.0.2.1", "192.0.2.2"}
	cr, err := c.CreatePort(create)
	if err != nil {
		t.Fatalf("v1 CreatePort: %v", err)
	}
	wantRequestID(t, "v1 CreatePort", cr.RequestId)
	_, err = c.CreatePort(create)
	v1Error(t, err, 400, "NetworkRuleExist")

	describe := func(set func(*ddoscoo.DescribePortRequest)) *ddoscoo.DescribePortResponse {
		t.Helper()
		req := ddoscoo.CreateDescribePortRequest()
		req.InstanceId, req.PageNumber, req.PageSize = id, "1", "10"
		if set != nil {
			set(req)
		}
		resp, err := c.DescribePort(req)
		if err != nil {
			t.Fatalf("v1 DescribePort: %v", err)
		}
		wantRequestID(t, "v1 DescribePort", resp.RequestId)
		return resp
	}
	got := describe(func(r *ddoscoo.DescribePortRequest) { r.FrontendPort, r.FrontendProtocol = "7001", "udp" })
	wantRules := []ddoscoo.NetworkRule{{InstanceId: id, FrontendProtocol: "udp", FrontendPort: 7001, BackendPort: 7002, RealServers: []string{"192.0.2.1", "192.0.2.2"}}}
	if got.TotalCount != 1 || !reflect.DeepEqual(got.NetworkRules, wantRules) {
		t.Fatalf("v1 DescribePort = %d %+v, want 1 %+v", got.TotalCount, got.NetworkRules, wantRules)
	}
	if got := describe(func(r *ddoscoo.DescribePortRequest) { r.FrontendProtocol = "tcp" }); got.TotalCount != 0 || len(got.NetworkRules) != 0 {
		t.Errorf("tcp rules: %d %+v, want none", got.TotalCount, got.NetworkRules)
	}

	mod := ddoscoo.CreateModifyPortRequest()
	mod.InstanceId, mod.FrontendProtocol, mod.FrontendPort, mod.BackendPort = id, "udp", "7001", "7003"
	mod.RealServers = &[]string{"192.0.2.3"}
	if _, err := c.ModifyPort(mod); err != nil {
		t.Fatalf("v1 ModifyPort: %v", err)
	}
	wantRules[0].BackendPort, wantRules[0].RealServers = 7003, []string{"192.0.2.3"}
	if got := describe(nil); got.TotalCount != 1 || !reflect.DeepEqual(got.NetworkRules, wantRules) {
		t.Fatalf("after v1 ModifyPort: %d %+v, want %+v", got.TotalCount, got.NetworkRules, wantRules)
	}
	mod.RealServers = &[]string{"not-an-ip"}
	_, err = c.ModifyPort(mod)
	v1Error(t, err, 400, "InvalidIp")
	mod.RealServers, mod.FrontendPort = &[]string{"192.0.2.3"}, "7009"
	_, err = c.ModifyPort(mod)
	v1Error(t, err, 400, "NetworkRuleNotExist")
	mod.FrontendPort = "port"
	_, err = c.ModifyPort(mod)
	v1Error(t, err, 400, "InvalidParameter")

	del := ddoscoo.CreateDeletePortRequest()
	del.InstanceId, del.FrontendProtocol, del.FrontendPort, del.BackendPort = id, "udp", "7001", "7003"
	del.RealServers = &[]string{"192.0.2.3"}
	if _, err := c.DeletePort(del); err != nil {
		t.Fatalf("v1 DeletePort: %v", err)
	}
	_, err = c.DeletePort(del)
	v1Error(t, err, 400, "NetworkRuleNotExist")
	if got := describe(nil); got.TotalCount != 0 || len(got.NetworkRules) != 0 {
		t.Errorf("after v1 DeletePort: %d %+v", got.TotalCount, got.NetworkRules)
	}
	del.InstanceId = "ddoscoo-cn-neverexisted"
	_, err = c.DeletePort(del)
	v1Error(t, err, 404, "InstanceNotFound")
	// A fresh request: sdk-go v1 keeps a request's parameters once sent.
	noProto := ddoscoo.CreateCreatePortRequest()
	noProto.InstanceId, noProto.FrontendPort, noProto.BackendPort = id, "7009", "7009"
	noProto.RealServers = &[]string{"192.0.2.1"}
	_, err = c.CreatePort(noProto)
	v1Error(t, err, 400, "MissingFrontendProtocol")
}

// TestPortRuleLimitAndBatches pins the PortCount limit and the batches'
// all-or-nothing: a batch over the limit, with a duplicate, with a bad
// origin in its last rule, or naming another account's instance creates
// nothing; a full instance refuses one more rule with
// ExceedNetworkRuleLimit until an upgrade raises PortCount; an instance
// whose forwarding has stopped refuses new rules with InstanceExpired and
// still lists and deletes its rules.
func TestPortRuleLimitAndBatches(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	b := createSingle(t, s, admin.InstancesRequest{})
	const acct, key, secret = "1000000000000112", "LTAIportlimitsaccount112", "port-limits-account-secret-0112"
	s.CreateAccount(t, acct, key, secret)
	other := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	id := a.InstanceId

	batch := func(n, from int) []portRule {
		out := make([]portRule, n)
		for i := range out {
			out[i] = portRule{id, "tcp", from + i, from + i, []string{"192.0.2.1"}}
		}
		return out
	}
	createRules := func(rules ...portRule) error {
		_, err := c.CreateNetworkRules((&ddoscoov3.CreateNetworkRulesRequest{}).SetNetworkRules(ruleJSON(t, rules...)))
		return err
	}
	wantCount := func(what, id string, n int64) {
		t.Helper()
		if _, total := v3Rules(t, c, id); total != n {
			t.Fatalf("%s: %s has %d rules, want %d", what, id, total, n)
		}
	}

	teaError(t, createRules(batch(51, 1000)...), 400, "ExceedNetworkRuleLimit")
	wantCount("a batch of 51 on PortCount 50", id, 0)
	if err := createRules(batch(10, 1000)...); err != nil {
		t.Fatalf("a batch of 10: %v", err)
	}
	teaError(t, createRules(append(batch(5, 2000), portRule{id, "tcp", 1003, 1003, []string{"192.0.2.1"}})...), 400, "NetworkRuleExist")
	wantCount("a batch with a duplicate", id, 10)
	teaError(t, createRules(append(batch(2, 2000), batch(1, 2000)...)...), 400, "InvalidParameter")
	wantCount("a batch naming a rule twice", id, 10)
	teaError(t, createRules(append(batch(5, 2000), portRule{id, "udp", 2000, 2000, []string{"192.0.2.256"}})...), 400, "InvalidIp")
	wantCount("a batch with a bad origin last", id, 10)
	teaError(t, createRules(append(batch(5, 2000), portRule{other.InstanceId, "tcp", 80, 80, []string{"192.0.2.1"}})...), 404, "InstanceNotFound")
	wantCount("a batch naming another account's instance", id, 10)
	if err := createRules(append(batch(1, 3000), portRule{b.InstanceId, "udp", 3000, 3000, []string{"192.0.2.1"}})...); err != nil {
		t.Fatalf("a batch on two instances: %v", err)
	}
	wantCount("a batch on two instances", b.InstanceId, 1)
	teaError(t, createRules(batch(40, 4000)...), 400, "ExceedNetworkRuleLimit")
	wantCount("11 + 40 on PortCount 50", id, 11)
	if err := createRules(batch(39, 4000)...); err != nil {
		t.Fatalf("filling the instance: %v", err)
	}
	wantCount("full", id, 50)
	teaError(t, v3CreatePort(c, id, "udp", "9000", "", "192.0.2.1"), 400, "ExceedNetworkRuleLimit")
	stats, err := c.DescribeInstanceStatistics((&ddoscoov3.DescribeInstanceStatisticsRequest{}).SetInstanceIds(tea.StringSlice([]string{id, b.InstanceId})))
	if err != nil {
		t.Fatalf("DescribeInstanceStatistics: %v", err)
	}
	usage := map[string]int32{}
	for _, st := range stats.Body.InstanceStatistics {
		usage[tea.StringValue(st.InstanceId)] = tea.Int32Value(st.PortUsage)
	}
	if want := map[string]int32{id: 50, b.InstanceId: 1}; !reflect.DeepEqual(usage, want) {
		t.Errorf("PortUsage %v, want %v", usage, want)
	}

	if _, _, err := modifyV3(t, c, map[string]string{"InstanceId": id, "ModifyType": "UPGRADE", "ProductType": "ddoscoo", "PortCount": "55"}); err != nil {
		t.Fatalf("UPGRADE PortCount 55: %v", err)
	}
	if err := v3CreatePort(c, id, "udp", "9000", "", "192.0.2.1"); err != nil {
		t.Fatalf("CreatePort after the upgrade: %v", err)
	}
	wantCount("after the upgrade", id, 51)

	stopped := createSingle(t, s, admin.InstancesRequest{ExpireIn: "1h"})
	if err := v3CreatePort(c, stopped.InstanceId, "tcp", "80", "", "192.0.2.1"); err != nil {
		t.Fatalf("CreatePort before expiry: %v", err)
	}
	s.Advance(t, "193h")
	teaError(t, v3CreatePort(c, stopped.InstanceId, "tcp", "81", "", "192.0.2.1"), 400, "InstanceExpired")
	_, err = c.ModifyPort((&ddoscoov3.ModifyPortRequest{}).SetInstanceId(stopped.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort("80").SetRealServers(tea.StringSlice([]string{"192.0.2.2"})))
	teaError(t, err, 400, "InstanceExpired")
	wantCount("stopped instance", stopped.InstanceId, 1)
	if _, err := c.DeletePort((&ddoscoov3.DeletePortRequest{}).SetInstanceId(stopped.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort("80")); err != nil {
		t.Fatalf("DeletePort on a stopped instance: %v", err)
	}
	wantCount("stopped instance after delete", stopped.InstanceId, 0)
}
