package ddoscoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"moat/internal/acs"
	"moat/internal/moat"
)

// ConfigL7RsPolicyRequest is ConfigL7RsPolicy's parameters: Policy is a
// JSON object, {"ProxyMode":"rr","Attributes":[{"RealServer":"203.0.113.1","Attribute":{"Weight":100}}]}.
type ConfigL7RsPolicyRequest struct {
	Domain string `acs:"Domain,required,domain"`
	Policy string `acs:"Policy,required"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// ConfigL7RsPolicyResponse is its body.
type ConfigL7RsPolicyResponse struct {
	acs.Response
}

// rsPolicyJSON is the Policy parameter.
type rsPolicyJSON struct {
	ProxyMode  string
	Attributes []rsAttributeJSON
}

type rsAttributeJSON struct {
	RealServer string
	Attribute  map[string]json.RawMessage
}

const rsPolicyExample = `{"ProxyMode":"rr","Attributes":[{"RealServer":"203.0.113.1","Attribute":{"Weight":100}}]}`

// rsUnsupported are origin attributes later API references describe
// (timeouts, failure counting, backup origins) that moat does not model:
// its origin timeouts and failure handling are fixed (docs/DATAPLANE.md).
var rsUnsupported = map[string]bool{
	"ConnectTimeout": true, "FailTimeout": true, "MaxFails": true, "Mode": true, "ReadTimeout": true, "SendTimeout": true,
}

// ConfigL7RsPolicy sets how a website's requests are spread over its
// origins: ip_hash, rr (weighted by Attributes) or least_time.
func (h *handlers) ConfigL7RsPolicy(ctx context.Context, call *acs.Call, req *ConfigL7RsPolicyRequest) (*ConfigL7RsPolicyResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	mode, weights, err := decodeRsPolicy(req.Policy)
	if err != nil {
		return nil, err
	}
	if err := h.svc.SetWebPolicy(ctx, call.Caller, region, req.Domain, mode, weights, call.RequestID); err != nil {
		return nil, err
	}
	return &ConfigL7RsPolicyResponse{}, nil
}

// decodeRsPolicy reads the Policy parameter strictly: a field moat does
// not know, or an origin attribute it does not model, is refused by name.
func decodeRsPolicy(s string) (string, []moat.OriginWeight, error) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 || b[0] != '{' {
		return "", nil, moat.Errorf(moat.CodeJSONError, "Policy must be a JSON object such as %s.", rsPolicyExample)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p rsPolicyJSON
	if err := dec.Decode(&p); err != nil {
		return "", nil, moat.Errorf(moat.CodeJSONError, "Policy must be a JSON object such as %s (%s).", rsPolicyExample, jsonProblem(err))
	}
	if dec.More() {
		return "", nil, moat.Errorf(moat.CodeJSONError, "Policy must be one JSON object such as %s.", rsPolicyExample)
	}
	if p.ProxyMode == "" {
		return "", nil, moat.MissingParam("Policy.ProxyMode")
	}
	weights := make([]moat.OriginWeight, 0, len(p.Attributes))
	for i, a := range p.Attributes {
		if a.RealServer == "" {
			return "", nil, moat.MissingParam(fmt.Sprintf("Policy.Attributes.%d.RealServer", i+1))
		}
		keys := make([]string, 0, len(a.Attribute))
		for k := range a.Attribute {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w := moat.DefaultOriginWeight
		for _, k := range keys {
			name := fmt.Sprintf("Policy.Attributes.%d.Attribute.%s", i+1, k)
			switch {
			case k == "Weight":
				if err := json.Unmarshal(a.Attribute[k], &w); err != nil {
					return "", nil, moat.InvalidParamValue(name, string(a.Attribute[k]), fmt.Sprintf("an integer from %d to %d", moat.MinOriginWeight, moat.MaxOriginWeight))
				}
			case rsUnsupported[k]:
				return "", nil, moat.InvalidParam(name, "not supported: moat's origin timeouts and failure handling are fixed (docs/DATAPLANE.md); give Weight only")
			default:
				return "", nil, moat.InvalidParam(name, "unknown origin attribute; the one moat takes is Weight")
			}
		}
		weights = append(weights, moat.OriginWeight{Origin: a.RealServer, Weight: w})
	}
	return p.ProxyMode, weights, nil
}

// jsonProblem is what is wrong with a JSON document, without its bytes.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends early"
	case errors.As(err, &se):
		return fmt.Sprintf("malformed at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s is a JSON %s, where %s is expected", te.Field, te.Value, jsonKind(te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "; the fields are ProxyMode and Attributes"
	}
	return "it does not parse"
}
