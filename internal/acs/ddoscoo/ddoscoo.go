// Package ddoscoo serves the Anti-DDoS Pro/Premium API, product ddoscoo at
// version 2020-01-01: one file per action, each with its wire request and
// response structs (Alibaba's field spelling) and a thin handler that
// converts to the domain, makes one service call and converts back.
package ddoscoo

import (
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// Version is the API version this package serves.
const Version = "2020-01-01"

// Product returns the ddoscoo action table.
func Product(svc Service) *acs.Product {
	h := &handlers{svc: svc}
	return &acs.Product{
		Name:       "ddoscoo",
		Version:    Version,
		RAMService: moat.RAMServiceDdoscoo,
		// One line per action; its file's request struct says which
		// parameters name instances (",resource") and, when it is not
		// RegionId, where its region comes from (acs.Regioned).
		Actions: map[string]acs.Action{
			"DescribeInstances":      acs.Listing(h.DescribeInstances),
			"DescribeInstanceIds":    acs.Listing(h.DescribeInstanceIds),
			"DescribeInstanceStatus": acs.Handle(h.DescribeInstanceStatus),
			"ModifyInstanceRemark":   acs.Handle(h.ModifyInstanceRemark),
			"ReleaseInstance":        acs.Handle(h.ReleaseInstance),

			"ModifyInstance":             acs.Handle(h.ModifyInstance),
			"DescribeInstanceDetails":    acs.Handle(h.DescribeInstanceDetails),
			"DescribeInstanceSpecs":      acs.Handle(h.DescribeInstanceSpecs),
			"DescribeInstanceStatistics": acs.Handle(h.DescribeInstanceStatistics),
			"DescribeInstanceExt":        acs.Listing(h.DescribeInstanceExt),

			"CreateTagResources":   acs.Handle(h.CreateTagResources),
			"DeleteTagResources":   acs.Handle(h.DeleteTagResources),
			"DescribeTagResources": acs.Listing(h.DescribeTagResources),
			"DescribeTagKeys":      acs.Listing(h.DescribeTagKeys),

			"CreatePort":                    acs.Handle(h.CreatePort),
			"ModifyPort":                    acs.Handle(h.ModifyPort),
			"DeletePort":                    acs.Handle(h.DeletePort),
			"DescribePort":                  acs.Handle(h.DescribePort),
			"CreateNetworkRules":            acs.Handle(h.CreateNetworkRules),
			"ConfigNetworkRules":            acs.Handle(h.ConfigNetworkRules),
			"DeleteNetworkRule":             acs.Handle(h.DeleteNetworkRule),
			"DescribeNetworkRules":          acs.Handle(h.DescribeNetworkRules),
			"DescribeNetworkRuleAttributes": acs.Handle(h.DescribeNetworkRuleAttributes),
			"ModifyNetworkRuleAttribute":    acs.Handle(h.ModifyNetworkRuleAttribute),
			"DescribeHealthCheckList":       acs.Handle(h.DescribeHealthCheckList),
			"ModifyHealthCheckConfig":       acs.Handle(h.ModifyHealthCheckConfig),
			"DescribeHealthCheckStatus":     acs.Handle(h.DescribeHealthCheckStatus),

			"AddAutoCcBlacklist":      acs.Handle(h.AddAutoCcBlacklist),
			"DeleteAutoCcBlacklist":   acs.Handle(h.DeleteAutoCcBlacklist),
			"DescribeAutoCcBlacklist": acs.Handle(h.DescribeAutoCcBlacklist),
			"EmptyAutoCcBlacklist":    acs.Handle(h.EmptyAutoCcBlacklist),
			"AddAutoCcWhitelist":      acs.Handle(h.AddAutoCcWhitelist),
			"DeleteAutoCcWhitelist":   acs.Handle(h.DeleteAutoCcWhitelist),
			"DescribeAutoCcWhitelist": acs.Handle(h.DescribeAutoCcWhitelist),
			"EmptyAutoCcWhitelist":    acs.Handle(h.EmptyAutoCcWhitelist),
			"DescribeAutoCcListCount": acs.Handle(h.DescribeAutoCcListCount),
			"ConfigUdpReflect":        acs.Handle(h.ConfigUdpReflect),
			"DescribeUdpReflect":      acs.Handle(h.DescribeUdpReflect),

			"CreateDomainResource":   acs.Handle(h.CreateDomainResource),
			"ModifyDomainResource":   acs.Handle(h.ModifyDomainResource),
			"DeleteDomainResource":   acs.Handle(h.DeleteDomainResource),
			"DescribeDomainResource": acs.Handle(h.DescribeDomainResource),
			"DescribeDomains":        acs.Handle(h.DescribeDomains),
			"DescribeWebRules":       acs.Handle(h.DescribeWebRules),
			"AssociateWebCert":       acs.Handle(h.AssociateWebCert),

			"ModifyWebCCGlobalSwitch":      acs.Handle(h.ModifyWebCCGlobalSwitch),
			"EnableWebCC":                  acs.Handle(h.EnableWebCC),
			"DisableWebCC":                 acs.Handle(h.DisableWebCC),
			"ConfigWebCCTemplate":          acs.Handle(h.ConfigWebCCTemplate),
			"DescribeWebCcProtectSwitch":   acs.Handle(h.DescribeWebCcProtectSwitch),
			"ConfigWebCCRuleV2":            acs.Handle(h.ConfigWebCCRuleV2),
			"DescribeWebCCRulesV2":         acs.Handle(h.DescribeWebCCRulesV2),
			"DeleteWebCCRuleV2":            acs.Handle(h.DeleteWebCCRuleV2),
			"ConfigWebIpSet":               acs.Handle(h.ConfigWebIpSet),
			"ModifyWebPreciseAccessRule":   acs.Handle(h.ModifyWebPreciseAccessRule),
			"DescribeWebPreciseAccessRule": acs.Handle(h.DescribeWebPreciseAccessRule),
			"DeleteWebPreciseAccessRule":   acs.Handle(h.DeleteWebPreciseAccessRule),
			"DescribeCerts":                acs.Handle(h.DescribeCerts),
			"ConfigL7RsPolicy":             acs.Handle(h.ConfigL7RsPolicy),
			"DescribeL7RsPolicy":           acs.Handle(h.DescribeL7RsPolicy),

			"DescribeDomainCcProtectSwitch": acs.Handle(h.DescribeDomainCcProtectSwitch),

			"DescribePortFlowList":     acs.Handle(h.DescribePortFlowList),
			"DescribePortConnsList":    acs.Handle(h.DescribePortConnsList),
			"DescribePortConnsCount":   acs.Handle(h.DescribePortConnsCount),
			"DescribePortMaxConns":     acs.Handle(h.DescribePortMaxConns),
			"DescribeDDoSEvents":       acs.Handle(h.DescribeDDoSEvents),
			"DescribeDDosAllEventList": acs.Handle(h.DescribeDDosAllEventList),

			"DescribeDomainQPSList":        acs.Handle(h.DescribeDomainQPSList),
			"DescribeDomainStatusCodeList": acs.Handle(h.DescribeDomainStatusCodeList),
			"DescribeDomainTopAttackList":  acs.Handle(h.DescribeDomainTopAttackList),
			"DescribeDomainAttackEvents":   acs.Handle(h.DescribeDomainAttackEvents),
		},
	}
}

type handlers struct {
	svc Service
}

// Instance is an item of DescribeInstances' Instances list.
type Instance struct {
	InstanceId     string
	Remark         string
	Ip             string
	Status         int
	Edition        int
	Enabled        int
	ExpireTime     int64
	CreateTime     int64
	DebtStatus     int
	IpMode         string
	IpVersion      string
	IsFirstOpenBw  int64
	IsFirstOpenQps int64
}

// instanceOf converts a domain view to the wire. moat's instances are
// IPv4 full-NAT (the documented default IpMode/IpVersion); subscription
// instances never carry debt.
func instanceOf(v moat.InstanceView) Instance {
	return Instance{
		InstanceId: v.ID, Remark: v.Remark, Ip: v.IP, Status: v.Status,
		Edition: v.Edition, Enabled: v.Enabled,
		ExpireTime: v.ExpireTime.UnixMilli(), CreateTime: v.CreateTime.UnixMilli(),
		IpMode: ipMode, IpVersion: ipVersion,
	}
}

// InstanceOf is the wire form of an instance, shared with the admin API so
// that both show the same fields.
func InstanceOf(v moat.InstanceView) Instance { return instanceOf(v) }

// ipMode and ipVersion are what every moat instance is: IPv4 full NAT
// (the pools are IPv4 only).
const (
	ipMode    = "fnat"
	ipVersion = "Ipv4"
)

// pageArgs checks optional PageNumber/PageSize parameters. Absent is 0,
// which the service reads as its default (1 and 10); a given value below 1
// is InvalidParameter, so that "0" is not silently the default.
func pageArgs(number, size *int) (int, int, error) {
	n, s := 0, 0
	if number != nil {
		if *number < 1 {
			return 0, 0, moat.InvalidParam("PageNumber", "a positive integer")
		}
		n = *number
	}
	if size != nil {
		if *size < 1 {
			return 0, 0, moat.InvalidParam("PageSize", "a positive integer")
		}
		s = *size
	}
	return n, s, nil
}

func msTime(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := time.UnixMilli(*v)
	return &t
}
