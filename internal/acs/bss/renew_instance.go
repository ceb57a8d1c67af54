package bss

import (
	"context"

	"moat/internal/acs"
	"moat/internal/moat"
)

// RenewInstanceRequest is RenewInstance's parameters. ProductType is
// required by moat although BSS marks it optional: it names the region the
// instance lives in, and moat does not guess it from the ID.
type RenewInstanceRequest struct {
	ProductCode string `acs:"ProductCode,required"`
	ProductType string `acs:"ProductType,required"`
	InstanceId  string `acs:"InstanceId,required,resource"`
	RenewPeriod int    `acs:"RenewPeriod,required"`
	ClientToken string `acs:"ClientToken"`
}

// CallRegion is the region of the product the instance was bought as.
func (r *RenewInstanceRequest) CallRegion() (moat.Region, error) {
	return acs.ProductTypeRegion(r.ProductType)
}

// RenewInstanceData is RenewInstance's Data.
type RenewInstanceData struct {
	OrderId string
}

// RenewInstanceResponse is RenewInstance's body.
type RenewInstanceResponse struct {
	Envelope
	Data RenewInstanceData
}

// RenewInstance extends an instance by RenewPeriod months from its current
// expiry: before expiry or within seven days after it (doc 169565).
func (h *handlers) RenewInstance(ctx context.Context, call *acs.Call, req *RenewInstanceRequest) (*RenewInstanceResponse, error) {
	if err := checkProductCode(req.ProductCode); err != nil {
		return nil, err
	}
	product, err := moat.ParseProductType(req.ProductType)
	if err != nil {
		return nil, err
	}
	order, err := h.svc.RenewInstance(ctx, call.Caller, moat.RenewRequest{
		InstanceID: req.InstanceId, ProductType: product, RenewPeriod: req.RenewPeriod,
		ClientToken: req.ClientToken, RequestID: call.RequestID,
	})
	if err != nil {
		return nil, err
	}
	return &RenewInstanceResponse{Envelope: success(), Data: RenewInstanceData{OrderId: order.OrderID}}, nil
}
