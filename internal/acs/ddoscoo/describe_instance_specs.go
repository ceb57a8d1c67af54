package ddoscoo

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// Fixed specification values moat does not model. They are the values of
// the documented response example (doc 91491): 5,000 new connections and
// 100,000 concurrent connections per second, and RealLimitBw 0 (no
// bandwidth cap configured).
const (
	specCpsLimit    = 5000
	specConnLimit   = 100000
	specRealLimitBw = 0
)

// domainsPerSite is how many protected domains come with one site (a
// primary domain): SiteLimit = DomainLimit / 10, rounded down (DomainCount
// is at least 50, so it is at least 5). The documented example pairs
// DomainLimit 50 with SiteLimit 5.
const domainsPerSite = 10

// unlimitedDefenseCount is DefenseCount's "unlimited" (-1): moat counts no
// advanced mitigation sessions.
const unlimitedDefenseCount = -1

// DescribeInstanceSpecsRequest is DescribeInstanceSpecs' parameters.
type DescribeInstanceSpecsRequest struct {
	InstanceIds []string `acs:"InstanceIds,required,resource"`
}

// InstanceSpec is an item of DescribeInstanceSpecs' InstanceSpecs list,
// with sdk-go v1's types (int, and int64 for the four newer fields).
// DefenseCount is returned only in ap-southeast-1 (doc 91491).
type InstanceSpec struct {
	InstanceId       string
	FunctionVersion  string
	BaseBandwidth    int
	ElasticBandwidth int
	BandwidthMbps    int
	ElasticBw        int
	ElasticBwModel   string
	QpsLimit         int
	ElasticQps       int64
	ElasticQpsMode   string
	PortLimit        int
	DomainLimit      int
	SiteLimit        int
	DefenseCount     *int `json:"DefenseCount,omitempty" xml:"DefenseCount,omitempty"`
	CpsLimit         int64
	ConnLimit        int64
	RealLimitBw      int64
}

// DescribeInstanceSpecsResponse is DescribeInstanceSpecs' body.
type DescribeInstanceSpecsResponse struct {
	acs.Response
	InstanceSpecs []InstanceSpec
}

// elasticBwModel names the 95th-percentile burst billing of the spec
// (95BurstBandwidthMode 1 daily, 2 monthly; 0 none).
func elasticBwModel(mode int) string {
	switch mode {
	case 1:
		return "day"
	case 2:
		return "month"
	}
	return ""
}

func instanceSpecOf(v moat.InstanceView) InstanceSpec {
	s := &v.Spec
	out := InstanceSpec{
		InstanceId: v.ID, FunctionVersion: s.FunctionVersionName(),
		BaseBandwidth: s.BaseBandwidth, ElasticBandwidth: s.Bandwidth,
		BandwidthMbps: s.CleanBandwidth(v.ProductType), ElasticBwModel: elasticBwModel(s.BurstMode),
		QpsLimit: s.NormalQps, PortLimit: s.PortCount, DomainLimit: s.DomainCount,
		SiteLimit: s.DomainCount / domainsPerSite,
		CpsLimit:  specCpsLimit, ConnLimit: specConnLimit, RealLimitBw: specRealLimitBw,
	}
	if v.Region == moat.RegionOverseas {
		n := unlimitedDefenseCount
		out.DefenseCount = &n
	}
	return out
}

// DescribeInstanceSpecs reports each instance's purchased specification,
// including the PortLimit and DomainLimit that forwarding rules will be
// held to. An ID that is not the caller's in the region is
// InstanceNotFound.
func (h *handlers) DescribeInstanceSpecs(ctx context.Context, call *acs.Call, req *DescribeInstanceSpecsRequest) (*DescribeInstanceSpecsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	list, err := h.svc.Instances(ctx, call.Caller, region, req.InstanceIds)
	if err != nil {
		return nil, moat.Rename(err, instanceParams)
	}
	resp := &DescribeInstanceSpecsResponse{InstanceSpecs: make([]InstanceSpec, 0, len(list))}
	for _, v := range list {
		resp.InstanceSpecs = append(resp.InstanceSpecs, instanceSpecOf(v))
	}
	return resp, nil
}
