package ddoscoo

import (
	"context"
	"strconv"

	"moat/internal/acs"
)

// DescribeUdpReflectRequest is DescribeUdpReflect's parameters.
type DescribeUdpReflectRequest struct {
	InstanceId string `acs:"InstanceId,required,resource"`
}

// DescribeUdpReflectResponse is DescribeUdpReflect's body. The real
// service gives the ports as strings, though ConfigUdpReflect takes them
// as integers.
type DescribeUdpReflectResponse struct {
	acs.Response
	UdpSports []string
}

// DescribeUdpReflect reports the UDP source ports an instance drops.
func (h *handlers) DescribeUdpReflect(ctx context.Context, call *acs.Call, req *DescribeUdpReflectRequest) (*DescribeUdpReflectResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	ports, err := h.svc.UDPReflect(ctx, call.Caller, region, req.InstanceId)
	if err != nil {
		return nil, err
	}
	resp := &DescribeUdpReflectResponse{UdpSports: make([]string, 0, len(ports))}
	for _, p := range ports {
		resp.UdpSports = append(resp.UdpSports, strconv.Itoa(p))
	}
	return resp, nil
}
