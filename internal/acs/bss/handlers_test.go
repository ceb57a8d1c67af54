package bss

import (
	"context"
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
