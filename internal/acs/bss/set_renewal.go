package bss

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// SetRenewalRequest is SetRenewal's parameters. InstanceIDs is one
// comma-separated string (up to 100 IDs), not a Name.N list. ProductType
// is required for the region, as in RenewInstance.
type SetRenewalRequest struct {
	ProductCode       string        `acs:"ProductCode,required"`
	ProductType       string        `acs:"ProductType,required"`
	InstanceIDs       acs.CommaList `acs:"InstanceIDs,required,resource"`
	SubscriptionType  string        `acs:"SubscriptionType"`
	RenewalStatus     string        `acs:"RenewalStatus,required"`
	RenewalPeriod     int           `acs:"RenewalPeriod"`
	RenewalPeriodUnit string        `acs:"RenewalPeriodUnit"`
}

// CallRegion is the region of the product the instances were bought as.
func (r *SetRenewalRequest) CallRegion() (moat.Region, error) {
	return acs.ProductTypeRegion(r.ProductType)
}

// SetRenewalResponse is SetRenewal's body: the envelope only.
type SetRenewalResponse struct {
	Envelope
}

// SetRenewal turns auto-renewal on (AutoRenewal, for RenewalPeriod
// RenewalPeriodUnit: M months, the default, or Y years of 12 months) or
// off (ManualRenewal, NotRenewal) for every listed instance, all or none.
// The BSS doc makes RenewalPeriod mandatory with AutoRenewal, so its
// absence is MissingRenewalPeriod.
func (h *handlers) SetRenewal(ctx context.Context, call *acs.Call, req *SetRenewalRequest) (*SetRenewalResponse, error) {
	if err := checkProductCode(req.ProductCode); err != nil {
		return nil, err
	}
	product, err := moat.ParseProductType(req.ProductType)
	if err != nil {
		return nil, err
	}
	if err := checkSubscriptionType(req.SubscriptionType); err != nil {
		return nil, err
	}
	ids, err := splitIDs("InstanceIDs", req.InstanceIDs)
	if err != nil {
		return nil, err
	}
	status, err := moat.ParseRenewalStatus("RenewalStatus", req.RenewalStatus)
	if err != nil {
		return nil, err
	}
	months := req.RenewalPeriod
	switch req.RenewalPeriodUnit {
	case "", "M":
	case "Y":
		months *= 12
	default:
		return nil, moat.InvalidParam("RenewalPeriodUnit", "M (months) or Y (years)")
	}
	if status == moat.RenewalAuto && req.RenewalPeriod == 0 {
		return nil, moat.MissingParam("RenewalPeriod")
	}
	if err := h.svc.SetRenewal(ctx, call.Caller, product, ids, status, months); err != nil {
		return nil, moat.Rename(err, renewalParams)
	}
	return &SetRenewalResponse{Envelope: success()}, nil
}
