package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// DescribeHealthCheckStatusRequest is DescribeHealthCheckStatus'
// parameters: NetworkRules is a JSON array of
// {"InstanceId","Protocol","FrontendPort"}.
type DescribeHealthCheckStatusRequest struct {
	NetworkRules string `acs:"NetworkRules,required"`
}

// ResourceIDs names the instances whose rules are read.
func (r *DescribeHealthCheckStatusRequest) ResourceIDs() []string {
	return ruleInstances(r.NetworkRules)
}

// HealthCheckStatus is an item of DescribeHealthCheckStatus'
// HealthCheckStatus list: a rule's health (normal or abnormal) and its
// origins'.
type HealthCheckStatus struct {
	InstanceId           string
	Protocol             string
	FrontendPort         int
	Status               string
	RealServerStatusList []RealServerStatus
}

// RealServerStatus is one origin's health.
type RealServerStatus struct {
	Address string
	Status  string
}

// DescribeHealthCheckStatusResponse is DescribeHealthCheckStatus' body.
type DescribeHealthCheckStatusResponse struct {
	acs.Response
	HealthCheckStatus []HealthCheckStatus
}

// DescribeHealthCheckStatus reports the health of the rules named and of
// their origins; a rule that does not exist (or another account's) is
// left out.
func (h *handlers) DescribeHealthCheckStatus(ctx context.Context, call *acs.Call, req *DescribeHealthCheckStatusRequest) (*DescribeHealthCheckStatusResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	keys, err := parseKeys("NetworkRules", req.NetworkRules)
	if err != nil {
		return nil, err
	}
	list, err := h.svc.HealthStatuses(ctx, call.Caller, region, keys)
	if err != nil {
		return nil, err
	}
	resp := &DescribeHealthCheckStatusResponse{HealthCheckStatus: make([]HealthCheckStatus, 0, len(list))}
	for _, s := range list {
		origins := make([]RealServerStatus, 0, len(s.RealServers))
		for _, o := range s.RealServers {
			origins = append(origins, RealServerStatus{Address: o.Address, Status: o.Status})
		}
		resp.HealthCheckStatus = append(resp.HealthCheckStatus, HealthCheckStatus{
			InstanceId: s.InstanceID, Protocol: s.Protocol, FrontendPort: s.FrontendPort,
			Status: s.Status, RealServerStatusList: origins,
		})
	}
	return resp, nil
}
