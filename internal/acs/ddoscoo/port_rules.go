package ddoscoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"moat/internal/moat"
)

// The wire forms shared by the port rule actions: the NetworkRules and
// NetworkRule JSON strings, the ports that arrive as strings, and the
// parameter names the domain's errors are renamed to.

// maxRuleBatch bounds the rules one JSON string may carry: the largest
// PortCount any specification allows, so that no batch an instance could
// hold is refused, and a larger array is refused before it is decoded.
const maxRuleBatch = 400

// frontendParams names CreatePort's, ModifyPort's, DeletePort's and
// DescribePort's parameters after the domain's inputs.
var frontendParams = map[string]string{"Protocol": "FrontendProtocol"}

// forwardParams names the parameters of the calls that address one rule
// with ForwardProtocol (DescribeNetworkRules, ModifyNetworkRuleAttribute,
// ModifyHealthCheckConfig).
var forwardParams = map[string]string{"Protocol": "ForwardProtocol"}

// Shapes quoted in the errors of the JSON parameters.
const (
	ruleShape = `{"InstanceId","Protocol","FrontendPort","BackendPort","RealServers"}`
	keyShape  = `{"InstanceId","Protocol","FrontendPort"}`
)

// jsonRule is an item of the NetworkRules (and NetworkRule) JSON arrays.
type jsonRule struct {
	InstanceId   string
	Protocol     string
	FrontendPort int
	BackendPort  int
	RealServers  []string
}

// ruleItems splits a JSON array parameter into its items, refusing
// anything but an array of at most maxRuleBatch objects.
func ruleItems(param, raw, shape string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil || items == nil {
		return nil, moat.Errorf(moat.CodeJSONError, "%s must be a JSON array of %s.", param, shape)
	}
	if len(items) > maxRuleBatch {
		return nil, moat.Errorf(moat.CodeJSONError, "%s holds %d rules; one call takes at most %d.", param, len(items), maxRuleBatch)
	}
	for i, it := range items {
		if t := bytes.TrimSpace(it); len(t) == 0 || t[0] != '{' {
			return nil, moat.Errorf(moat.CodeJSONError, "%s must be a JSON array of %s: item %d is not an object.", param, shape, i+1)
		}
	}
	return items, nil
}

// parseRules decodes a NetworkRules or NetworkRule JSON string into its
// items, each with the JSON types of ruleShape.
func parseRules(param, raw, shape string) ([]jsonRule, error) {
	items, err := ruleItems(param, raw, shape)
	if err != nil {
		return nil, err
	}
	out := make([]jsonRule, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, jsonTypeError(param, shape, i+1, err)
		}
	}
	return out, nil
}

// parseKeys decodes a JSON string that names rules by instance, protocol
// and frontend port.
func parseKeys(param, raw string) ([]moat.PortKey, error) {
	rules, err := parseRules(param, raw, keyShape)
	if err != nil {
		return nil, err
	}
	keys := make([]moat.PortKey, len(rules))
	for i, r := range rules {
		keys[i] = moat.PortKey{InstanceID: r.InstanceId, Protocol: r.Protocol, FrontendPort: r.FrontendPort}
	}
	return keys, nil
}

// jsonTypeError explains an item whose fields have the wrong JSON types.
func jsonTypeError(param, shape string, item int, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return moat.Errorf(moat.CodeJSONError, "%s must be a JSON array of %s: item %d's %s is a JSON %s, where %s is expected.",
			param, shape, item, te.Field, te.Value, jsonKind(te.Type))
	}
	return moat.Errorf(moat.CodeJSONError, "%s must be a JSON array of %s: item %d does not parse.", param, shape, item)
}

// jsonKind names what a Go type expects of a JSON value.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "another type"
}

// ruleInstances reads the instance IDs a JSON rule array names, leniently:
// a value that does not parse names nothing (the handler reports it).
func ruleInstances(raw string) []string {
	var items []json.RawMessage
	if json.Unmarshal([]byte(raw), &items) != nil || len(items) > maxRuleBatch {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, it := range items {
		var r struct{ InstanceId string }
		if json.Unmarshal(it, &r) != nil || r.InstanceId == "" || seen[r.InstanceId] {
			continue
		}
		seen[r.InstanceId] = true
		ids = append(ids, r.InstanceId)
	}
	return ids
}

// portParam parses a port that arrives as a string (CreatePort's
// FrontendPort and BackendPort).
func portParam(name, raw string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < 1 || n > 65535 {
		return 0, moat.InvalidParamValue(name, raw, "a port is an integer from 1 to 65535")
	}
	return n, nil
}

// optPortParam parses an optional port string; absent is 0.
func optPortParam(name string, raw *string) (int, error) {
	if raw == nil || *raw == "" {
		return 0, nil
	}
	return portParam(name, *raw)
}

// nonNil returns s, or an empty list for nil, so that a list is [] and
// never null on the wire.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
