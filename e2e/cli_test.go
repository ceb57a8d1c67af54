package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/admin"
)

// cliResult is one run of the moat binary.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runMoat runs the built moat binary with args and exactly env (plus PATH
// and HOME; no MOAT_* variable leaks in from the test's environment).
func runMoat(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := moatCommand(ctx, t, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOAT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("moat %v: %v", args, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// cliEnv is the environment `moat call` and `moat admin` read.
func cliEnv(s *Server, keyID, secret string) map[string]string {
	return map[string]string{
		"MOAT_ENDPOINT":          s.Endpoint,
		"MOAT_ACCESS_KEY_ID":     keyID,
		"MOAT_ACCESS_KEY_SECRET": secret,
		"MOAT_ADMIN_TOKEN":       adminToken,
	}
}

// cliJSON decodes a command's stdout, which must be JSON.
func cliJSON(t *testing.T, r cliResult, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("stdout is not the JSON body: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
}

func cliWantExit(t *testing.T, r cliResult, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit status %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
}

// TestCLICall pins `moat call`: it signs with the env credentials, prints
// the JSON body and exits 0 on success, prints XML with --format xml, and
// on an error answer prints the JSON error body and exits non-zero.
func TestCLICall(t *testing.T) {
	s := StartServer(t)
	id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h", Remark: "cli call"})[0].InstanceId
	env := cliEnv(s, testKeyID, testKeySecret)

	r := runMoat(t, env, "call", "DescribeInstances", "PageNumber=1", "PageSize=10")
	cliWantExit(t, r, 0, "moat call DescribeInstances")
	var d rawDescribe
	cliJSON(t, r, &d)
	if d.TotalCount != 1 || !slices.Equal(rawListedIDs(d), []string{id}) || d.Instances[0].Remark != "cli call" || !rawRequestIDRE.MatchString(d.RequestId) {
		t.Errorf("moat call DescribeInstances printed %s, want the instance %s", r.stdout, id)
	}

	r = runMoat(t, env, "call", "DescribeInstances", "PageNumber=1", "PageSize=10", "--format", "xml")
	cliWantExit(t, r, 0, "moat call --format xml")
	var x rawXMLDescribe
	if err := xml.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatalf("--format xml printed no XML: %v\n%s", err, r.stdout)
	}
	if x.XMLName.Local != "DescribeInstancesResponse" || len(x.Instances) != 1 || x.Instances[0].InstanceId != id {
		t.Errorf("--format xml printed %s, want <DescribeInstancesResponse> with <Instances> %s", r.stdout, id)
	}

	r = runMoat(t, env, "call", "DescribeInstances", "PageNumber=1", "PageSize=10", "--region", "ap-southeast-1")
	cliWantExit(t, r, 0, "moat call --region ap-southeast-1")
	cliJSON(t, r, &d)
	if d.TotalCount != 0 {
		t.Errorf("--region ap-southeast-1 listed %s, want nothing (the instance is in cn-hangzhou)", r.stdout)
	}

	r = runMoat(t, env, "call", "ReleaseInstance", "InstanceId="+id)
	if r.code == 0 {
		t.Fatalf("moat call ReleaseInstance of a live instance exited 0:\n%s", r.stdout)
	}
	var e map[string]string
	cliJSON(t, r, &e)
	if e["Code"] != "InstanceNotExpire" || !rawRequestIDRE.MatchString(e["RequestId"]) || len(e) != 5 {
		t.Errorf("moat call ReleaseInstance printed %s, want the JSON error envelope with Code InstanceNotExpire", r.stdout)
	}

	r = runMoat(t, cliEnv(s, testKeyID, "wrong-secret"), "call", "DescribeInstances", "PageNumber=1", "PageSize=10")
	if r.code == 0 {
		t.Fatalf("moat call with a wrong secret exited 0:\n%s", r.stdout)
	}
	cliJSON(t, r, &e)
	if e["Code"] != "SignatureDoesNotMatch" {
		t.Errorf("moat call with a wrong secret printed %s, want SignatureDoesNotMatch", r.stdout)
	}
}

// TestCLIAdmin pins `moat admin create-instances`, `clock`, `events` and
// `create-account` with MOAT_ADMIN_TOKEN, and that the created account's
// key pair works with `moat call`.
func TestCLIAdmin(t *testing.T) {
	s := StartServer(t)
	env := cliEnv(s, testKeyID, testKeySecret)

	r := runMoat(t, env, "admin", "create-instances", "--count", "2", "--expire-in", "1h", "--remark", "from cli")
	cliWantExit(t, r, 0, "moat admin create-instances")
	var created struct {
		Instances []struct{ InstanceId, Remark, RegionId string }
	}
	cliJSON(t, r, &created)
	if len(created.Instances) != 2 || created.Instances[0].Remark != "from cli" || created.Instances[1].RegionId != "cn-hangzhou" {
		t.Fatalf("create-instances printed %s, want 2 cn-hangzhou instances remarked \"from cli\"", r.stdout)
	}
	id := created.Instances[0].InstanceId

	r = runMoat(t, env, "admin", "clock")
	cliWantExit(t, r, 0, "moat admin clock")
	var clock struct{ Now, Offset string }
	cliJSON(t, r, &clock)
	if clock.Offset != "0s" {
		t.Errorf("clock printed %s, want Offset 0s", r.stdout)
	}
	r = runMoat(t, env, "admin", "clock", "--advance", "2h")
	cliWantExit(t, r, 0, "moat admin clock --advance 2h")
	cliJSON(t, r, &clock)
	if clock.Offset != "2h0m0s" {
		t.Errorf("clock --advance 2h printed %s, want Offset 2h0m0s", r.stdout)
	}

	r = runMoat(t, env, "admin", "events", "--instance-id", id)
	cliWantExit(t, r, 0, "moat admin events")
	var evs struct {
		Events []struct{ InstanceId, Type string }
	}
	cliJSON(t, r, &evs)
	var types []string
	for _, e := range evs.Events {
		if e.InstanceId != id {
			t.Errorf("events --instance-id %s printed an event of %s", id, e.InstanceId)
		}
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"created", "expired"}) {
		t.Errorf("events of %s = %v, want [created expired] after the clock passed expiry", id, types)
	}

	r = runMoat(t, env, "admin", "create-account", "--account-id", "5551234", "--access-key-id", "LTAIclitestkey0001", "--access-key-secret", "cli-secret-0123456789")
	cliWantExit(t, r, 0, "moat admin create-account")
	var acct struct{ AccountId, AccessKeyId string }
	cliJSON(t, r, &acct)
	if acct.AccountId != "5551234" || acct.AccessKeyId != "LTAIclitestkey0001" || strings.Contains(r.stdout, "cli-secret") {
		t.Errorf("create-account printed %s", r.stdout)
	}
	r = runMoat(t, cliEnv(s, "LTAIclitestkey0001", "cli-secret-0123456789"), "call", "DescribeInstances", "PageNumber=1", "PageSize=10")
	cliWantExit(t, r, 0, "moat call with the new account's key")
	var d rawDescribe
	cliJSON(t, r, &d)
	if d.TotalCount != 0 {
		t.Errorf("the new account sees %s, want no instances (they belong to the bootstrap account)", r.stdout)
	}

	bad := cliEnv(s, testKeyID, testKeySecret)
	bad["MOAT_ADMIN_TOKEN"] = "wrong-token"
	if r := runMoat(t, bad, "admin", "clock"); r.code == 0 {
		t.Errorf("moat admin clock with a wrong token exited 0: %s", r.stdout)
	}
}

// adminGetJSON fetches path with an optional bearer token and decodes a JSON
// answer.
func adminGetJSON(t *testing.T, endpoint, path, token string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("GET %s: %d, body is not JSON: %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, out, string(b)
}

// TestAdminAPIAuthAndHealth pins the admin API's gate: 401 without or with
// a wrong bearer token, 200 with the right one, 404 (JSON) on a server
// without an admin token; and GET /_moat/health answering 200
// {"Status":"ok"} without auth on both.
func TestAdminAPIAuthAndHealth(t *testing.T) {
	s := StartServer(t)
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"wrong token", "not-" + adminToken, 401},
		{"right token", adminToken, 200},
	} {
		if st, body, raw := adminGetJSON(t, s.Endpoint, "/_moat/v1/clock", c.token); st != c.status || (st == 401 && body["Code"] == nil) {
			t.Errorf("%s: GET /_moat/v1/clock = %d %s, want %d", c.name, st, raw, c.status)
		}
	}
	if st, _, raw := adminGetJSON(t, s.Endpoint, "/_moat/health", ""); st != 200 || raw != `{"Status":"ok"}` {
		t.Errorf("GET /_moat/health = %d %s, want 200 {\"Status\":\"ok\"}", st, raw)
	}

	off := StartServer(t, WithoutEnv("MOAT_ADMIN_TOKEN"))
	for _, token := range []string{"", adminToken} {
		if st, body, raw := adminGetJSON(t, off.Endpoint, "/_moat/v1/clock", token); st != 404 || body["Code"] == nil {
			t.Errorf("admin API disabled, token %q: GET /_moat/v1/clock = %d %s, want 404 JSON", token, st, raw)
		}
	}
	if st, _, raw := adminGetJSON(t, off.Endpoint, "/_moat/health", ""); st != 200 || raw != `{"Status":"ok"}` {
		t.Errorf("admin API disabled: GET /_moat/health = %d %s, want 200 {\"Status\":\"ok\"}", st, raw)
	}
}

var exportRE = regexp.MustCompile(`(?m)^export (MOAT_ACCESS_KEY_ID|MOAT_ACCESS_KEY_SECRET)=(\S+)$`)

// TestGeneratedBootstrapCredentials pins the first start without
// MOAT_ACCESS_KEY_ID/SECRET: the server prints one "export
// MOAT_ACCESS_KEY_ID=…" and one "export MOAT_ACCESS_KEY_SECRET=…" line on
// stdout, the pair works with `moat call` for the bootstrap account, and a
// restart on the same database prints nothing again.
func TestGeneratedBootstrapCredentials(t *testing.T) {
	s := StartServer(t, WithoutEnv("MOAT_ACCESS_KEY_ID", "MOAT_ACCESS_KEY_SECRET"))
	s.Stop() // stdout is complete once the process has exited
	first := s.Stdout()
	got := map[string][]string{}
	for _, m := range exportRE.FindAllStringSubmatch(first, -1) {
		got[m[1]] = append(got[m[1]], m[2])
	}
	if len(got["MOAT_ACCESS_KEY_ID"]) != 1 || len(got["MOAT_ACCESS_KEY_SECRET"]) != 1 {
		t.Fatalf("first start printed %v, want one export line each for MOAT_ACCESS_KEY_ID and MOAT_ACCESS_KEY_SECRET:\n%s", got, first)
	}
	keyID, secret := got["MOAT_ACCESS_KEY_ID"][0], got["MOAT_ACCESS_KEY_SECRET"][0]
	if strings.Contains(s.Logs(), secret) {
		t.Errorf("the generated secret is in the log")
	}

	s.Restart()
	id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h", Remark: "bootstrap"})[0].InstanceId
	r := runMoat(t, cliEnv(s, keyID, secret), "call", "DescribeInstances", "PageNumber=1", "PageSize=10")
	cliWantExit(t, r, 0, "moat call with the generated pair")
	var d rawDescribe
	cliJSON(t, r, &d)
	if !slices.Equal(rawListedIDs(d), []string{id}) {
		t.Errorf("the generated pair lists %s, want the bootstrap account's instance %s", r.stdout, id)
	}
	s.Stop()
	if again := s.Stdout(); strings.Contains(again, "export ") || strings.Contains(again, secret) {
		t.Errorf("the restart printed credentials again:\n%s", again)
	}
}

// TestCLIQuickstart pins the README quickstart with the binary only:
// create an instance, see ReleaseInstance refused before expiry, advance
// the clock past expiry, release it with `moat call`; the instance then
// reports status 4 and has one released event carrying the call's
// RequestId.
func TestCLIQuickstart(t *testing.T) {
	s := StartServer(t)
	env := cliEnv(s, testKeyID, testKeySecret)

	r := runMoat(t, env, "admin", "create-instances", "--expire-in", "1h")
	cliWantExit(t, r, 0, "moat admin create-instances")
	var created struct{ Instances []struct{ InstanceId string } }
	cliJSON(t, r, &created)
	if len(created.Instances) != 1 {
		t.Fatalf("create-instances printed %s, want one instance", r.stdout)
	}
	id := created.Instances[0].InstanceId

	r = runMoat(t, env, "call", "ReleaseInstance", "InstanceId="+id)
	var e map[string]string
	cliJSON(t, r, &e)
	if r.code == 0 || e["Code"] != "InstanceNotExpire" {
		t.Fatalf("release before expiry: exit %d, %s; want non-zero and InstanceNotExpire", r.code, r.stdout)
	}

	cliWantExit(t, runMoat(t, env, "admin", "clock", "--advance", "2h"), 0, "moat admin clock --advance 2h")

	r = runMoat(t, env, "call", "ReleaseInstance", "InstanceId="+id)
	cliWantExit(t, r, 0, "moat call ReleaseInstance after expiry")
	var rel map[string]string
	cliJSON(t, r, &rel)
	if len(rel) != 1 || !rawRequestIDRE.MatchString(rel["RequestId"]) {
		t.Errorf("ReleaseInstance printed %s, want only a RequestId", r.stdout)
	}

	r = runMoat(t, env, "call", "DescribeInstanceStatus", "InstanceId="+id, "ProductType=1")
	cliWantExit(t, r, 0, "moat call DescribeInstanceStatus")
	var st struct {
		InstanceId     string
		InstanceStatus int
	}
	cliJSON(t, r, &st)
	if st.InstanceId != id || st.InstanceStatus != 4 {
		t.Errorf("DescribeInstanceStatus printed %s, want InstanceStatus 4", r.stdout)
	}

	r = runMoat(t, env, "admin", "events", "--instance-id", id, "--type", "released")
	cliWantExit(t, r, 0, "moat admin events --type released")
	var evs struct {
		Events []struct{ Type, RequestId, AccountId string }
	}
	cliJSON(t, r, &evs)
	if len(evs.Events) != 1 || evs.Events[0].RequestId != rel["RequestId"] || evs.Events[0].AccountId == "" {
		t.Errorf("released events %s, want one carrying RequestId %s and the owner's AccountId", r.stdout, rel["RequestId"])
	}
}
