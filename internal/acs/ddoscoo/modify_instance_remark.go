package ddoscoo

import (
	"context"

	"moat/internal/acs"
)

// ModifyInstanceRemarkRequest is ModifyInstanceRemark's parameters.
type ModifyInstanceRemarkRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
	Remark     string `acs:"Remark,required"`
}

// ModifyInstanceRemarkResponse is ModifyInstanceRemark's body.
type ModifyInstanceRemarkResponse struct {
	acs.Response
}

// ModifyInstanceRemark renames an instance (at most 500 characters).
func (h *handlers) ModifyInstanceRemark(ctx context.Context, call *acs.Call, req *ModifyInstanceRemarkRequest) (*ModifyInstanceRemarkResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	if err := h.svc.ModifyInstanceRemark(ctx, call.Caller, region, req.InstanceId, req.Remark); err != nil {
		return nil, err
	}
	return &ModifyInstanceRemarkResponse{}, nil
}
