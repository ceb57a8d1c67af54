package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"moat/internal/admin"
)

// secPolicy is a policy document with the given statements.
func secPolicy(statements ...string) string {
	return `{"Version": "1", "Statement": [` + strings.Join(statements, ",") + `]}`
}

// secUser creates a RAM user of account A with one policy (none when doc is
// empty) and an AccessKey pair.
func secUser(t *testing.T, s *Server, name, doc string) secKey {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Admin.CreateUser(ctx, secAcctA, name); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	if doc != "" {
		if err := s.Admin.PutPolicy(ctx, secAcctA, name, "main", doc); err != nil {
			t.Fatalf("put policy of %s: %v", name, err)
		}
	}
	k, err := s.Admin.CreateUserKey(ctx, secAcctA, name)
	if err != nil {
		t.Fatalf("create key of %s: %v", name, err)
	}
	return secKey{id: k.AccessKeyId, secret: k.AccessKeySecret}
}

// secSTS issues a session of a user of account A narrowed by doc.
func secSTS(t *testing.T, s *Server, user, doc string) secKey {
	t.Helper()
	c, err := s.Admin.IssueSTS(context.Background(), secAcctA, user, admin.STSRequest{Policy: doc})
	if err != nil {
		t.Fatalf("issue STS for %s: %v", user, err)
	}
	return secKey{id: c.AccessKeyId, secret: c.AccessKeySecret, token: c.SecurityToken}
}

// alterLast returns s with its last character replaced by a different
// one, so the result never equals s (replacing it with a fixed character
// would give s back whenever s already ended with it).
func alterLast(s string) string {
	last := s[len(s)-1]
	repl := byte('x')
	if last == repl {
		repl = 'y'
	}
	return s[:len(s)-1] + string(repl)
}

// secAdminCall calls the admin API with the given Authorization header (none
// when empty) and returns the answer; admin errors are {"Code","Message"}.
func secAdminCall(t *testing.T, s *Server, method, path, authz, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// secAdminRefused is an admin API attack: it must get 401 Unauthorized.
func secAdminRefused(s *Server, method, path, authz, body string) func(t *testing.T) rawResponse {
	return func(t *testing.T) rawResponse {
		r := secAdminCall(t, s, method, path, authz, body)
		var e admin.ErrorBody
		if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != http.StatusUnauthorized || e.Code != "Unauthorized" {
			t.Fatalf("admin %s %s: %d %s, want 401 Unauthorized", method, path, r.Status, r.Body)
		}
		// Reported to secWant as the gateway would (the admin API has its
		// own envelope, checked above).
		return rawResponse{Status: http.StatusUnauthorized}
	}
}

// secRAM: RAM users and STS sessions of account A try to do more than their
// policies allow; each attempt gets its exact refusal, and every
// Forbidden.RAM refusal is in the audit log with its principal.
func secRAM(t *testing.T, e *secEnv) {
	s := e.s
	describeOnly := secPolicy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:Describe*", "Resource": "*"}`)
	all := secPolicy(`{"Effect": "Allow", "Action": "yundun-ddoscoo:*", "Resource": "*"}`)
	reader := secUser(t, s, "reader", describeOnly)
	operator := secUser(t, s, "operator", secPolicy(`{"Effect": "Allow", "Action": ["yundun-ddoscoo:Describe*", "yundun-ddoscoo:ModifyInstanceRemark"], "Resource": "*"}`))
	wide := secUser(t, s, "wide", all)
	foreign := secUser(t, s, "foreign", secPolicy(`{"Effect": "Allow", "Action": "*", "Resource": "acs:yundun-ddoscoo:*:`+secAcctB+`:instance/*"}`))
	temp := secUser(t, s, "temp", all)
	casey := secUser(t, s, "casey", secPolicy(
		`{"Effect": "Allow", "Action": "yundun-ddoscoo:*", "Resource": "*"}`,
		`{"Effect": "Deny", "Action": "yundun-ddoscoo:releaseinstance", "Resource": "*"}`))
	lower := secUser(t, s, "lower", secPolicy(`{"Effect": "Allow", "Action": "YUNDUN-DDOSCOO:describeinstances", "Resource": "*"}`))
	disabled := secUser(t, s, "disabled", all)
	deleted := secUser(t, s, "deleted", all)
	bExpired := s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: secKeyB, ExpireIn: "-1h"})[0]
	for _, k := range []secKey{reader, operator, wide, foreign, temp, casey, lower, disabled, deleted} {
		e.secrets = append(e.secrets, k.secret)
	}
	aExpired := e.aExpired.InstanceId
	aPro := e.aPro.InstanceId

	var forbidden []string // RequestIds of Forbidden.RAM answers, for the audit check
	call := func(k secKey, action string, extra map[string]string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			r := secSend(t, s, k.v1(action, extra))
			if r.Status == http.StatusForbidden {
				forbidden = append(forbidden, r.RequestID)
			}
			return r
		}
	}
	callV3 := func(k secKey, action string, query map[string]string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			r, _, _ := k.v3(s, action, query).sign()
			res := secSend(t, s, r)
			if res.Status == http.StatusForbidden {
				forbidden = append(forbidden, res.RequestID)
			}
			return res
		}
	}
	// sameAsGhostFor is B-style probing by a RAM user of A: naming another
	// account's instance gets exactly a never-existing ID's answer.
	sameAsGhostFor := func(k secKey, action string, extra map[string]string, id string) func(t *testing.T) rawResponse {
		return func(t *testing.T) rawResponse {
			with := func(id string) rawResponse {
				p := map[string]string{"InstanceId": id}
				for k, v := range extra {
					p[k] = v
				}
				return secSend(t, s, k.v1(action, p))
			}
			got, want := with(id), with(ghostID(id))
			if g, w := secNormal(got, id), secNormal(want, ghostID(id)); g != w {
				t.Errorf("%s of another account's %s got\n%s\nbut a never-existing ID gets\n%s", action, id, g, w)
			}
			return got
		}
	}
	control := func(name string, k secKey, action string, extra map[string]string) {
		t.Run("control: "+name, func(t *testing.T) { secWant(t, secSend(t, s, k.v1(action, extra)), 200, "") })
	}
	control("reader may describe", reader, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	control("operator may rename", operator, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": secRemark})
	control("a case-variant Allow allows", lower, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	control("temp may rename before its policy goes", temp, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": secRemark})

	session := secSTS(t, s, "operator", describeOnly)
	control("the narrowed session may describe", session, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})
	other := secSTS(t, s, "operator", "")
	widened := secSTS(t, s, "reader", secPolicy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`))
	for _, k := range []secKey{session, other, widened} {
		e.secrets = append(e.secrets, k.secret, k.token)
	}

	ctx := context.Background()
	if err := s.Admin.DeletePolicy(ctx, secAcctA, "temp", "main"); err != nil {
		t.Fatalf("delete temp's policy: %v", err)
	}
	if err := s.Admin.SetKeyStatus(ctx, disabled.id, "Inactive"); err != nil {
		t.Fatalf("disable key: %v", err)
	}
	if err := s.Admin.DeleteKey(ctx, deleted.id); err != nil {
		t.Fatalf("delete key: %v", err)
	}

	bssCreate := bssParamsOf(map[string]string{"ProductType": "ddoscoo", "SubscriptionType": "Subscription", "Period": "1", "Parameter.1.Code": "PortCount", "Parameter.1.Value": "60"})
	users := "/_moat/v1/accounts/" + secAcctA + "/users"
	signedAdmin := keyA.v1("DescribeInstances", nil) // a valid v1 signature, on the wrong surface
	secRun(t, []secAttack{
		// A Describe*-only user tries to write.
		{name: "reader ReleaseInstance", status: 403, code: "Forbidden.RAM", send: call(reader, "ReleaseInstance", map[string]string{"InstanceId": aExpired})},
		{name: "reader ReleaseInstance (v3)", status: 403, code: "Forbidden.RAM", send: callV3(reader, "ReleaseInstance", map[string]string{"InstanceId": aExpired})},
		{name: "reader ModifyInstance", status: 403, code: "Forbidden.RAM", send: call(reader, "ModifyInstance", map[string]string{"InstanceId": aPro, "ModifyType": "Upgrade", "ProductType": "ddoscoo", "PortCount": "65"})},
		{name: "reader ModifyInstanceRemark", status: 403, code: "Forbidden.RAM", send: call(reader, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": "owned"})},
		{name: "reader CreateTagResources", status: 403, code: "Forbidden.RAM", send: call(reader, "CreateTagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "INSTANCE", "ResourceIds.1": aPro, "Tags.1.Key": "owned", "Tags.1.Value": "x"})},
		{name: "reader DeleteTagResources", status: 403, code: "Forbidden.RAM", send: call(reader, "DeleteTagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "INSTANCE", "ResourceIds.1": aPro, "All": "true"})},
		{name: "reader BSS CreateInstance", status: 403, code: "Forbidden.RAM", send: call(reader, "CreateInstance", bssCreate)},
		{name: "reader BSS RenewInstance", status: 403, code: "Forbidden.RAM", send: call(reader, "RenewInstance", bssParamsOf(map[string]string{"ProductType": "ddoscoo", "InstanceId": aPro, "RenewPeriod": "1"}))},
		{name: "reader BSS ModifyInstance", status: 403, code: "Forbidden.RAM", send: call(reader, "ModifyInstance", bssParamsOf(map[string]string{"ProductType": "ddoscoo", "InstanceId": aPro, "ModifyType": "Upgrade", "Parameter.1.Code": "PortCount", "Parameter.1.Value": "65"}))},
		{name: "reader BSS SetRenewal", status: 403, code: "Forbidden.RAM", send: call(reader, "SetRenewal", bssParamsOf(map[string]string{"ProductType": "ddoscoo", "InstanceIDs": aPro, "RenewalStatus": "AutoRenewal", "RenewalPeriod": "1"}))},
		{name: "reader BSS QueryAvailableInstances", status: 403, code: "Forbidden.RAM", send: call(reader, "QueryAvailableInstances", bssParamsOf(nil))},
		{name: "reader releaseinstance in lower case", status: 404, code: "InvalidAction.NotFound", send: call(reader, "releaseinstance", map[string]string{"InstanceId": aExpired})},
		{name: "reader RELEASEINSTANCE in upper case", status: 404, code: "InvalidAction.NotFound", send: call(reader, "RELEASEINSTANCE", map[string]string{"InstanceId": aExpired})},
		{name: "reader ReleaseInstance of another account's instance", status: 403, code: "Forbidden.RAM", send: call(reader, "ReleaseInstance", map[string]string{"InstanceId": bExpired.InstanceId})},
		{name: "reader DescribeInstanceStatus of another account's instance", status: 404, code: "InstanceNotFound", send: sameAsGhostFor(reader, "DescribeInstanceStatus", map[string]string{"ProductType": "1"}, bExpired.InstanceId)},
		// The admin API is not for keys, whatever they sign.
		{checked: true, name: "reader reads the audit log without a token", status: 401, send: secAdminRefused(s, "GET", "/_moat/v1/audit", "", "")},
		{checked: true, name: "reader grants itself a policy without a token", status: 401, send: secAdminRefused(s, "PUT", users+"/reader/policies/escalate", "", secPolicy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`))},
		{checked: true, name: "reader uses its secret as the admin token", status: 401, send: secAdminRefused(s, "PUT", users+"/reader/policies/escalate", "Bearer "+reader.secret, secPolicy(`{"Effect": "Allow", "Action": "*", "Resource": "*"}`))},
		{checked: true, name: "reader uses its AccessKeyId as the admin token", status: 401, send: secAdminRefused(s, "POST", users, "Bearer "+reader.id, `{"UserName": "evil"}`)},
		{checked: true, name: "reader issues itself STS with a signed query", status: 401, send: secAdminRefused(s, "POST", users+"/reader/sts?"+signedAdmin.RawQuery, "", `{}`)},
		{checked: true, name: "reader signs an admin call with v3", status: 401, send: func(t *testing.T) rawResponse {
			r, _, _ := reader.v3(s, "DescribeInstances", nil).sign()
			return secAdminRefused(s, "GET", "/_moat/v1/audit", r.Header.Get("Authorization"), "")(t)
		}},
		{checked: true, name: "reader enables a disabled key without a token", status: 401, send: secAdminRefused(s, "PATCH", "/_moat/v1/access-keys/"+url.PathEscape(disabled.id), "", `{"Status": "Active"}`)},
		// Another account's instances, whatever the policy says.
		{name: "wide user ReleaseInstance of another account's instance", status: 404, code: "InstanceNotFound", send: sameAsGhostFor(wide, "ReleaseInstance", nil, bExpired.InstanceId)},
		{name: "wide user ModifyInstanceRemark of another account's instance", status: 404, code: "InstanceNotFound", send: sameAsGhostFor(wide, "ModifyInstanceRemark", map[string]string{"Remark": "owned"}, bExpired.InstanceId)},
		{name: "policy naming another account's instances: ReleaseInstance there", status: 403, code: "Forbidden.RAM", send: call(foreign, "ReleaseInstance", map[string]string{"InstanceId": bExpired.InstanceId})},
		{name: "policy naming another account's instances: ReleaseInstance here", status: 403, code: "Forbidden.RAM", send: call(foreign, "ReleaseInstance", map[string]string{"InstanceId": aExpired})},
		// STS sessions.
		{name: "narrowed session ModifyInstanceRemark its user may do", status: 403, code: "Forbidden.RAM", send: call(session, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": "owned"})},
		{name: "narrowed session ModifyInstanceRemark (v3)", status: 403, code: "Forbidden.RAM", send: callV3(session, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": "owned"})},
		{name: "session policy wider than the user: ReleaseInstance", status: 403, code: "Forbidden.RAM", send: call(widened, "ReleaseInstance", map[string]string{"InstanceId": aExpired})},
		{name: "session key without its token", status: 400, code: "InvalidSecurityToken.MalformedToken", send: call(secKey{id: session.id, secret: session.secret}, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		{name: "session key with a tampered token", status: 400, code: "InvalidSecurityToken.MalformedToken", send: call(secKey{id: session.id, secret: session.secret, token: alterLast(session.token)}, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		{name: "session key with another session's token", status: 400, code: "InvalidSecurityToken.MalformedToken", send: call(secKey{id: session.id, secret: session.secret, token: other.token}, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": "owned"})},
		{name: "user key with a session's token", status: 400, code: "InvalidSecurityToken.MalformedToken", send: call(secKey{id: operator.id, secret: operator.secret, token: session.token}, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		// Policies and keys taken away take effect at once.
		{name: "deleted policy: ModifyInstanceRemark", status: 403, code: "Forbidden.RAM", send: call(temp, "ModifyInstanceRemark", map[string]string{"InstanceId": aPro, "Remark": "owned"})},
		{name: "deleted policy: DescribeInstances", status: 403, code: "Forbidden.RAM", send: call(temp, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		{name: "disabled key", status: 400, code: "InvalidAccessKeyId.Inactive", send: call(disabled, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		{name: "disabled key (v3)", status: 400, code: "InvalidAccessKeyId.Inactive", send: callV3(disabled, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		{name: "deleted key", status: 404, code: "InvalidAccessKeyId.NotFound", send: call(deleted, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"})},
		// Actions match case-insensitively in policies, as in RAM.
		{name: "Deny yundun-ddoscoo:releaseinstance denies ReleaseInstance", status: 403, code: "Forbidden.RAM", send: call(casey, "ReleaseInstance", map[string]string{"InstanceId": aExpired})},
		{name: "Allow YUNDUN-DDOSCOO:describeinstances allows nothing else", status: 403, code: "Forbidden.RAM", send: call(lower, "DescribeInstanceIds", nil)},
	})
	control("casey may do what the Deny does not name", casey, "DescribeInstanceIds", nil)
	t.Run("A's expired instance survived every attempt", func(t *testing.T) {
		var d rawDescribe
		rawOKJSON(t, secSend(t, s, keyA.v1("DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10", "InstanceIds.1": aExpired})), &d)
		if d.TotalCount != 1 {
			t.Fatalf("A's expired instance: TotalCount %d, want 1", d.TotalCount)
		}
	})
	t.Run("every Forbidden.RAM refusal is audited", func(t *testing.T) {
		recs, err := s.Admin.Audit(context.Background(), url.Values{"AccountId": {secAcctA}})
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		byID := map[string]admin.AuditRecord{}
		for _, r := range recs {
			byID[r.RequestId] = r
		}
		if len(forbidden) < 20 {
			t.Fatalf("only %d Forbidden.RAM answers recorded", len(forbidden))
		}
		for _, id := range forbidden {
			r, ok := byID[id]
			if !ok {
				t.Errorf("no audit record for the refused request %s", id)
				continue
			}
			if r.Code != "Forbidden.RAM" || !strings.HasPrefix(r.Principal, "user/") && !strings.HasPrefix(r.Principal, "sts/") {
				t.Errorf("audit record %+v: want Code Forbidden.RAM by a user or session", r)
			}
		}
	})
}

// TestAlterLastNeverReturnsItsInput pins the tampered-token case of the
// security suite: it once appended "x" in place of the last character,
// which left one token in 62 unchanged and let the attack pass by chance.
func TestAlterLastNeverReturnsItsInput(t *testing.T) {
	for _, s := range []string{"abcx", "abcy", "x", "token=="} {
		if got := alterLast(s); got == s || len(got) != len(s) || got[:len(s)-1] != s[:len(s)-1] {
			t.Errorf("alterLast(%q) = %q; want the same string but for a different last character", s, got)
		}
	}
}
