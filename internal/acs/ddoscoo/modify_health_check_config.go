package ddoscoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyHealthCheckConfigRequest is ModifyHealthCheckConfig's parameters:
// the rule, and HealthCheck, a JSON object {"Type","Domain","Uri","Port",
// "Interval","Timeout","Up","Down"} that replaces the rule's health check
// (Type "" turns it off; numbers left out take their defaults).
type ModifyHealthCheckConfigRequest struct {
	InstanceId      string `acs:"InstanceId,required,resource"`
	ForwardProtocol string `acs:"ForwardProtocol,required"`
	FrontendPort    int    `acs:"FrontendPort,required"`
	HealthCheck     string `acs:"HealthCheck,required"`
}

// ModifyHealthCheckConfigResponse is ModifyHealthCheckConfig's body.
type ModifyHealthCheckConfigResponse struct {
	acs.Response
}

const healthShape = `{"Type","Domain","Uri","Port","Interval","Timeout","Up","Down"}`

// parseHealthCheck decodes the HealthCheck JSON.
func parseHealthCheck(raw string) (moat.HealthCheck, error) {
	var c HealthCheck
	if t := bytes.TrimSpace([]byte(raw)); len(t) == 0 || t[0] != '{' {
		return moat.HealthCheck{}, moat.Errorf(moat.CodeJSONError, "HealthCheck must be a JSON object %s.", healthShape)
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return moat.HealthCheck{}, moat.Errorf(moat.CodeJSONError, "HealthCheck must be a JSON object %s: HealthCheck.%s is a JSON %s, where %s is expected.",
				healthShape, te.Field, te.Value, jsonKind(te.Type))
		}
		return moat.HealthCheck{}, moat.Errorf(moat.CodeJSONError, "HealthCheck must be a JSON object %s.", healthShape)
	}
	return healthCheckOf(c), nil
}

// ModifyHealthCheckConfig replaces a TCP rule's health check.
func (h *handlers) ModifyHealthCheckConfig(ctx context.Context, call *acs.Call, req *ModifyHealthCheckConfigRequest) (*ModifyHealthCheckConfigResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	hc, err := parseHealthCheck(req.HealthCheck)
	if err != nil {
		return nil, err
	}
	k := moat.PortKey{InstanceID: req.InstanceId, Protocol: req.ForwardProtocol, FrontendPort: req.FrontendPort}
	if err := h.svc.ModifyHealthCheck(ctx, call.Caller, region, k, hc, call.RequestID); err != nil {
		return nil, moat.Rename(err, forwardParams)
	}
	return &ModifyHealthCheckConfigResponse{}, nil
}
