package bss

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// CreateInstanceRequest is CreateInstance's parameters (sdk-go sends them
// in the query, the Terraform provider in a form body; the gateway merges
// both).
type CreateInstanceRequest struct {
	ProductCode      string      `acs:"ProductCode,required"`
	ProductType      string      `acs:"ProductType,required"`
	SubscriptionType string      `acs:"SubscriptionType,required"`
	Period           int         `acs:"Period,required"`
	PricingCycle     string      `acs:"PricingCycle"`
	RenewalStatus    string      `acs:"RenewalStatus"`
	RenewPeriod      int         `acs:"RenewPeriod"`
	ClientToken      string      `acs:"ClientToken"`
	Parameter        []Parameter `acs:"Parameter"`
}

// CallRegion is the region of the product bought.
func (r *CreateInstanceRequest) CallRegion() (moat.Region, error) {
	return acs.ProductTypeRegion(r.ProductType)
}

// CreateInstanceData is CreateInstance's Data.
type CreateInstanceData struct {
	InstanceId string
	OrderId    string
}

// CreateInstanceResponse is CreateInstance's body.
type CreateInstanceResponse struct {
	Envelope
	Data CreateInstanceData
}

// CreateInstance buys an instance: ProductType picks the product and its
// region (ddoscoo and ddoscoo_intl cn-hangzhou, ddosDip ap-southeast-1);
// the RegionId common parameter, which sdk-go always sends with its
// client's region, does not override it (BSS is a global service).
// Period is in months; PricingCycle, if sent, must be 2 (month, the
// default): moat does not sell by the year or the day, and a Period read
// in the wrong unit would buy the wrong term.
func (h *handlers) CreateInstance(ctx context.Context, call *acs.Call, req *CreateInstanceRequest) (*CreateInstanceResponse, error) {
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
	if req.PricingCycle != "" && req.PricingCycle != "2" {
		return nil, moat.InvalidParam("PricingCycle", "moat sells by the month only: omit it or send 2, with Period in months")
	}
	renewal, err := moat.ParseRenewalStatus("RenewalStatus", req.RenewalStatus)
	if err != nil {
		return nil, err
	}
	params, err := domainParams(call.Params, req.Parameter)
	if err != nil {
		return nil, err
	}
	order, err := h.svc.BuyInstance(ctx, call.Caller, moat.BuyRequest{
		ProductType: product, Period: req.Period,
		RenewalStatus: renewal, RenewPeriod: req.RenewPeriod,
		Params: params, ClientToken: req.ClientToken, RequestID: call.RequestID,
	})
	if err != nil {
		return nil, moat.Rename(err, acs.SpecParams)
	}
	return &CreateInstanceResponse{Envelope: success(), Data: CreateInstanceData{InstanceId: order.InstanceID, OrderId: order.OrderID}}, nil
}
