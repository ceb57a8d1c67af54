package e2e

import (
	"errors"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// ghostID returns an ID of the same shape as id (same prefix, same length,
// same alphabet) that was never issued.
func ghostID(id string) string {
	i := strings.LastIndex(id, "-") + 1
	return id[:i] + strings.Repeat("q", len(id)-i)
}

// sameAsGhost checks that err, from a call naming realID, is exactly the
// error of the same call naming ghost, an ID that never existed: the same
// HTTP status and Code (404 InstanceNotFound), and the same Message once
// the ID text is substituted.
func sameAsGhost(t testing.TB, label string, err, ghostErr error, realID, ghost string) {
	t.Helper()
	want := v1Error(t, ghostErr, 404, "InstanceNotFound")
	var got *sdkerrors.ServerError
	if !errors.As(err, &got) {
		t.Errorf("%s: err = %v, want the never-existing ID's error %d %s %q", label, err, want.HttpStatus(), want.ErrorCode(), want.Message())
		return
	}
	if got.HttpStatus() != want.HttpStatus() || got.ErrorCode() != want.ErrorCode() ||
		strings.ReplaceAll(got.Message(), realID, ghost) != want.Message() {
		t.Errorf("%s: got HTTP %d %s %q; a never-existing ID gets HTTP %d %s %q",
			label, got.HttpStatus(), got.ErrorCode(), got.Message(), want.HttpStatus(), want.ErrorCode(), want.Message())
	}
}

// probe runs the three single-instance calls of one client against id.
type probe struct {
	t *testing.T
	c *ddoscoo.Client
}

func (p probe) release(id string) error {
	req := ddoscoo.CreateReleaseInstanceRequest()
	req.InstanceId = id
	_, err := p.c.ReleaseInstance(req)
	return err
}

func (p probe) rename(id string) error {
	req := ddoscoo.CreateModifyInstanceRemarkRequest()
	req.InstanceId, req.Remark = id, "taken over"
	_, err := p.c.ModifyInstanceRemark(req)
	return err
}

func (p probe) status(productType string) func(id string) error {
	return func(id string) error {
		req := ddoscoo.CreateDescribeInstanceStatusRequest()
		req.InstanceId, req.ProductType = id, requests.Integer(productType)
		resp, err := p.c.DescribeInstanceStatus(req)
		if err == nil {
			p.t.Errorf("DescribeInstanceStatus(%s, ProductType %s) = status %d, want InstanceNotFound", id, productType, resp.InstanceStatus)
		}
		return err
	}
}

// invisible checks that DescribeInstances and DescribeInstanceIds through p
// answer a filter on id exactly as a filter on a never-existing ID: nothing.
func (p probe) invisible(label, id string) {
	p.t.Helper()
	for _, x := range []string{id, ghostID(id)} {
		resp := v1List(p.t, p.c, func(r *ddoscoo.DescribeInstancesRequest) { r.InstanceIds = &[]string{x} })
		if resp.TotalCount != 0 || len(resp.Instances) != 0 {
			p.t.Errorf("%s: DescribeInstances(InstanceIds=%s) = TotalCount %d %v, want nothing", label, x, resp.TotalCount, instanceIDsOf(resp.Instances))
		}
		req := ddoscoo.CreateDescribeInstanceIdsRequest()
		req.InstanceIds = &[]string{x}
		ids, err := p.c.DescribeInstanceIds(req)
		if err != nil {
			p.t.Fatalf("%s: DescribeInstanceIds: %v", label, err)
		}
		if len(ids.InstanceIds) != 0 {
			p.t.Errorf("%s: DescribeInstanceIds(InstanceIds=%s) = %v, want nothing", label, x, instanceIDsOf(ids.InstanceIds))
		}
	}
}

// TestIsolationBetweenAccounts pins that a second account can neither see
// (DescribeInstances, DescribeInstanceIds), rename, query the status of,
// nor release the first account's instances, and that each refusal is
// exactly what a never-existing ID of the same shape gets; the first
// account's instance is untouched afterwards.
func TestIsolationBetweenAccounts(t *testing.T) {
	s := StartServer(t)
	x := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h", Remark: "owned by A"})
	const acct, key, secret = "1000000000000009", "LTAIisolationaccountb009", "isolation-account-b-secret-09"
	s.CreateAccount(t, acct, key, secret)
	mine := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	b := probe{t, SDKv1(t, s, "cn-hangzhou", key, secret)}
	ghost := ghostID(x.InstanceId)

	list := v1List(t, b.c, nil)
	wantIDSet(t, "account B's DescribeInstances", list, mine.InstanceId)
	ids, err := b.c.DescribeInstanceIds(ddoscoo.CreateDescribeInstanceIdsRequest())
	if err != nil {
		t.Fatalf("DescribeInstanceIds: %v", err)
	}
	if got := instanceIDsOf(ids.InstanceIds); len(got) != 1 || got[0] != mine.InstanceId {
		t.Errorf("account B's DescribeInstanceIds = %v, want only %s", got, mine.InstanceId)
	}
	b.invisible("account B", x.InstanceId)

	for name, call := range map[string]func(string) error{
		"ModifyInstanceRemark":   b.rename,
		"DescribeInstanceStatus": b.status("1"),
		"ReleaseInstance":        b.release,
	} {
		sameAsGhost(t, "account B "+name, call(x.InstanceId), call(ghost), x.InstanceId, ghost)
	}

	a := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	if in := v1Instance(t, a, x.InstanceId); in.Remark != "owned by A" || in.Status != 2 {
		t.Fatalf("account A's instance after B's attempts: %+v, want Remark %q and Status 2", in, "owned by A")
	}
	if evs := eventsOfType(t, s, x.InstanceId, "released"); len(evs) != 0 {
		t.Fatalf("account B released account A's instance: %+v", evs)
	}
}

// TestIsolationBetweenRegions pins that an instance addressed in the other
// region (RegionId ap-southeast-1 for a cn-hangzhou instance, ProductType 2
// for status, and the reverse for a Premium instance) is invisible and
// refused exactly like a never-existing ID of the same shape.
func TestIsolationBetweenRegions(t *testing.T) {
	s := StartServer(t)
	pro := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h", Remark: "hz"})
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "-1h", Remark: "sg"})
	cases := []struct {
		name        string
		in          admin.Instance
		region      string
		productType string
	}{
		{"cn-hangzhou instance in ap-southeast-1", pro, "ap-southeast-1", "2"},
		{"ap-southeast-1 instance in cn-hangzhou", premium, "cn-hangzhou", "1"},
	}
	for _, tc := range cases {
		p := probe{t, SDKv1(t, s, tc.region, testKeyID, testKeySecret)}
		id, ghost := tc.in.InstanceId, ghostID(tc.in.InstanceId)
		p.invisible(tc.name, id)
		for name, call := range map[string]func(string) error{
			"ModifyInstanceRemark":   p.rename,
			"DescribeInstanceStatus": p.status(tc.productType),
			"ReleaseInstance":        p.release,
		} {
			sameAsGhost(t, tc.name+": "+name, call(id), call(ghost), id, ghost)
		}
		home := SDKv1(t, s, tc.in.RegionId, testKeyID, testKeySecret)
		if in := v1Instance(t, home, id); in.Remark != tc.in.Remark {
			t.Fatalf("%s: remark changed to %q", tc.name, in.Remark)
		}
	}
}

// TestIsolationReleasedInstance pins that a released instance is gone like
// one that never existed: releasing or renaming it again gets exactly the
// never-existing ID's InstanceNotFound, and another account asking its
// status gets the same (only the owner sees status 4).
func TestIsolationReleasedInstance(t *testing.T) {
	s := StartServer(t)
	y := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	const acct, key, secret = "1000000000000010", "LTAIisolationaccountc010", "isolation-account-c-secret-10"
	s.CreateAccount(t, acct, key, secret)
	a := probe{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)}
	other := probe{t, SDKv1(t, s, "cn-hangzhou", key, secret)}
	ghost := ghostID(y.InstanceId)

	if err := a.release(y.InstanceId); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	sameAsGhost(t, "ReleaseInstance of a released instance", a.release(y.InstanceId), a.release(ghost), y.InstanceId, ghost)
	sameAsGhost(t, "ModifyInstanceRemark of a released instance", a.rename(y.InstanceId), a.rename(ghost), y.InstanceId, ghost)
	sameAsGhost(t, "another account's DescribeInstanceStatus of a released instance", other.status("1")(y.InstanceId), other.status("1")(ghost), y.InstanceId, ghost)
	sameAsGhost(t, "another account's ReleaseInstance of a released instance", other.release(y.InstanceId), other.release(ghost), y.InstanceId, ghost)
	a.invisible("owner, after release", y.InstanceId)

	req := ddoscoo.CreateDescribeInstanceStatusRequest()
	req.InstanceId, req.ProductType = y.InstanceId, "1"
	resp, err := a.c.DescribeInstanceStatus(req)
	if err != nil {
		t.Fatalf("owner's DescribeInstanceStatus of the released instance: %v", err)
	}
	if resp.InstanceStatus != 4 {
		t.Fatalf("owner's DescribeInstanceStatus = %d, want 4 (released)", resp.InstanceStatus)
	}
}
