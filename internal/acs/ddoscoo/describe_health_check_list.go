package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeHealthCheckListRequest is DescribeHealthCheckList's parameters:
// NetworkRules is a JSON array of {"InstanceId","Protocol","FrontendPort"}.
type DescribeHealthCheckListRequest struct {
	NetworkRules string `acs:"NetworkRules,required"`
}

// ResourceIDs names the instances whose rules are read.
func (r *DescribeHealthCheckListRequest) ResourceIDs() []string {
	return ruleInstances(r.NetworkRules)
}

// HealthCheckItem is an item of DescribeHealthCheckList's HealthCheckList.
type HealthCheckItem struct {
	InstanceId   string
	Protocol     string
	FrontendPort int
	HealthCheck  HealthCheck
}

// HealthCheck is a rule's health check. Type "" is none; Domain and Uri
// are the http check's.
type HealthCheck struct {
	Type     string
	Domain   string
	Uri      string
	Port     int
	Interval int
	Timeout  int
	Up       int
	Down     int
}

// DescribeHealthCheckListResponse is DescribeHealthCheckList's body.
type DescribeHealthCheckListResponse struct {
	acs.Response
	HealthCheckList []HealthCheckItem
}

// DescribeHealthCheckList reports the health checks of the rules named; a
// rule that does not exist (or another account's) is left out.
func (h *handlers) DescribeHealthCheckList(ctx context.Context, call *acs.Call, req *DescribeHealthCheckListRequest) (*DescribeHealthCheckListResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	keys, err := parseKeys("NetworkRules", req.NetworkRules)
	if err != nil {
		return nil, err
	}
	rules, err := h.svc.LookupPortRules(ctx, call.Caller, region, keys)
	if err != nil {
		return nil, err
	}
	resp := &DescribeHealthCheckListResponse{HealthCheckList: make([]HealthCheckItem, 0, len(rules))}
	for _, r := range rules {
		c := r.HealthCheck
		resp.HealthCheckList = append(resp.HealthCheckList, HealthCheckItem{
			InstanceId: r.InstanceID, Protocol: r.Protocol, FrontendPort: r.FrontendPort,
			HealthCheck: HealthCheck{
				Type: c.Type, Domain: c.Domain, Uri: c.URI, Port: c.Port,
				Interval: c.Interval, Timeout: c.Timeout, Up: c.Up, Down: c.Down,
			},
		})
	}
	return resp, nil
}

// healthCheckOf converts a HealthCheck JSON to the domain's.
func healthCheckOf(c HealthCheck) moat.HealthCheck {
	return moat.HealthCheck{
		Type: c.Type, Domain: c.Domain, URI: c.Uri, Port: c.Port,
		Interval: c.Interval, Timeout: c.Timeout, Up: c.Up, Down: c.Down,
	}
}
