package bss

import (
	"context"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// QueryAvailableInstancesRequest is QueryAvailableInstances' parameters;
// every one is an optional filter. InstanceIDs is comma-separated.
type QueryAvailableInstancesRequest struct {
	ProductCode      string        `acs:"ProductCode"`
	ProductType      string        `acs:"ProductType"`
	SubscriptionType string        `acs:"SubscriptionType"`
	Region           string        `acs:"Region"`
	InstanceIDs      acs.CommaList `acs:"InstanceIDs,resource"`
	RenewStatus      string        `acs:"RenewStatus"`
	PageNum          int           `acs:"PageNum"`
	PageSize         int           `acs:"PageSize"`
	CreateTimeStart  string        `acs:"CreateTimeStart"`
	CreateTimeEnd    string        `acs:"CreateTimeEnd"`
	EndTimeStart     string        `acs:"EndTimeStart"`
	EndTimeEnd       string        `acs:"EndTimeEnd"`
}

// CallRegion is where RAM judges the listing: the Region parameter, else
// its ProductType's, else "" (a listing across both regions, which RAM
// then judges instance by instance unless a policy covers every region).
// A Region moat does not serve is "" too: it matches nothing.
func (r *QueryAvailableInstancesRequest) CallRegion() (moat.Region, error) {
	if r.Region != "" {
		if reg, err := moat.ParseRegion(r.Region); err == nil {
			return reg, nil
		}
		return "", nil
	}
	if r.ProductType != "" {
		return acs.ProductTypeRegion(r.ProductType)
	}
	return "", nil
}

// AvailableInstance is an item of Data.InstanceList, with the field names
// and JSON types of sdk-go's bssopenapi.Instance.
type AvailableInstance struct {
	InstanceID          string
	ProductCode         string
	ProductType         string
	Region              string
	Status              string
	SubStatus           string
	SubscriptionType    string
	RenewStatus         string
	RenewalDuration     int
	RenewalDurationUnit string
	CreateTime          string
	EndTime             string
	ExpectedReleaseTime string
	StopTime            string
	ReleaseTime         string
	OwnerId             int64
	SellerId            int64
}

// QueryAvailableInstancesData is QueryAvailableInstances' Data.
type QueryAvailableInstancesData struct {
	PageNum      int
	PageSize     int
	TotalCount   int64
	InstanceList []AvailableInstance
}

// QueryAvailableInstancesResponse is QueryAvailableInstances' body.
type QueryAvailableInstancesResponse struct {
	Envelope
	Data QueryAvailableInstancesData
}

// Paging defaults of the BSS doc (PageSize: default 20, at most 300); the
// domain applies the same, these only echo them back.
const (
	defaultPageNum  = 1
	defaultPageSize = 20
)

// SellerID is the SellerId of every instance: Alibaba Cloud's own seller
// account on the China site (any fixed number would do; no client reads
// it).
const SellerID = 26842

// QueryAvailableInstances lists the caller's instances as BSS sees them.
// ProductCode and SubscriptionType, when given, must be ddos and
// Subscription (see checkProductCode); a Region moat does not serve
// simply matches nothing. Time filters are inclusive at both ends.
func (h *handlers) QueryAvailableInstances(ctx context.Context, call *acs.Call, req *QueryAvailableInstancesRequest) (*QueryAvailableInstancesResponse, error) {
	if req.ProductCode != "" {
		if err := checkProductCode(req.ProductCode); err != nil {
			return nil, err
		}
	}
	if err := checkSubscriptionType(req.SubscriptionType); err != nil {
		return nil, err
	}
	q := moat.BillingQuery{Region: moat.Region(req.Region), PageNum: req.PageNum, PageSize: req.PageSize}
	var err error
	if req.ProductType != "" {
		if q.ProductType, err = moat.ParseProductType(req.ProductType); err != nil {
			return nil, err
		}
	}
	if req.RenewStatus != "" {
		if q.RenewStatus, err = moat.ParseRenewalStatus("RenewStatus", req.RenewStatus); err != nil {
			return nil, err
		}
	}
	if q.IDs, err = splitIDs("InstanceIDs", req.InstanceIDs); err != nil {
		return nil, err
	}
	if q.CreateFrom, err = parseTime("CreateTimeStart", req.CreateTimeStart); err != nil {
		return nil, err
	}
	if q.CreateTo, err = parseTime("CreateTimeEnd", req.CreateTimeEnd); err != nil {
		return nil, err
	}
	if q.EndFrom, err = parseTime("EndTimeStart", req.EndTimeStart); err != nil {
		return nil, err
	}
	if q.EndTo, err = parseTime("EndTimeEnd", req.EndTimeEnd); err != nil {
		return nil, err
	}
	page, err := h.svc.QueryInstances(ctx, call.Caller, q)
	if err != nil {
		return nil, moat.Rename(err, queryParams)
	}
	data := QueryAvailableInstancesData{PageNum: req.PageNum, PageSize: req.PageSize, TotalCount: page.Total,
		InstanceList: make([]AvailableInstance, 0, len(page.Instances))}
	if data.PageNum == 0 {
		data.PageNum = defaultPageNum
	}
	if data.PageSize == 0 {
		data.PageSize = defaultPageSize
	}
	for _, v := range page.Instances {
		data.InstanceList = append(data.InstanceList, availableInstanceOf(v))
	}
	return &QueryAvailableInstancesResponse{Envelope: success(), Data: data}, nil
}

// availableInstanceOf converts a domain view. Choices where BSS documents
// no value for ddos:
//   - Status is "Normal" before ExpireTime and "Expired" from then on
//     (DescribeInstances' Status 1 and 2).
//   - SubStatus is "Normal" while the instance forwards traffic (Enabled
//     1, until seven days after expiry) and "Stopped" once it no longer
//     does.
//   - StopTime and ExpectedReleaseTime are ExpireTime + 7 days, when
//     forwarding stops and the legacy doc says the IP is released;
//     ReleaseTime is empty, as the instance is not released yet (released
//     instances are not listed).
//   - OwnerId is the account ID as a number (0 if an admin-made account
//     ID is not numeric); SellerId is SellerID.
//   - Times are UTC to the second, as BSS writes them.
func availableInstanceOf(v moat.InstanceView) AvailableInstance {
	status, sub := "Normal", "Normal"
	if v.Status != moat.StatusNormal {
		status = "Expired"
	}
	if v.Enabled == 0 {
		sub = "Stopped"
	}
	owner, _ := strconv.ParseInt(v.AccountID, 10, 64)
	stop := formatTime(v.ExpireTime.Add(moat.ForwardingGrace))
	return AvailableInstance{
		InstanceID: v.ID, ProductCode: ProductCode, ProductType: string(v.ProductType),
		Region: string(v.Region), Status: status, SubStatus: sub,
		SubscriptionType: SubscriptionType, RenewStatus: string(v.RenewalStatus),
		RenewalDuration: v.RenewPeriod, RenewalDurationUnit: "M",
		CreateTime: formatTime(v.CreateTime), EndTime: formatTime(v.ExpireTime),
		ExpectedReleaseTime: stop, StopTime: stop,
		OwnerId: owner, SellerId: SellerID,
	}
}
