package ddoscoo

import (
	"context"
	"errors"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// fakeService answers the one call a test makes; any other method panics
// (the embedded interface is nil), so a handler that calls more than it
// should fails loudly.
type fakeService struct {
	Service
	remark   func(c moat.Caller, region moat.Region, id, remark string) error
	describe func(q moat.DescribeQuery) (moat.Page, error)
}

func (f *fakeService) DescribeInstances(_ context.Context, _ moat.Caller, q moat.DescribeQuery) (moat.Page, error) {
	return f.describe(q)
}

func (f *fakeService) ModifyInstanceRemark(_ context.Context, c moat.Caller, region moat.Region, id, remark string) error {
	return f.remark(c, region, id, remark)
}

// TestModifyInstanceRemarkHandler pins the thin handler against a fake
// service: it passes the caller, the call's region and the decoded
// parameters through unchanged, and returns the service's error as it is.
func TestModifyInstanceRemarkHandler(t *testing.T) {
	type got struct {
		caller     moat.Caller
		region     moat.Region
		id, remark string
	}
	var calls []got
	fail := error(nil)
	h := &handlers{svc: &fakeService{remark: func(c moat.Caller, region moat.Region, id, remark string) error {
		calls = append(calls, got{c, region, id, remark})
		return fail
	}}}
	action := acs.Handle(h.ModifyInstanceRemark)
	caller := moat.Caller{AccountID: "1000000000000001", AccessKeyID: "AK1"}
	params := func(region string) map[string]string {
		return map[string]string{"RegionId": region, "InstanceId": "ddoscoo-intl-sg-abc", "Remark": "web"}
	}
	call := &acs.Call{Action: "ModifyInstanceRemark", Caller: caller, Params: params("ap-southeast-1")}

	resp, err := action.Invoke(context.Background(), call)
	if err != nil || resp == nil {
		t.Fatalf("ModifyInstanceRemark = %v, %v; want a response", resp, err)
	}
	want := got{caller, moat.RegionOverseas, "ddoscoo-intl-sg-abc", "web"}
	if len(calls) != 1 || calls[0] != want {
		t.Fatalf("service calls %+v, want one %+v", calls, want)
	}

	fail = moat.Errorf(moat.CodeInstanceNotFound, "The specified instance %q is not found.", "ddoscoo-intl-sg-abc")
	if _, err := action.Invoke(context.Background(), call); !errors.Is(err, fail) {
		t.Fatalf("error %v, want the service's %v", err, fail)
	}

	// A region that does not parse is refused before the service is asked.
	calls = nil
	bad := &acs.Call{Caller: caller, Params: params("mars-1")}
	if _, err := action.Invoke(context.Background(), bad); moat.AsError(err).Code != moat.CodeInvalidRegionID {
		t.Fatalf("bad region: %v, want %s", err, moat.CodeInvalidRegionID)
	}
	if len(calls) != 0 {
		t.Fatalf("the service was called for a bad region: %+v", calls)
	}
}

// TestDescribeInstancesNamesWireParams pins the mapping of the domain's
// input names to DescribeInstances' parameters in an error: the client
// reads the name it sent (InstanceIds, Status, Tag), not the domain's.
func TestDescribeInstancesNamesWireParams(t *testing.T) {
	cases := []struct{ domain, wire string }{
		{"IDs", "InstanceIds"},
		{"Statuses", "Status"},
		{"Tags", "Tag"},
		{"PageSize", "PageSize"},
	}
	for _, c := range cases {
		h := &handlers{svc: &fakeService{describe: func(moat.DescribeQuery) (moat.Page, error) {
			return moat.Page{}, moat.InvalidParam(c.domain, "too many")
		}}}
		call := &acs.Call{Action: "DescribeInstances", Params: map[string]string{}}
		_, err := h.DescribeInstances(context.Background(), call, &DescribeInstancesRequest{PageNumber: 1, PageSize: 10})
		want := "The specified parameter " + c.wire + " value is not valid: too many."
		if e := moat.AsError(err); e.Code != moat.CodeInvalidParameter || e.Message != want {
			t.Errorf("domain %s: %s %q, want InvalidParameter %q", c.domain, e.Code, e.Message, want)
		}
	}
}
