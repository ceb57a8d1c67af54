package e2e

import (
	"slices"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/bssopenapi"

	"moat/internal/admin"
)

// TestHardening_RAMDenyCrossRegionListing pins RAM on a listing that spans
// regions, through sdk-go v1 on the wire: BSS QueryAvailableInstances
// without a Region judges each instance by its own region's ARN. A Deny
// scoped to ap-southeast-1 hides that region's instance (also when the
// call names it), and an Allow scoped to cn-hangzhou lists cn-hangzhou's
// instance instead of refusing the call.
func TestHardening_RAMDenyCrossRegionListing(t *testing.T) {
	s := StartServer(t)
	ramAccount(t, s)
	hz := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "cn-hangzhou"})[0].InstanceId
	sg := s.CreateInstances(t, admin.InstancesRequest{AccountId: ramAcct, RegionId: "ap-southeast-1"})[0].InstanceId
	const action = "bss:QueryAvailableInstances"
	denySG := newRAMUser(t, s, ramAcct, "deny-sg", map[string]string{
		"all":   policyDoc(allowStmt("bss:*", "*", "")),
		"no-sg": policyDoc(denyStmt(action, "acs:yundun-ddoscoo:ap-southeast-1:*:instance/*", "")),
	})
	hzOnly := newRAMUser(t, s, ramAcct, "hz-only", map[string]string{
		"p": policyDoc(allowStmt(action, "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*", "")),
	})

	query := func(who string, u ramUser, ids string) bssopenapi.Data {
		t.Helper()
		return bssQuery(t, BSSv1(t, s, u.KeyID, u.Secret), func(r *bssopenapi.QueryAvailableInstancesRequest) {
			r.ProductCode, r.InstanceIDs = "ddos", ids
		})
	}
	want := func(what string, d bssopenapi.Data, ids ...string) {
		t.Helper()
		if got := bssBillingIDs(d); !slices.Equal(got, ids) || d.TotalCount != len(ids) {
			t.Errorf("%s: InstanceList %v TotalCount %d, want %v", what, got, d.TotalCount, ids)
		}
	}
	root := ramUser{KeyID: ramRootKey, Secret: ramRootSecret}
	want("the account's own key (control)", query("root", root, ""), hz, sg)
	want("Deny on ap-southeast-1, no region", query("deny-sg", denySG, ""), hz)
	want("Deny on ap-southeast-1, naming the denied instance", query("deny-sg", denySG, sg))
	want("Deny on ap-southeast-1, naming both", query("deny-sg", denySG, hz+","+sg), hz)
	want("Allow on cn-hangzhou only, no region", query("hz-only", hzOnly, ""), hz)
}
