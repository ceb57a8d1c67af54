package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeNetworkRuleAttributesRequest is DescribeNetworkRuleAttributes'
// parameters: NetworkRules is a JSON array of
// {"InstanceId","Protocol","FrontendPort"}.
type DescribeNetworkRuleAttributesRequest struct {
	NetworkRules string `acs:"NetworkRules,required"`
}

// ResourceIDs names the instances whose rules are read.
func (r *DescribeNetworkRuleAttributesRequest) ResourceIDs() []string {
	return ruleInstances(r.NetworkRules)
}

// NetworkRuleAttribute is an item of DescribeNetworkRuleAttributes'
// NetworkRuleAttributes list.
type NetworkRuleAttribute struct {
	InstanceId   string
	Protocol     string
	FrontendPort int
	Config       RuleConfig
}

// RuleConfig is a port rule's protection settings, every field filled.
// Cc.Sblack, the automatic blacklisting of sources, is always empty:
// moat blacklists no source on its own.
type RuleConfig struct {
	PersistenceTimeout int
	Synproxy           string
	NodataConn         string
	Sla                SlaConfig
	Slimit             SlimitConfig
	PayloadLen         PayloadLenConfig
	Cc                 CcConfig
}

// SlaConfig is a rule's limits on connections to its origins.
type SlaConfig struct {
	Cps           int
	Maxconn       int
	CpsEnable     int
	MaxconnEnable int
}

// SlimitConfig is a rule's limits per source.
type SlimitConfig struct {
	Cps           int
	Maxconn       int
	Bps           int64
	Pps           int64
	CpsEnable     int
	MaxconnEnable int
	CpsMode       int
}

// PayloadLenConfig bounds the payload length of packets.
type PayloadLenConfig struct {
	Min int
	Max int
}

// CcConfig is a rule's automatic source blacklisting.
type CcConfig struct {
	Sblack []CcSblack
}

// CcSblack is one automatic blacklisting condition.
type CcSblack struct {
	Type    int
	Cnt     int
	During  int
	Expires int
}

// DescribeNetworkRuleAttributesResponse is DescribeNetworkRuleAttributes'
// body.
type DescribeNetworkRuleAttributesResponse struct {
	acs.Response
	NetworkRuleAttributes []NetworkRuleAttribute
}

// DescribeNetworkRuleAttributes reports the protection settings of the
// rules named; a rule that does not exist (or another account's) is left
// out.
func (h *handlers) DescribeNetworkRuleAttributes(ctx context.Context, call *acs.Call, req *DescribeNetworkRuleAttributesRequest) (*DescribeNetworkRuleAttributesResponse, error) {
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
	resp := &DescribeNetworkRuleAttributesResponse{NetworkRuleAttributes: make([]NetworkRuleAttribute, 0, len(rules))}
	for _, r := range rules {
		resp.NetworkRuleAttributes = append(resp.NetworkRuleAttributes, NetworkRuleAttribute{
			InstanceId: r.InstanceID, Protocol: r.Protocol, FrontendPort: r.FrontendPort,
			Config: ruleConfigOf(r.Config),
		})
	}
	return resp, nil
}

func ruleConfigOf(c moat.RuleConfig) RuleConfig {
	return RuleConfig{
		PersistenceTimeout: c.PersistenceTimeout,
		Synproxy:           c.Synproxy,
		NodataConn:         c.NodataConn,
		Sla:                SlaConfig{Cps: c.Sla.Cps, Maxconn: c.Sla.Maxconn, CpsEnable: c.Sla.CpsEnable, MaxconnEnable: c.Sla.MaxconnEnable},
		Slimit: SlimitConfig{
			Cps: c.Slimit.Cps, Maxconn: c.Slimit.Maxconn, Bps: c.Slimit.Bps, Pps: c.Slimit.Pps,
			CpsEnable: c.Slimit.CpsEnable, MaxconnEnable: c.Slimit.MaxconnEnable, CpsMode: c.Slimit.CpsMode,
		},
		PayloadLen: PayloadLenConfig{Min: c.PayloadLen.Min, Max: c.PayloadLen.Max},
		Cc:         CcConfig{Sblack: []CcSblack{}},
	}
}
