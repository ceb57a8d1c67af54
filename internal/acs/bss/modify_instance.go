package bss

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyInstanceRequest is BSS ModifyInstance's parameters: only the
// Parameter codes being changed are sent (the Terraform provider sends one
// at a time). ProductType is required for the region, as in RenewInstance.
type ModifyInstanceRequest struct {
	ProductCode      string      `acs:"ProductCode,required"`
	ProductType      string      `acs:"ProductType,required"`
	InstanceId       string      `acs:"InstanceId,required,resource"`
	SubscriptionType string      `acs:"SubscriptionType"`
	ModifyType       string      `acs:"ModifyType,required"`
	ClientToken      string      `acs:"ClientToken"`
	Parameter        []Parameter `acs:"Parameter"`
}

// CallRegion is the region of the product the instance was bought as.
func (r *ModifyInstanceRequest) CallRegion() (moat.Region, error) {
	return acs.ProductTypeRegion(r.ProductType)
}

// ModifyInstanceData is ModifyInstance's Data.
type ModifyInstanceData struct {
	OrderId string
	// HostId is always empty: BSS documents no meaning for it for ddos,
	// and filling it (with the instance's IP, say) would take a second
	// service call for a value no client reads.
	HostId string
}

// ModifyInstanceResponse is ModifyInstance's body.
type ModifyInstanceResponse struct {
	Envelope
	Data ModifyInstanceData
}

// ModifyInstance upgrades or downgrades an instance's specification
// (ModifyType Upgrade or Downgrade; the ddoscoo spelling UPGRADE/DOWNGRADE
// is accepted too).
func (h *handlers) ModifyInstance(ctx context.Context, call *acs.Call, req *ModifyInstanceRequest) (*ModifyInstanceResponse, error) {
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
	mt, err := moat.ParseModifyType(req.ModifyType)
	if err != nil {
		return nil, err
	}
	params, err := domainParams(call.Params, req.Parameter)
	if err != nil {
		return nil, err
	}
	order, err := h.svc.ModifyInstanceSpec(ctx, call.Caller, moat.ModifyRequest{
		InstanceID: req.InstanceId, ProductType: product, ModifyType: mt,
		Params: params, ClientToken: req.ClientToken, RequestID: call.RequestID,
	})
	if err != nil {
		return nil, moat.Rename(err, acs.SpecParams)
	}
	return &ModifyInstanceResponse{Envelope: success(), Data: ModifyInstanceData{OrderId: order.OrderID}}, nil
}
