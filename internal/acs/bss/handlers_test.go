package bss

import (
	"context"
	"maps"
	"strings"
	"testing"

	"moat/internal/acs"
	"moat/internal/moat"
)

// fakeService answers the calls a handler test makes; any other method
// panics (the embedded interface is nil).
type fakeService struct {
	Service
	renewal func(ids []string, status moat.RenewalStatus, renewPeriod int) error
}

// BuyInstance and ModifyInstanceSpec judge the specification items as the
// domain does, so the tests below read the domain's own errors.
func (f *fakeService) BuyInstance(_ context.Context, _ moat.Caller, r moat.BuyRequest) (moat.Order, error) {
	s := moat.DefaultSpec(r.ProductType)
	if err := moat.ApplyParams(&s, r.ProductType, r.Params); err != nil {
		return moat.Order{}, err
	}
	return moat.Order{}, s.Validate(r.ProductType)
}

func (f *fakeService) ModifyInstanceSpec(_ context.Context, _ moat.Caller, r moat.ModifyRequest) (moat.Order, error) {
	_, err := moat.DefaultSpec(r.ProductType).Modify(r.ModifyType, r.Params, r.ProductType)
	return moat.Order{}, err
}

func (f *fakeService) SetRenewal(_ context.Context, _ moat.Caller, _ moat.ProductType, ids []string, status moat.RenewalStatus, renewPeriod int) error {
	return f.renewal(ids, status, renewPeriod)
}

// wireCase is a domain error and the Code and Message the client must
// read for it.
type wireCase struct {
	err  error
	code moat.Code
	msg  string
}

func checkWire(t *testing.T, action acs.Action, name string, params map[string]string, set func(error), cases []wireCase) {
	t.Helper()
	for _, c := range cases {
		set(c.err)
		call := &acs.Call{Action: name, Caller: moat.Caller{AccountID: "1000000000000001"}, Params: params}
		_, err := action.Invoke(context.Background(), call)
		if e := moat.AsError(err); e.Code != c.code || e.Message != c.msg || e.Kind != moat.KindInvalid {
			t.Errorf("%s, domain %v:\n got %s %q\nwant %s %q", name, c.err, e.Code, e.Message, c.code, c.msg)
		}
	}
}

// TestSetRenewalNamesWireParams pins the mapping of SetRenewal's domain
// input names (IDs, RenewPeriod) to its parameters (InstanceIDs,
// RenewalPeriod) in an error, and that the handler passes the months
// through.
func TestSetRenewalNamesWireParams(t *testing.T) {
	var fail error
	var got []int
	h := &handlers{svc: &fakeService{renewal: func(_ []string, _ moat.RenewalStatus, renewPeriod int) error {
		got = append(got, renewPeriod)
		return fail
	}}}
	params := map[string]string{"ProductCode": "ddos", "ProductType": "ddoscoo", "InstanceIDs": "ddoscoo-cn-a,ddoscoo-cn-b",
		"RenewalStatus": "AutoRenewal", "RenewalPeriod": "1", "RenewalPeriodUnit": "Y"}
	checkWire(t, acs.Handle(h.SetRenewal), "SetRenewal", params, func(err error) { fail = err }, []wireCase{
		{moat.MissingParam("IDs"), "MissingInstanceIDs", "InstanceIDs is mandatory for this action."},
		{moat.InvalidParam("IDs", "at most 100 IDs"), moat.CodeInvalidParameter, "The specified parameter InstanceIDs value is not valid: at most 100 IDs."},
		{moat.ValidPeriod("RenewPeriod", 10), moat.CodeInvalidParameter, "The specified parameter RenewalPeriod value is not valid: a number of months: 1 to 9, 12, 24 or 36."},
		{moat.InvalidParam("ProductType", "x"), moat.CodeInvalidParameter, "The specified parameter ProductType value is not valid: x."},
	})
	if len(got) == 0 || got[0] != 12 {
		t.Fatalf("the service got RenewalPeriod %v, want 12 months for 1 Y", got)
	}
}

// specCases are specification items the domain refuses, and the Code and
// Message the BSS answers have always given for them: the domain's
// Params names read as Parameter.1.Code, Parameter.N.Code and
// "Parameter <code>".
var specCases = []struct {
	params map[string]string
	create bool // on purchase only (ModifyInstance refuses it earlier)
	code   moat.Code
	msg    string
}{
	{map[string]string{"Parameter.1.Code": "Colour", "Parameter.1.Value": "red"}, false, moat.CodeInvalidParameter,
		`The specified parameter Parameter.N.Code value "Colour" is not valid: accepted codes are ` + strings.Join(moat.ParamCodes(), ", ") + "."},
	{map[string]string{"Parameter.1.Code": "NormalQps", "Parameter.1.Value": "3050"}, false, moat.CodeInvalidParameter,
		`The specified parameter Parameter NormalQps value "3050" is not valid: NormalQps for Anti-DDoS Pro must be a multiple of 100 from 3000 to 100000.`},
	{map[string]string{"Parameter.1.Code": "Bandwidth", "Parameter.1.Value": "lots"}, false, moat.CodeInvalidParameter,
		`The specified parameter Parameter Bandwidth value is not valid: "lots" is not a decimal integer.`},
	{map[string]string{"Parameter.1.Code": "AddressType", "Parameter.1.Value": "Ipv6"}, true, moat.CodeInvalidParameter,
		"The specified parameter Parameter AddressType value is not valid: moat's IP pools are IPv4 only; use Ipv4."},
}

// TestSpecItemsNameWireParams pins the mapping of the domain's names for
// the specification items to BSS's Parameter.N names in the answers of
// CreateInstance and ModifyInstance.
func TestSpecItemsNameWireParams(t *testing.T) {
	h := &handlers{svc: &fakeService{}}
	create := map[string]string{"ProductCode": "ddos", "ProductType": "ddoscoo", "SubscriptionType": "Subscription", "Period": "1"}
	modify := map[string]string{"ProductCode": "ddos", "ProductType": "ddoscoo", "InstanceId": "ddoscoo-cn-abc", "ModifyType": "Upgrade"}
	for _, c := range specCases {
		for name, base := range map[string]map[string]string{"CreateInstance": create, "ModifyInstance": modify} {
			params := maps.Clone(base)
			maps.Copy(params, c.params)
			action := acs.Handle(h.CreateInstance)
			if name == "ModifyInstance" {
				if c.create {
					continue
				}
				action = acs.Handle(h.ModifyInstance)
			}
			checkWire(t, action, name, params, func(error) {}, []wireCase{{nil, c.code, c.msg}})
		}
	}
	// Bandwidth below BaseBandwidth, refused by the whole specification's
	// check on purchase.
	params := maps.Clone(create)
	maps.Copy(params, map[string]string{"Parameter.1.Code": "BaseBandwidth", "Parameter.1.Value": "100"})
	checkWire(t, acs.Handle(h.CreateInstance), "CreateInstance", params, func(error) {}, []wireCase{{nil, moat.CodeInvalidParameter,
		"The specified parameter Parameter Bandwidth value is not valid: the burstable bandwidth (30 Gbps) cannot be below the base bandwidth (100 Gbps)."}})
	// A ModifyInstance without items.
	checkWire(t, acs.Handle(h.ModifyInstance), "ModifyInstance", modify, func(error) {}, []wireCase{{nil,
		"MissingParameter.1.Code", "Parameter.1.Code is mandatory for this action."}})
}
