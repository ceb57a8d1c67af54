package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeWebCcProtectSwitchRequest is DescribeWebCcProtectSwitch's
// parameters.
type DescribeWebCcProtectSwitchRequest struct {
	Domains []string `acs:"Domains,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ResourceIDs names the websites asked about, so that RAM judges each as
// domain/<name>.
func (r *DescribeWebCcProtectSwitchRequest) ResourceIDs() []string {
	out := make([]string, 0, len(r.Domains))
	for _, d := range r.Domains {
		if d != "" {
			out = append(out, moat.DomainResource(d))
		}
	}
	return out
}

// DescribeWebCcProtectSwitchResponse is its body.
type DescribeWebCcProtectSwitchResponse struct {
	acs.Response
	ProtectSwitchList []ProtectSwitch
}

// DescribeWebCcProtectSwitch reports the protection switches of the
// caller's websites among Domains; unknown domains are left out.
func (h *handlers) DescribeWebCcProtectSwitch(ctx context.Context, call *acs.Call, req *DescribeWebCcProtectSwitchRequest) (*DescribeWebCcProtectSwitchResponse, error) {
	list, err := h.protectSwitches(ctx, call, req.Domains)
	if err != nil {
		return nil, err
	}
	return &DescribeWebCcProtectSwitchResponse{ProtectSwitchList: list}, nil
}
