package acs

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
)

// scopedRequest names instances in each way a request can: a single
// value, a Name.N list and a comma-separated list.
type scopedRequest struct {
	Word   string    `acs:"Word,required"`
	One    string    `acs:"InstanceId,resource"`
	Many   []string  `acs:"InstanceIds,resource"`
	Commas CommaList `acs:"InstanceIDs,resource"`
	Count  *int      `acs:"Count"`
}

// productScoped is addressed by a ProductType, like the billing calls.
type productScoped struct {
	ProductType string `acs:"ProductType"`
	InstanceId  string `acs:"InstanceId,required,resource"`
	Count       *int   `acs:"Count"`
}

func (r *productScoped) CallRegion() (moat.Region, error) { return ProductTypeRegion(r.ProductType) }

func TestActionReadsResourcesAndRegionFromTheDecodedRequest(t *testing.T) {
	a := Handle(func(ctx context.Context, call *Call, req *scopedRequest) (*echoResponse, error) { return nil, nil })
	if got, want := a.ResourceParams(), []string{"InstanceId", "InstanceIds", "InstanceIDs"}; !slices.Equal(got, want) {
		t.Fatalf("ResourceParams = %v, want %v", got, want)
	}
	if a.IsListing() || !Listing(func(ctx context.Context, call *Call, req *scopedRequest) (*echoResponse, error) { return nil, nil }).IsListing() {
		t.Fatal("Handle must not register a listing, Listing must")
	}
	call := &Call{Params: map[string]string{
		"Word": "w", "InstanceId": "a", "InstanceIds.2": "c", "InstanceIds.1": "b", "InstanceIds.3": "",
		"InstanceIDs": " d ,e,, ", "RegionId": "ap-southeast-1",
	}}
	req, err := a.bind(call)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := call.Resources, []string{"a", "b", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("Resources = %v, want %v (field order, list order, no empty IDs)", got, want)
	}
	if r, err := call.Region(); r != moat.RegionOverseas || err != nil {
		t.Errorf("Region = %q, %v; want the RegionId's", r, err)
	}
	if req.(*scopedRequest).Word != "w" {
		t.Errorf("request %+v, want Word w", req)
	}

	// The request's own region, and its error kept for the handler.
	p := Handle(func(ctx context.Context, call *Call, req *productScoped) (*echoResponse, error) { return nil, nil })
	call = &Call{Params: map[string]string{"ProductType": "ddosDip", "RegionId": "cn-hangzhou"}}
	if _, err := p.bind(call); moat.ErrorCode(err) != "MissingInstanceId" {
		t.Fatalf("bind without InstanceId: %v, want MissingInstanceId", err)
	}
	if r, err := call.Region(); r != moat.RegionOverseas || err != nil {
		t.Errorf("Region = %q, %v; want ddosDip's", r, err)
	}
	call = &Call{Params: map[string]string{"InstanceId": "x"}}
	if _, err := p.bind(call); err != nil {
		t.Fatal(err)
	}
	if _, err := call.Region(); moat.ErrorCode(err) != "MissingProductType" {
		t.Errorf("Region without ProductType: %v, want MissingProductType", err)
	}
}

func TestDecodeFillsEveryFieldAndReportsTheFirstFailure(t *testing.T) {
	var req scopedRequest
	err := Decode(map[string]string{"InstanceIds.x": "a", "Count": "many", "InstanceId": "b"}, &req)
	if moat.ErrorCode(err) != "MissingWord" {
		t.Fatalf("Decode = %v, want MissingWord (the first field's failure)", err)
	}
	if req.One != "b" || req.Many != nil || req.Count != nil {
		t.Errorf("request %+v: want InstanceId b despite the failures before and after it", req)
	}
}

func TestCommaListItems(t *testing.T) {
	for _, c := range []struct {
		in    CommaList
		items []string
		empty bool
	}{
		{"", nil, false},
		{"a", []string{"a"}, false},
		{" a , b ", []string{"a", "b"}, false},
		{"a,,b", []string{"a", "b"}, true},
		{" ", []string{}, true},
	} {
		items, empty := c.in.Items()
		if !slices.Equal(items, c.items) || empty != c.empty {
			t.Errorf("Items(%q) = %q, %v; want %q, %v", c.in, items, empty, c.items, c.empty)
		}
	}
}

// ramCreds is fakeCreds with a RAM user's key, recording what RAM is
// asked and refusing the instance "denied".
type ramCreds struct {
	*fakeCreds
	asked []string
}

func (f *ramCreds) Authorize(_ context.Context, c *moat.Caller, action string, region moat.Region, ids []string) error {
	f.asked = append(f.asked, action+" "+string(region)+" "+joinIDs(ids))
	if slices.Contains(ids, "denied") {
		return moat.Errorf(moat.CodeForbiddenRAM, "denied")
	}
	return nil
}

func joinIDs(ids []string) string {
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out + "]"
}

func TestRAMJudgesTheDecodedRequestBeforeItsFailures(t *testing.T) {
	tg := newTestGateway(t)
	creds := &ramCreds{fakeCreds: tg.creds}
	creds.keys["USER1"] = moat.AccessKey{ID: "USER1", Secret: "secret3", AccountID: "100", Active: true, UserName: "u"}
	served := 0
	product := &Product{Name: "ddoscoo", Version: "2020-01-01", RAMService: "svc", Actions: map[string]Action{
		"Scoped": Handle(func(ctx context.Context, call *Call, req *productScoped) (*echoResponse, error) {
			served++
			return &echoResponse{Word: req.InstanceId}, nil
		}),
	}}
	tg.Gateway = NewGateway(Config{Products: []*Product{product}, Credentials: creds, RealNow: func() time.Time { return tg.now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, c := range []struct {
		key, secret string
		params      map[string]string
		status      int
		code        string
		asked       string
	}{
		{"USER1", "secret3", map[string]string{"InstanceId": "i-1", "ProductType": "ddoscoo"}, 200, "", "svc:Scoped cn-hangzhou [i-1]"},
		{"USER1", "secret3", map[string]string{"InstanceId": "denied", "ProductType": "ddosDip"}, 403, "Forbidden.RAM", "svc:Scoped ap-southeast-1 [denied]"},
		// A region the call gets wrong is refused before RAM is asked.
		{"USER1", "secret3", map[string]string{"InstanceId": "i-1"}, 400, "MissingProductType", ""},
		// A RAM principal is judged on what the request names before a
		// parameter it got wrong is reported.
		{"USER1", "secret3", map[string]string{"InstanceId": "denied", "ProductType": "ddoscoo", "Count": "x"}, 403, "Forbidden.RAM", "svc:Scoped cn-hangzhou [denied]"},
		{"USER1", "secret3", map[string]string{"InstanceId": "i-1", "ProductType": "ddoscoo", "Count": "x"}, 400, "InvalidParameter", "svc:Scoped cn-hangzhou [i-1]"},
		{"AK1", "secret1", map[string]string{"InstanceId": "i-1", "ProductType": "ddoscoo", "Count": "x"}, 400, "InvalidParameter", ""},
		// The account's own keys: no RAM, and the handler gets the call.
		{"AK1", "secret1", map[string]string{"InstanceId": "denied", "ProductType": "ddoscoo"}, 200, "", ""},
	} {
		creds.asked, served = nil, 0
		p := map[string]string{"Action": "Scoped", "Format": "JSON"}
		for k, v := range c.params {
			p[k] = v
		}
		w, body := tg.do(tg.v1(http.MethodGet, c.key, c.secret, p))
		if w.Code != c.status || (c.code != "" && body["Code"] != c.code) {
			t.Errorf("%s %v: %d %v, want %d %s", c.key, c.params, w.Code, body["Code"], c.status, c.code)
		}
		if got := joinAsked(creds.asked); got != c.asked {
			t.Errorf("%s %v: RAM asked %q, want %q", c.key, c.params, got, c.asked)
		}
		if wantServed := map[bool]int{true: 1}[c.status == 200]; served != wantServed {
			t.Errorf("%s %v: handler ran %d times, want %d", c.key, c.params, served, wantServed)
		}
	}
}

func joinAsked(asked []string) string {
	if len(asked) == 0 {
		return ""
	}
	return asked[0]
}
