package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"moat/internal/admin"
)

// TestCLIAdminRAM pins the `moat admin` wrappers of the RAM routes, each
// once, and their effect seen through `moat call` and the SDKs:
// create-user, create-access-key (the secret printed once), put-policy
// --file, sts --duration --policy-file, set-key-status, delete-policy,
// delete-key and audit; an error answer exits 1 with the JSON error body,
// a missing flag exits 2.
func TestCLIAdminRAM(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	id := createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct}).InstanceId
	env := cliEnv(s, "", "")
	dir := t.TempDir()

	r := runMoat(t, env, "admin", "create-user", "--account-id", ramAcct, "--user-name", "cli")
	cliWantExit(t, r, 0, "create-user")
	var u admin.UserResponse
	cliJSON(t, r, &u)
	if u.AccountId != ramAcct || u.UserName != "cli" || len(u.UserId) != 16 {
		t.Fatalf("create-user printed %s", r.stdout)
	}
	r = runMoat(t, env, "admin", "create-user", "--account-id", ramAcct, "--user-name", "cli")
	cliWantExit(t, r, 1, "create-user again")
	var e admin.ErrorBody
	cliJSON(t, r, &e)
	if e.Code != "UserAlreadyExists" {
		t.Fatalf("create-user again printed %s, want UserAlreadyExists", r.stdout)
	}
	r = runMoat(t, env, "admin", "create-user", "--account-id", ramAcct)
	cliWantExit(t, r, 2, "create-user without --user-name")

	r = runMoat(t, env, "admin", "create-access-key", "--account-id", ramAcct, "--user-name", "cli")
	cliWantExit(t, r, 0, "create-access-key")
	var k admin.KeyResponse
	cliJSON(t, r, &k)
	if k.AccessKeyId == "" || k.AccessKeySecret == "" {
		t.Fatalf("create-access-key printed %s", r.stdout)
	}
	userEnv := cliEnv(s, k.AccessKeyId, k.AccessKeySecret)
	describe := []string{"call", "DescribeInstances", "PageNumber=1", "PageSize=10"}
	r = runMoat(t, userEnv, describe...)
	cliWantExit(t, r, 1, "moat call by a user without policies")
	cliJSON(t, r, &e)
	if e.Code != "Forbidden.RAM" {
		t.Fatalf("moat call without policies printed %s, want Forbidden.RAM", r.stdout)
	}

	policyFile := filepath.Join(dir, "read.json")
	if err := os.WriteFile(policyFile, []byte(policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runMoat(t, env, "admin", "put-policy", "--account-id", ramAcct, "--user-name", "cli", "--policy-name", "read", "--file", policyFile)
	cliWantExit(t, r, 0, "put-policy")
	if !strings.Contains(r.stdout, `"PolicyName": "read"`) {
		t.Fatalf("put-policy printed %s", r.stdout)
	}
	r = runMoat(t, userEnv, describe...)
	cliWantExit(t, r, 0, "moat call after put-policy")
	var d rawDescribe
	cliJSON(t, r, &d)
	if d.TotalCount != 1 || !slices.Equal(rawListedIDs(d), []string{id}) {
		t.Fatalf("moat call after put-policy printed %s", r.stdout)
	}
	badFile := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badFile, []byte("{\n  \"Version\": 1\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runMoat(t, env, "admin", "put-policy", "--account-id", ramAcct, "--user-name", "cli", "--policy-name", "bad", "--file", badFile)
	cliWantExit(t, r, 1, "put-policy of a malformed document")
	cliJSON(t, r, &e)
	if e.Code != "MalformedPolicyDocument" || !strings.Contains(e.Message, "line 2, column 14") {
		t.Fatalf("put-policy of a malformed document printed %s, want MalformedPolicyDocument at line 2, column 14", r.stdout)
	}

	narrowFile := filepath.Join(dir, "narrow.json")
	if err := os.WriteFile(narrowFile, []byte(policyDoc(allowStmt("yundun-ddoscoo:DescribeInstanceIds", "*", ""))), 0o644); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Second)
	r = runMoat(t, env, "admin", "sts", "--account-id", ramAcct, "--user-name", "cli", "--duration", "900s", "--policy-file", narrowFile)
	cliWantExit(t, r, 0, "sts")
	var c admin.STSResponse
	cliJSON(t, r, &c)
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil || !strings.HasPrefix(c.AccessKeyId, "STS.") || c.SecurityToken == "" || exp.Before(before.Add(900*time.Second)) || exp.After(time.Now().Add(900*time.Second)) {
		t.Fatalf("sts printed %s, want STS credentials expiring in 900 s", r.stdout)
	}
	sc := stsV1(t, s, c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	_, err = sc.DescribeInstances(describeRequestV1())
	wantDeniedV1(t, "the CLI-issued narrowed session", err, deniedDetail(ramDescribe, "AssumedRoleUser", "cli", "ImplicitDeny", "SessionPolicy"))
	r = runMoat(t, env, "admin", "sts", "--account-id", ramAcct, "--user-name", "cli", "--duration", "899s")
	cliWantExit(t, r, 1, "sts --duration 899s")
	cliJSON(t, r, &e)
	if e.Code != "InvalidDuration" {
		t.Fatalf("sts --duration 899s printed %s, want InvalidDuration", r.stdout)
	}

	r = runMoat(t, env, "admin", "set-key-status", "--access-key-id", k.AccessKeyId, "--status", "Inactive")
	cliWantExit(t, r, 0, "set-key-status")
	if !strings.Contains(r.stdout, `"Status": "Inactive"`) {
		t.Fatalf("set-key-status printed %s", r.stdout)
	}
	r = runMoat(t, userEnv, describe...)
	cliWantExit(t, r, 1, "moat call with the disabled key")
	cliJSON(t, r, &e)
	if e.Code != "InvalidAccessKeyId.Inactive" {
		t.Fatalf("moat call with the disabled key printed %s", r.stdout)
	}
	r = runMoat(t, env, "admin", "set-key-status", "--access-key-id", k.AccessKeyId, "--status", "Active")
	cliWantExit(t, r, 0, "set-key-status Active")

	r = runMoat(t, env, "admin", "delete-policy", "--account-id", ramAcct, "--user-name", "cli", "--policy-name", "read")
	cliWantExit(t, r, 0, "delete-policy")
	r = runMoat(t, userEnv, describe...)
	cliWantExit(t, r, 1, "moat call after delete-policy")
	cliJSON(t, r, &e)
	if e.Code != "Forbidden.RAM" {
		t.Fatalf("moat call after delete-policy printed %s", r.stdout)
	}

	r = runMoat(t, env, "admin", "delete-key", "--access-key-id", k.AccessKeyId)
	cliWantExit(t, r, 0, "delete-key")
	r = runMoat(t, userEnv, describe...)
	cliWantExit(t, r, 1, "moat call with the deleted key")
	cliJSON(t, r, &e)
	if e.Code != "InvalidAccessKeyId.NotFound" {
		t.Fatalf("moat call with the deleted key printed %s", r.stdout)
	}
	r = runMoat(t, env, "admin", "delete-key", "--access-key-id", k.AccessKeyId)
	cliWantExit(t, r, 1, "delete-key again")

	// Calls that authenticated are recorded; those with the disabled or
	// deleted key did not.
	r = runMoat(t, env, "admin", "audit", "--account-id", ramAcct, "--action", "DescribeInstances")
	cliWantExit(t, r, 0, "audit")
	var a admin.AuditResponse
	cliJSON(t, r, &a)
	want := []string{
		"user/cli ddoscoo:DescribeInstances Forbidden.RAM",
		"user/cli ddoscoo:DescribeInstances OK",
		"sts/cli ddoscoo:DescribeInstances Forbidden.RAM",
		"user/cli ddoscoo:DescribeInstances Forbidden.RAM",
	}
	if got := auditSummary(a.Records); !slices.Equal(got, want) {
		t.Fatalf("audit printed %v, want %v", got, want)
	}
}
