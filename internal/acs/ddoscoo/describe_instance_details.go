package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeInstanceDetailsRequest is DescribeInstanceDetails' parameters.
type DescribeInstanceDetailsRequest struct {
	InstanceIds []string `acs:"InstanceIds,required,resource"`
}

// EipInfo is an item of an instance detail's EipInfos list: one service IP.
// FunctionVersion, CertConfigured, Ssl13Enabled and TlsVersion are the
// fields newer API versions document; sdk-go v1 ignores them.
type EipInfo struct {
	Eip             string
	Status          string
	IpMode          string
	IpVersion       string
	FunctionVersion string
	CertConfigured  bool
	Ssl13Enabled    bool
	TlsVersion      string
}

// InstanceDetail is an item of DescribeInstanceDetails' InstanceDetails
// list. FunctionVersion and EipList are sdk-go v1's fields (its
// InstanceDetail struct has them); the documented ones are InstanceId,
// Line and EipInfos.
type InstanceDetail struct {
	InstanceId      string
	Line            string
	FunctionVersion string
	EipList         []string
	EipInfos        []EipInfo
}

// DescribeInstanceDetailsResponse is DescribeInstanceDetails' body.
type DescribeInstanceDetailsResponse struct {
	acs.Response
	InstanceDetails []InstanceDetail
}

// eipStatus is an IP's state: "normal" until the instance expires, then
// "expired". moat has no attacks, so defense, blackhole and punished never
// occur.
func eipStatus(v moat.InstanceView) string {
	if v.Status == moat.StatusNormal {
		return "normal"
	}
	return "expired"
}

// DescribeInstanceDetails reports each instance's line and service IP. An
// ID that is not the caller's in the region is InstanceNotFound.
func (h *handlers) DescribeInstanceDetails(ctx context.Context, call *acs.Call, req *DescribeInstanceDetailsRequest) (*DescribeInstanceDetailsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	list, err := h.svc.Instances(ctx, call.Caller, region, req.InstanceIds)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribeInstanceDetailsResponse{InstanceDetails: make([]InstanceDetail, 0, len(list))}
	for _, v := range list {
		fv := v.Spec.FunctionVersionName()
		resp.InstanceDetails = append(resp.InstanceDetails, InstanceDetail{
			InstanceId: v.ID, Line: v.Spec.ServicePartner, FunctionVersion: fv,
			EipList: []string{v.IP},
			EipInfos: []EipInfo{{
				Eip: v.IP, Status: eipStatus(v), IpMode: ipMode, IpVersion: ipVersion,
				FunctionVersion: fv,
			}},
		})
	}
	return resp, nil
}
