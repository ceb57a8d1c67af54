package moat_test

import (
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

// TestHardening_RAMDenyCrossRegionListing pins how a listing that spans
// regions (BSS QueryAvailableInstances without a region) is judged: each
// instance by its own region's ARN. A Deny scoped to one region hides that
// region's instances (also when the call names one by ID), and an Allow
// scoped to one region shows that region's instances instead of refusing
// the whole listing.
func TestHardening_RAMDenyCrossRegionListing(t *testing.T) {
	e, _ := newRAMEnv(t)
	const action = "bss:QueryAvailableInstances"
	hour := time.Hour
	mk := func(r moat.Region) string {
		t.Helper()
		out, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, Region: r, Count: 1, ExpireIn: &hour})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].ID
	}
	hz, sg := mk(moat.RegionMainland), mk(moat.RegionOverseas)

	query := func(who string, c moat.Caller, ids []string) ([]string, int64) {
		t.Helper()
		acc, err := e.svc.ListAccess(e.ctx, &c, action, "")
		if err != nil {
			t.Fatalf("%s: ListAccess across regions: %v", who, err)
		}
		c.Access = acc
		page, err := e.svc.QueryInstances(e.ctx, c, moat.BillingQuery{IDs: ids})
		if err != nil {
			t.Fatalf("%s: QueryInstances: %v", who, err)
		}
		return listIDs(page), page.Total
	}

	denySG, _ := e.ramUser(t, e.acct, "deny-sg", map[string]string{
		"all":   policyDoc(allow("bss:*", "*", "")),
		"no-sg": policyDoc(deny(action, "acs:yundun-ddoscoo:ap-southeast-1:*:instance/*", "")),
	})
	if got, total := query("deny-sg", denySG, nil); !slices.Equal(got, []string{hz}) || total != 1 {
		t.Errorf("deny-sg without a region: %v (TotalCount %d), want only %s: the Deny on ap-southeast-1 must hide %s", got, total, hz, sg)
	}
	if got, total := query("deny-sg", denySG, []string{sg}); len(got) != 0 || total != 0 {
		t.Errorf("deny-sg naming the denied instance: %v (TotalCount %d), want nothing", got, total)
	}
	if got, total := query("deny-sg", denySG, []string{hz, sg}); !slices.Equal(got, []string{hz}) || total != 1 {
		t.Errorf("deny-sg naming both: %v (TotalCount %d), want only %s", got, total, hz)
	}

	hzOnly, _ := e.ramUser(t, e.acct, "hz-only", map[string]string{
		"p": policyDoc(allow(action, "acs:yundun-ddoscoo:cn-hangzhou:*:instance/*", "")),
	})
	if got, total := query("hz-only", hzOnly, nil); !slices.Equal(got, []string{hz}) || total != 1 {
		t.Errorf("hz-only without a region: %v (TotalCount %d), want only %s", got, total, hz)
	}

	// Per-instance patterns (not uniform over a region) are judged per
	// instance too, each with its own region's ARN.
	one, _ := e.ramUser(t, e.acct, "one", map[string]string{
		"p": policyDoc(allow(action, "*", ""), deny(action, moat.ARN(moat.RegionOverseas, e.acct, sg), "")),
	})
	if got, total := query("one", one, nil); !slices.Equal(got, []string{hz}) || total != 1 {
		t.Errorf("Deny on the sg instance's ARN: %v (TotalCount %d), want only %s", got, total, hz)
	}

	// Allowed everywhere: everything, on the fast path; allowed nowhere:
	// refused.
	all, _ := e.ramUser(t, e.acct, "all", map[string]string{"p": policyDoc(allow("bss:*", "*", ""))})
	if acc, err := e.svc.ListAccess(e.ctx, &all, action, ""); err != nil || acc != nil {
		t.Fatalf("ListAccess with bss:* on * = %+v, %v; want nil (everything)", acc, err)
	}
	nowhere, _ := e.ramUser(t, e.acct, "nowhere", map[string]string{"p": policyDoc(allow(action, "acs:yundun-ddoscoo:eu-central-1:*:instance/*", ""))})
	_, err := e.svc.ListAccess(e.ctx, &nowhere, action, "")
	denied(t, "allowed only in a region moat does not serve", err, detail(action, "SubUser", e.acct, "nowhere", "ImplicitDeny", "AccountLevelIdentityBasedPolicy"))
}
