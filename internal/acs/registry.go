package acs

import (
	"context"
	"net"
	"reflect"
	"strings"

	"moat/internal/moat"
)

// Product is one API product at one version, e.g. ddoscoo 2020-01-01.
type Product struct {
	Name    string
	Version string
	// RAMService is the product's prefix in RAM policy actions
	// (yundun-ddoscoo, bss): a call of action A is judged as the RAM
	// action RAMService:A.
	RAMService string
	// Label names the product in audit records and metrics, before
	// ":<Action>": "ddoscoo", "bss". Name when empty. BSS is labelled with
	// its RAM prefix, so that an operator filters the audit log with the
	// action a policy names (bss:CreateInstance), while Name (BssOpenApi)
	// stays the API's own name in error messages and the Recommend link.
	Label string
	// Actions is the product's registry: one entry per action, made by
	// Handle or Listing, holding everything the gateway needs for it.
	Actions map[string]Action
}

// Action is one action of a product: how its request is decoded, which of
// the request's parameters name the instances it acts on (tagged
// ",resource"; see Decode), where its region comes from (see Regioned),
// whether RAM narrows it as a listing, and the handler. The RAM check,
// the audit record and the handler all read the one decoded request.
type Action struct {
	list      bool
	resources []string
	// bind decodes a call's parameters and derives its resources and
	// region into call; it returns the request and the first decoding
	// failure (the request is filled as far as it could be).
	bind  func(call *Call) (req any, err error)
	serve func(ctx context.Context, call *Call, req any) (any, error)
}

// IsListing reports whether RAM narrows the action's answer to what the
// caller may see rather than refusing the call.
func (a Action) IsListing() bool { return a.list }

// ResourceParams are the parameters that name the instances a call acts
// on (a single value, a Name.N list or a CommaList).
func (a Action) ResourceParams() []string { return a.resources }

// Handle registers a typed handler: the gateway decodes the parameters
// into Req (see Decode) and the handler returns Resp, which must embed
// Response. RAM allows or refuses the call as a whole, on every instance
// its resource parameters name, or on "*" when they name none.
func Handle[Req any, Resp any](fn func(ctx context.Context, call *Call, req *Req) (*Resp, error)) Action {
	plan, err := planFor(reflect.TypeFor[Req]())
	if err != nil {
		// A wrongly tagged request struct is a programming error, found
		// when the product table is built at start.
		panic(err)
	}
	_, regioned := any(new(Req)).(Regioned)
	return Action{
		resources: plan.resourceNames(),
		bind: func(call *Call) (any, error) {
			req := new(Req)
			v := reflect.ValueOf(req).Elem()
			err := plan.decode(call.Params, "", v)
			call.Resources = plan.resourcesOf(v)
			if r, ok := any(req).(Resourced); ok {
				call.Resources = append(call.Resources, r.ResourceIDs()...)
			}
			if regioned {
				call.region, call.regionErr = any(req).(Regioned).CallRegion()
			} else {
				call.region, call.regionErr = call.RequestedRegion()
			}
			return req, err
		},
		serve: func(ctx context.Context, call *Call, req any) (any, error) {
			return fn(ctx, call, req.(*Req))
		},
	}
}

// Invoke decodes call's parameters and runs the handler, as the gateway
// does once the call is authenticated and RAM has judged it: a handler
// test drives its action this way, with a fake service behind it.
func (a Action) Invoke(ctx context.Context, call *Call) (any, error) {
	req, err := a.bind(call)
	if err != nil {
		return nil, err
	}
	return a.serve(ctx, call, req)
}

// Listing registers a listing's handler, as Handle does; RAM does not
// refuse a listing but tells the handler, in Caller.Access, which of the
// region's instances the caller may see.
func Listing[Req any, Resp any](fn func(ctx context.Context, call *Call, req *Req) (*Resp, error)) Action {
	a := Handle(fn)
	a.list = true
	return a
}

// Resourced is implemented by a request that names instances inside a
// parameter's value (the NetworkRules JSON of the rule calls): its
// ResourceIDs, read leniently from the decoded request (a value that does
// not parse names nothing; the handler reports it), join those of its
// ",resource" fields.
type Resourced interface {
	ResourceIDs() []string
}

// Regioned is implemented by a request whose region is not the one its
// common parameters address (Call.RequestedRegion): the billing calls'
// and ModifyInstance's ProductType, DescribeInstanceStatus' 1 or 2.
type Regioned interface {
	CallRegion() (moat.Region, error)
}

// Call is an authenticated request on its way to a handler.
type Call struct {
	RequestID string
	Action    string
	Caller    moat.Caller
	Params    map[string]string
	Host      string
	// Resources are the instance IDs the call names, read from its
	// decoded request: what RAM judges and the audit record lists.
	Resources []string
	// region is where the call is judged and served, derived once from
	// its decoded request; regionErr is why it has none.
	region    moat.Region
	regionErr error
}

// Region is the region the call addresses, as the action's registration
// derives it (Regioned, else RequestedRegion). A RAM principal's call
// with no valid region is refused before RAM judges it; for the account's
// own keys the error surfaces here, where the handler first needs it.
func (c *Call) Region() (moat.Region, error) { return c.region, c.regionErr }

// RequestedRegion is the region the common parameters address: the
// RegionId parameter; else the region in an Alibaba endpoint host name
// (ddoscoo.ap-southeast-1.aliyuncs.com), which is how the v3 SDKs, which
// send no RegionId, address a region; else cn-hangzhou.
func (c *Call) RequestedRegion() (moat.Region, error) {
	if r := c.Params[paramRegionID]; r != "" {
		return moat.ParseRegion(r)
	}
	if r, ok := regionFromHost(c.Host); ok {
		return r, nil
	}
	return moat.DefaultRegion, nil
}

// paramRegionID and paramProductType are the parameters that address a
// region.
const (
	paramRegionID    = "RegionId"
	paramProductType = "ProductType"
)

// ProductTypeRegion is the region a ProductType parameter names (the
// billing calls and ModifyInstance address their region that way).
func ProductTypeRegion(productType string) (moat.Region, error) {
	if productType == "" {
		return "", moat.MissingParam(paramProductType)
	}
	p, err := moat.ParseProductType(productType)
	if err != nil {
		return "", err
	}
	return p.Region(), nil
}

func regionFromHost(host string) (moat.Region, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	parts := strings.Split(strings.ToLower(host), ".")
	if len(parts) != 4 || parts[2] != "aliyuncs" || parts[3] != "com" {
		return "", false
	}
	r, err := moat.ParseRegion(parts[1])
	return r, err == nil
}

// ramAction is the RAM action a call of the product's action is judged as.
func (p *Product) ramAction(action string) string {
	return p.RAMService + ":" + action
}
