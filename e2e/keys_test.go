package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// describeOK is one DescribeInstances through sdk-go v1 that must succeed.
func describeOK(t testing.TB, s *Server, what, keyID, secret string) {
	t.Helper()
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	if _, err := SDKv1(t, s, "cn-hangzhou", keyID, secret).DescribeInstances(req); err != nil {
		t.Fatalf("%s: DescribeInstances: %v", what, err)
	}
}

// describeErr is the error of one DescribeInstances through sdk-go v1.
func describeErr(t testing.TB, s *Server, keyID, secret string) error {
	t.Helper()
	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	_, err := SDKv1(t, s, "cn-hangzhou", keyID, secret).DescribeInstances(req)
	return err
}

// TestKeyRotationWithoutDowntime pins rotating a RAM user's key: a second
// key works beside the first, the first can be disabled (400
// InvalidAccessKeyId.Inactive, also through the v3 client) while the
// second keeps working, re-enabled, and deleted (404
// InvalidAccessKeyId.NotFound); the account's own keys rotate the same
// way (a second key through POST /accounts).
func TestKeyRotationWithoutDowntime(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	ctx := context.Background()
	old := newRAMUser(t, s, ramAcct, "deploy", map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})
	describeOK(t, s, "first key", old.KeyID, old.Secret)
	nk, err := s.Admin.CreateUserKey(ctx, ramAcct, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if nk.AccessKeyId == old.KeyID || nk.AccessKeySecret == old.Secret {
		t.Fatalf("second key %s repeats the first", nk.AccessKeyId)
	}
	describeOK(t, s, "second key", nk.AccessKeyId, nk.AccessKeySecret)
	describeOK(t, s, "first key beside the second", old.KeyID, old.Secret)

	if err := s.Admin.SetKeyStatus(ctx, old.KeyID, "Inactive"); err != nil {
		t.Fatal(err)
	}
	v1Error(t, describeErr(t, s, old.KeyID, old.Secret), 400, "InvalidAccessKeyId.Inactive")
	_, err = SDKv3(t, s, old.KeyID, old.Secret).DescribeInstances(v3DescribeRequest())
	teaError(t, err, 400, "InvalidAccessKeyId.Inactive")
	describeOK(t, s, "second key while the first is disabled", nk.AccessKeyId, nk.AccessKeySecret)

	if err := s.Admin.SetKeyStatus(ctx, old.KeyID, "Active"); err != nil {
		t.Fatal(err)
	}
	describeOK(t, s, "first key re-enabled", old.KeyID, old.Secret)

	if err := s.Admin.DeleteKey(ctx, old.KeyID); err != nil {
		t.Fatal(err)
	}
	v1Error(t, describeErr(t, s, old.KeyID, old.Secret), 404, "InvalidAccessKeyId.NotFound")
	describeOK(t, s, "second key after the first is deleted", nk.AccessKeyId, nk.AccessKeySecret)
	wantAdminError(t, "delete it again", s.Admin.DeleteKey(ctx, old.KeyID), 404, "AccessKeyNotFound")
	wantAdminError(t, "status of a deleted key", s.Admin.SetKeyStatus(ctx, old.KeyID, "Active"), 404, "AccessKeyNotFound")
	wantAdminError(t, "status Disabled", s.Admin.SetKeyStatus(ctx, nk.AccessKeyId, "Disabled"), 400, "InvalidParameter")

	// The account's own keys.
	s.CreateAccount(t, ramAcct, rootKey2, rootSecret2)
	describeOK(t, s, "second account key", rootKey2, rootSecret2)
	if err := s.Admin.SetKeyStatus(ctx, ramRootKey, "Inactive"); err != nil {
		t.Fatal(err)
	}
	v1Error(t, describeErr(t, s, ramRootKey, ramRootSecret), 400, "InvalidAccessKeyId.Inactive")
	describeOK(t, s, "second account key while the first is disabled", rootKey2, rootSecret2)
	if err := s.Admin.SetKeyStatus(ctx, ramRootKey, "Active"); err != nil {
		t.Fatal(err)
	}
	describeOK(t, s, "first account key re-enabled", ramRootKey, ramRootSecret)
	if err := s.Admin.DeleteKey(ctx, ramRootKey); err != nil {
		t.Fatal(err)
	}
	v1Error(t, describeErr(t, s, ramRootKey, ramRootSecret), 404, "InvalidAccessKeyId.NotFound")
	describeOK(t, s, "second account key after the first is deleted", rootKey2, rootSecret2)
	// The second key still acts as the account: it sees its instances.
	createSingle(t, s, admin.InstancesRequest{AccountId: ramAcct})
	if resp := v1List(t, SDKv1(t, s, "cn-hangzhou", rootKey2, rootSecret2), nil); resp.TotalCount != 1 {
		t.Fatalf("second account key sees TotalCount %d, want 1", resp.TotalCount)
	}
}

// keyMaterial makes, on s, one of each kind of secret: a RAM user's key,
// STS credentials, and a second account key; it uses each once, and a
// wrong secret once. It returns the user and every secret by name.
func keyMaterial(t *testing.T, s *Server) (ramUser, admin.STSResponse, map[string]string) {
	t.Helper()
	ramAccount(t, s)
	u := newRAMUser(t, s, ramAcct, "ci", map[string]string{"read": policyDoc(allowStmt("yundun-ddoscoo:Describe*", "*", ""))})
	sts := issueSTS(t, s, "ci", admin.STSRequest{DurationSeconds: 3600})
	s.CreateAccount(t, ramAcct, rootKey2, rootSecret2)
	describeOK(t, s, "user key", u.KeyID, u.Secret)
	describeOK(t, s, "second account key", rootKey2, rootSecret2)
	describeStsOK(t, s, sts)
	// A failed signature is logged too.
	v1Error(t, describeErr(t, s, u.KeyID, u.Secret+"x"), 400, "SignatureDoesNotMatch")
	return u, sts, map[string]string{
		"user secret": u.Secret, "STS secret": sts.AccessKeySecret, "SecurityToken": sts.SecurityToken,
		"account secret": rootSecret2, "first account secret": ramRootSecret, "bootstrap secret": testKeySecret,
	}
}

const rootKey2, rootSecret2 = "LTAIramtestrootkey000002", "ram-root-secret-2-fedcba9876543210"

// TestSecretsNeverShown pins where secrets may appear: a user key's secret
// and STS credentials only in the answer that creates them (an account
// key's secret, chosen by the caller, in none); never in the server's log
// or in any other admin answer; and the sealed secrets still open after a
// restart.
func TestSecretsNeverShown(t *testing.T) {
	s := StartServer(t)
	u, sts, secrets := keyMaterial(t, s)

	answers := map[string]string{}
	call := func(what, method, path, body string) {
		t.Helper()
		status, out := adminRaw(t, s, method, path, body)
		if status >= 300 {
			t.Fatalf("%s: %d %s", what, status, out)
		}
		answers[what] = out
	}
	call("account again", http.MethodPost, "/_moat/v1/accounts", `{"AccountId": "`+ramAcct+`", "AccessKeyId": "`+rootKey2+`", "AccessKeySecret": "`+rootSecret2+`"}`)
	call("create user", http.MethodPost, "/_moat/v1/accounts/"+ramAcct+"/users", `{"UserName": "other"}`)
	call("key status", http.MethodPatch, "/_moat/v1/access-keys/"+u.KeyID, `{"Status": "Active"}`)
	call("put policy", http.MethodPut, "/_moat/v1/accounts/"+ramAcct+"/users/ci/policies/other", policyDoc(allowStmt("*", "*", "")))
	call("delete policy", http.MethodDelete, "/_moat/v1/accounts/"+ramAcct+"/users/ci/policies/other", "")
	call("audit", http.MethodGet, "/_moat/v1/audit", "")
	call("events", http.MethodGet, "/_moat/v1/events", "")
	call("clock", http.MethodGet, "/_moat/v1/clock", "")
	call("delete STS key", http.MethodDelete, "/_moat/v1/access-keys/"+sts.AccessKeyId, "")
	if !strings.Contains(answers["audit"], "user/ci") || !strings.Contains(answers["audit"], "sts/ci") {
		t.Fatalf("audit answer does not show the user's calls: %s", answers["audit"])
	}
	for what, out := range answers {
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("the %s answer contains the %s", what, name)
			}
		}
	}

	s.Stop()
	logs := s.Logs()
	if !strings.Contains(logs, u.KeyID) {
		t.Fatalf("the log does not show the user's key ID; is it the request log?\n%s", logs)
	}
	for name, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the server log contains the %s", name)
		}
	}
	s.Restart()
	describeOK(t, s, "user key after a restart", u.KeyID, u.Secret)
	describeOK(t, s, "second account key after a restart", rootKey2, rootSecret2)
}

// TestSQLiteSecretsSealedInFiles pins that no file of a SQLite store (the
// database, its WAL, the nonce and audit files) holds a secret or token in
// plain text: they are sealed with the master key, which is created beside
// the database with mode 0600 and reused after a restart; with
// MOAT_MASTER_KEY set no key file is written.
func TestSQLiteSecretsSealedInFiles(t *testing.T) {
	s := StartServer(t, WithSQLite(filepath.Join(t.TempDir(), "moat.db")))
	u, _, secrets := keyMaterial(t, s)
	st, err := os.Stat(filepath.Join(s.Dir, "master.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key beside the database: %v, want mode 0600", err)
	}
	s.Stop()
	files, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	seenKeyID := false
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(s.Dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		seenKeyID = seenKeyID || bytes.Contains(b, []byte(u.KeyID))
		for name, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("store file %s contains the %s in plain text", f.Name(), name)
			}
		}
	}
	if !seenKeyID {
		t.Fatalf("no file in %s holds the user's AccessKeyId: the store's files were not read", s.Dir)
	}
	s.Restart()
	describeOK(t, s, "user key after a restart", u.KeyID, u.Secret)

	m := StartServer(t, WithSQLite(filepath.Join(t.TempDir(), "moat.db")), func(s *Server) {
		s.env = append(s.env, "MOAT_MASTER_KEY="+strings.Repeat("3c", 32))
	})
	mu, _, _ := keyMaterial(t, m)
	m.Stop()
	if _, err := os.Stat(filepath.Join(m.Dir, "master.key")); !os.IsNotExist(err) {
		t.Fatalf("with MOAT_MASTER_KEY set a master.key file exists (%v)", err)
	}
	m.Restart()
	describeOK(t, m, "user key after a restart with MOAT_MASTER_KEY", mu.KeyID, mu.Secret)
}
