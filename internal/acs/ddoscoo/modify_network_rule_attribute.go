package ddoscoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ModifyNetworkRuleAttributeRequest is ModifyNetworkRuleAttribute's
// parameters: the rule, and Config, a JSON object with the settings to
// change (those left out keep their value).
type ModifyNetworkRuleAttributeRequest struct {
	InstanceId      string `acs:"InstanceId,required,resource"`
	ForwardProtocol string `acs:"ForwardProtocol,required"`
	FrontendPort    int    `acs:"FrontendPort,required"`
	Config          string `acs:"Config,required"`
}

// ModifyNetworkRuleAttributeResponse is ModifyNetworkRuleAttribute's body.
type ModifyNetworkRuleAttributeResponse struct {
	acs.Response
}

// configJSON is the Config JSON; nil fields are left out.
type configJSON struct {
	PersistenceTimeout *int
	Synproxy           *string
	NodataConn         *string
	Sla                *struct {
		Cps, Maxconn             *int
		CpsEnable, MaxconnEnable *int
	}
	Slimit *struct {
		Cps, Maxconn             *int
		Bps, Pps                 *int64
		CpsEnable, MaxconnEnable *int
		CpsMode                  *int
	}
	PayloadLen *struct{ Min, Max *int }
}

const configShape = `{"PersistenceTimeout","Synproxy","NodataConn","Sla":{"Cps","Maxconn","CpsEnable","MaxconnEnable"},"Slimit":{"Cps","Maxconn","Bps","Pps","CpsEnable","MaxconnEnable","CpsMode"},"PayloadLen":{"Min","Max"}}`

// parseConfig decodes the Config JSON into the patch it makes.
func parseConfig(raw string) (moat.RuleConfigPatch, error) {
	var c configJSON
	if t := bytes.TrimSpace([]byte(raw)); len(t) == 0 || t[0] != '{' {
		return moat.RuleConfigPatch{}, moat.Errorf(moat.CodeJSONError, "Config must be a JSON object with some of %s.", configShape)
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return moat.RuleConfigPatch{}, moat.Errorf(moat.CodeJSONError, "Config must be a JSON object with some of %s: Config.%s is a JSON %s, where %s is expected.",
				configShape, te.Field, te.Value, jsonKind(te.Type))
		}
		return moat.RuleConfigPatch{}, moat.Errorf(moat.CodeJSONError, "Config must be a JSON object with some of %s.", configShape)
	}
	p := moat.RuleConfigPatch{PersistenceTimeout: c.PersistenceTimeout, Synproxy: c.Synproxy, NodataConn: c.NodataConn}
	if s := c.Sla; s != nil {
		p.Sla = &moat.SlaPatch{Cps: s.Cps, Maxconn: s.Maxconn, CpsEnable: s.CpsEnable, MaxconnEnable: s.MaxconnEnable}
	}
	if s := c.Slimit; s != nil {
		p.Slimit = &moat.SlimitPatch{Cps: s.Cps, Maxconn: s.Maxconn, Bps: s.Bps, Pps: s.Pps, CpsEnable: s.CpsEnable, MaxconnEnable: s.MaxconnEnable, CpsMode: s.CpsMode}
	}
	if s := c.PayloadLen; s != nil {
		p.PayloadLen = &moat.PayloadLenPatch{Min: s.Min, Max: s.Max}
	}
	return p, nil
}

// ModifyNetworkRuleAttribute merges Config into a rule's protection
// settings.
func (h *handlers) ModifyNetworkRuleAttribute(ctx context.Context, call *acs.Call, req *ModifyNetworkRuleAttributeRequest) (*ModifyNetworkRuleAttributeResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	p, err := parseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	k := moat.PortKey{InstanceID: req.InstanceId, Protocol: req.ForwardProtocol, FrontendPort: req.FrontendPort}
	if err := h.svc.ModifyRuleConfig(ctx, call.Caller, region, k, p, call.RequestID); err != nil {
		return nil, moat.Rename(err, forwardParams)
	}
	return &ModifyNetworkRuleAttributeResponse{}, nil
}
