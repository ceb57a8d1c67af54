package ddoscoo

import (
	"context"
	"fmt"
	"strconv"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyInstanceRequest is ModifyInstance's parameters: the instance, the
// direction and the product, then the specification items to change, each
// as a parameter of its own (not BSS's Parameter.N.Code/Value).
type ModifyInstanceRequest struct {
	InstanceId  string `acs:"InstanceId,required,resource"`
	ModifyType  string `acs:"ModifyType,required"`
	ProductType string `acs:"ProductType,required"`

	AddressType      string `acs:"AddressType"`
	Bandwidth        string `acs:"Bandwidth"`
	BaseBandwidth    string `acs:"BaseBandwidth"`
	DomainCount      string `acs:"DomainCount"`
	EditionSale      string `acs:"EditionSale"`
	FunctionVersion  string `acs:"FunctionVersion"`
	NormalBandwidth  string `acs:"NormalBandwidth"`
	NormalQps        string `acs:"NormalQps"`
	PortCount        string `acs:"PortCount"`
	ProductPlan      string `acs:"ProductPlan"`
	ServiceBandwidth string `acs:"ServiceBandwidth"`
	ServicePartner   string `acs:"ServicePartner"`
}

// CallRegion is the product's region (see ModifyInstance).
func (r *ModifyInstanceRequest) CallRegion() (moat.Region, error) {
	return acs.ProductTypeRegion(r.ProductType)
}

// ModifyInstanceResponse is ModifyInstance's body.
type ModifyInstanceResponse struct {
	acs.Response
	OrderId int64
}

// params turns the given items into the domain's specification codes.
// EditionSale is the BSS code Edition; every other name is its own code.
// Empty values are absent (sdk-go v1 drops them).
func (r *ModifyInstanceRequest) params() []moat.Param {
	items := []struct{ code, value string }{
		{"AddressType", r.AddressType},
		{"Bandwidth", r.Bandwidth},
		{"BaseBandwidth", r.BaseBandwidth},
		{"DomainCount", r.DomainCount},
		{"Edition", r.EditionSale},
		{"FunctionVersion", r.FunctionVersion},
		{"NormalBandwidth", r.NormalBandwidth},
		{"NormalQps", r.NormalQps},
		{"PortCount", r.PortCount},
		{"ProductPlan", r.ProductPlan},
		{"ServiceBandwidth", r.ServiceBandwidth},
		{"ServicePartner", r.ServicePartner},
	}
	var out []moat.Param
	for _, it := range items {
		if it.value != "" {
			out = append(out, moat.Param{Code: it.code, Value: it.value})
		}
	}
	return out
}

// nothingToModify is the answer to a ModifyInstance that names no item:
// the gateway's documented MissingParameter ("Absent some mandatory
// parameter for this request."). The domain's own answer, renamed as
// BSS names it, would be MissingParameter.1.Code, which this action does
// not have.
func nothingToModify() error {
	return moat.Errorf(moat.CodeMissingParameter, "Absent some mandatory parameter for this request: give at least one of AddressType, Bandwidth, BaseBandwidth, DomainCount, EditionSale, FunctionVersion, NormalBandwidth, NormalQps, PortCount, ProductPlan, ServiceBandwidth, ServicePartner.")
}

// ModifyInstance upgrades or downgrades an instance's specification, the
// action the current Terraform provider uses instead of BSS ModifyInstance.
// The region is the product's (ddoscoo and ddoscoo_intl: cn-hangzhou;
// ddosDip: ap-southeast-1), as for DescribeInstanceStatus' ProductType:
// the provider sends no RegionId, and sdk-go v1 sends its client's. A
// RegionId must still be a valid one; an instance of the other region is
// InstanceNotFound.
func (h *handlers) ModifyInstance(ctx context.Context, call *acs.Call, req *ModifyInstanceRequest) (*ModifyInstanceResponse, error) {
	if _, err := call.RequestedRegion(); err != nil {
		return nil, err
	}
	mt, err := moat.ParseModifyType(req.ModifyType)
	if err != nil {
		return nil, err
	}
	pt, err := moat.ParseProductType(req.ProductType)
	if err != nil {
		return nil, err
	}
	params := req.params()
	if len(params) == 0 {
		return nil, nothingToModify()
	}
	order, err := h.svc.ModifyInstanceSpec(ctx, call.Caller, moat.ModifyRequest{
		InstanceID: req.InstanceId, ProductType: pt, ModifyType: mt,
		Params: params, RequestID: call.RequestID,
	})
	if err != nil {
		return nil, moat.Rename(err, acs.SpecParams)
	}
	id, err := strconv.ParseInt(order.OrderID, 10, 64)
	if err != nil {
		return nil, moat.Internal("ModifyInstance", fmt.Errorf("order ID %q is not an int64: %w", order.OrderID, err))
	}
	return &ModifyInstanceResponse{OrderId: id}, nil
}
