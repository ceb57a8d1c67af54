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
func Product(svc *moat.Service) *acs.Product {
	h := &handlers{svc: svc}
	return &acs.Product{
		Name:    "ddoscoo",
		Version: Version,
		Actions: map[string]acs.Handler{
			"DescribeInstances":      acs.Handle(h.DescribeInstances),
			"DescribeInstanceIds":    acs.Handle(h.DescribeInstanceIds),
			"DescribeInstanceStatus": acs.Handle(h.DescribeInstanceStatus),
			"ModifyInstanceRemark":   acs.Handle(h.ModifyInstanceRemark),
			"ReleaseInstance":        acs.Handle(h.ReleaseInstance),
		},
	}
}

type handlers struct {
	svc *moat.Service
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
		IpMode: "fnat", IpVersion: "Ipv4",
	}
}

// InstanceOf is the wire form of an instance, shared with the admin API so
// that both show the same fields.
func InstanceOf(v moat.InstanceView) Instance { return instanceOf(v) }

func msTime(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := time.UnixMilli(*v)
	return &t
}
