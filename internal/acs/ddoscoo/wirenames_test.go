package ddoscoo

import (
	"context"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// nameFake answers every call a wire-name test makes with err.
type nameFake struct {
	Service
	err    error
	modify func(r moat.ModifyRequest) error
}

func (f *nameFake) TagResources(context.Context, moat.Caller, moat.Region, string, []string, []moat.Tag, string) error {
	return f.err
}

func (f *nameFake) UntagResources(context.Context, moat.Caller, moat.Region, string, []string, []string, bool, string) error {
	return f.err
}

func (f *nameFake) ListTagResources(context.Context, moat.Caller, moat.Region, string, []string, []moat.TagFilter, string, string) ([]moat.ResourceTag, string, error) {
	return nil, "", f.err
}

func (f *nameFake) Instances(context.Context, moat.Caller, moat.Region, []string) ([]moat.InstanceView, error) {
	return nil, f.err
}

func (f *nameFake) ModifyInstanceSpec(_ context.Context, _ moat.Caller, r moat.ModifyRequest) (moat.Order, error) {
	return moat.Order{}, f.modify(r)
}

// wireCase is a domain error and the Code and Message the client must
// read for it.
type wireCase struct {
	action string
	err    error
	code   moat.Code
	msg    string
}

func checkWire(t *testing.T, h *handlers, f *nameFake, params map[string]map[string]string, cases []wireCase) {
	t.Helper()
	actions := map[string]acs.Action{
		"CreateTagResources":         acs.Handle(h.CreateTagResources),
		"DeleteTagResources":         acs.Handle(h.DeleteTagResources),
		"DescribeTagResources":       acs.Handle(h.DescribeTagResources),
		"DescribeInstanceSpecs":      acs.Handle(h.DescribeInstanceSpecs),
		"DescribeInstanceDetails":    acs.Handle(h.DescribeInstanceDetails),
		"DescribeInstanceStatistics": acs.Handle(h.DescribeInstanceStatistics),
	}
	for _, c := range cases {
		f.err = c.err
		call := &acs.Call{Action: c.action, Caller: moat.Caller{AccountID: "1000000000000001"}, Params: params[c.action]}
		_, err := actions[c.action].Invoke(context.Background(), call)
		if e := moat.AsError(err); e.Code != c.code || e.Message != c.msg || e.Kind != moat.KindInvalid {
			t.Errorf("%s, domain %v:\n got %s %q\nwant %s %q", c.action, c.err, e.Code, e.Message, c.code, c.msg)
		}
	}
}

// TestTagCallsNameWireParams pins the mapping of the tag domain's input
// names (IDs, Keys, Filters) to the tag calls' parameters (ResourceIds,
// TagKey, Tags) in an error, and that the names the domain shares with the
// wire (Tags.N.Key, Tags.1.Key, Tags, NextToken, ResourceType) pass as
// they are: the client reads the Code and Message it always read.
func TestTagCallsNameWireParams(t *testing.T) {
	f := &nameFake{}
	h := &handlers{svc: f}
	base := map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "INSTANCE", "ResourceIds.1": "ddoscoo-cn-abc"}
	params := map[string]map[string]string{
		"CreateTagResources":   base,
		"DeleteTagResources":   base,
		"DescribeTagResources": base,
	}
	invalid := func(name, why string) string {
		return "The specified parameter " + name + " value is not valid: " + why + "."
	}
	cases := []wireCase{
		{"CreateTagResources", moat.MissingParam("IDs.1"), "MissingResourceIds.1", "ResourceIds.1 is mandatory for this action."},
		{"CreateTagResources", moat.InvalidParam("IDs", "at most 50 IDs"), moat.CodeInvalidParameter, invalid("ResourceIds", "at most 50 IDs")},
		{"CreateTagResources", moat.MissingParam("Tags.1.Key"), "MissingTags.1.Key", "Tags.1.Key is mandatory for this action."},
		{"CreateTagResources", moat.InvalidParam("Tags", "at most 20 tags"), moat.CodeInvalidParameter, invalid("Tags", "at most 20 tags")},
		{"CreateTagResources", moat.InvalidParam("Tags.N.Key", "a tag needs a key"), moat.CodeInvalidParameter, invalid("Tags.N.Key", "a tag needs a key")},
		{"CreateTagResources", moat.InvalidParam("Tags.N.Value", "at most 128 characters"), moat.CodeInvalidParameter, invalid("Tags.N.Value", "at most 128 characters")},
		{"CreateTagResources", moat.InvalidParam("ResourceType", "use INSTANCE"), moat.CodeInvalidParameter, invalid("ResourceType", "use INSTANCE")},
		{"DeleteTagResources", moat.MissingParam("IDs.1"), "MissingResourceIds.1", "ResourceIds.1 is mandatory for this action."},
		{"DeleteTagResources", moat.InvalidParam("IDs", "at most 50 IDs"), moat.CodeInvalidParameter, invalid("ResourceIds", "at most 50 IDs")},
		{"DeleteTagResources", moat.InvalidParam("Keys", "at most 20 keys"), moat.CodeInvalidParameter, invalid("TagKey", "at most 20 keys")},
		{"DescribeTagResources", moat.InvalidParam("IDs", "at most 50 IDs"), moat.CodeInvalidParameter, invalid("ResourceIds", "at most 50 IDs")},
		{"DescribeTagResources", moat.InvalidParam("Filters", "at most 20 tags"), moat.CodeInvalidParameter, invalid("Tags", "at most 20 tags")},
		{"DescribeTagResources", moat.InvalidParam("NextToken", "pass back the NextToken of the previous page"), moat.CodeInvalidParameter, invalid("NextToken", "pass back the NextToken of the previous page")},
	}
	checkWire(t, h, f, params, cases)
}

// TestInstancesCallsNameWireParams pins the mapping of the per-instance
// views' input names (IDs, IDs.1) to InstanceIds in the answers of
// DescribeInstanceSpecs, DescribeInstanceDetails and
// DescribeInstanceStatistics.
func TestInstancesCallsNameWireParams(t *testing.T) {
	f := &nameFake{}
	h := &handlers{svc: f}
	base := map[string]string{"RegionId": "cn-hangzhou", "InstanceIds.1": "ddoscoo-cn-abc"}
	params := map[string]map[string]string{}
	var cases []wireCase
	for _, a := range []string{"DescribeInstanceSpecs", "DescribeInstanceDetails", "DescribeInstanceStatistics"} {
		params[a] = base
		cases = append(cases,
			wireCase{a, moat.MissingParam("IDs.1"), "MissingInstanceIds.1", "InstanceIds.1 is mandatory for this action."},
			wireCase{a, moat.InvalidParam("IDs", "at most 200 IDs"), moat.CodeInvalidParameter, "The specified parameter InstanceIds value is not valid: at most 200 IDs."},
		)
	}
	checkWire(t, h, f, params, cases)
}

// TestModifyInstanceNamesSpecItems pins ModifyInstance's answers for
// specification items the domain refuses: its items are parameters of
// their own, but the answers name them as they always have, "Parameter
// <code>" (the domain says Params.<code>).
func TestModifyInstanceNamesSpecItems(t *testing.T) {
	f := &nameFake{modify: func(r moat.ModifyRequest) error {
		_, err := moat.DefaultSpec(r.ProductType).Modify(r.ModifyType, r.Params, r.ProductType)
		return err
	}}
	h := &handlers{svc: f}
	action := acs.Handle(h.ModifyInstance)
	for _, c := range []struct {
		name, value, msg string
	}{
		{"Bandwidth", "lots", `The specified parameter Parameter Bandwidth value is not valid: "lots" is not a decimal integer.`},
		{"NormalQps", "3050", `The specified parameter Parameter NormalQps value "3050" is not valid: NormalQps for Anti-DDoS Pro must be a multiple of 100 from 3000 to 100000.`},
	} {
		params := map[string]string{"InstanceId": "ddoscoo-cn-abc", "ModifyType": "UPGRADE", "ProductType": "ddoscoo", c.name: c.value}
		call := &acs.Call{Action: "ModifyInstance", Caller: moat.Caller{AccountID: "1000000000000001"}, Params: params}
		_, err := action.Invoke(context.Background(), call)
		if e := moat.AsError(err); e.Code != moat.CodeInvalidParameter || e.Message != c.msg {
			t.Errorf("%s=%s:\n got %s %q\nwant InvalidParameter %q", c.name, c.value, e.Code, e.Message, c.msg)
		}
	}
}
