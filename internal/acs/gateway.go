package acs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"moat/internal/moat"
)

// MaxClockSkew is how far a request's Timestamp (v1) or x-acs-date (v3) may
// be from the real clock, either way (the V3 signature doc and the older
// gateway table both say 15 minutes).
const MaxClockSkew = 15 * time.Minute

// MaxNonceLength bounds a SignatureNonce; SDK nonces are 32 hex characters
// and the docs suggest a UUID.
const MaxNonceLength = 128

// codeClientClosed and statusClientClosed are what the request log and
// metrics show for a client that went away before its answer (nginx's
// 499); nothing is sent.
const (
	codeClientClosed   = "ClientClosedRequest"
	statusClientClosed = 499
)

// Handler serves one action.
type Handler func(ctx context.Context, call *Call) (any, error)

// Call is an authenticated request on its way to a handler.
type Call struct {
	RequestID string
	Action    string
	Caller    moat.Caller
	Params    map[string]string
	Host      string
}

// Region resolves the region a call addresses: the RegionId parameter;
// else the region in an Alibaba endpoint host name
// (ddoscoo.ap-southeast-1.aliyuncs.com), which is how the v3 SDKs, which
// send no RegionId, address a region; else cn-hangzhou.
func (c *Call) Region() (moat.Region, error) {
	if r := c.Params["RegionId"]; r != "" {
		return moat.ParseRegion(r)
	}
	if r, ok := regionFromHost(c.Host); ok {
		return r, nil
	}
	return moat.DefaultRegion, nil
}

// ProductTypeRegion is the region a call's ProductType parameter names
// (the billing calls and ModifyInstance address their region that way).
func ProductTypeRegion(c *Call) (moat.Region, error) {
	if c.Params["ProductType"] == "" {
		return "", moat.MissingParam("ProductType")
	}
	p, err := moat.ParseProductType(c.Params["ProductType"])
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

// Handle adapts a typed handler: it decodes the parameters into Req (see
// Decode) and returns Resp, which must embed Response.
func Handle[Req any, Resp any](fn func(ctx context.Context, call *Call, req *Req) (*Resp, error)) Handler {
	return func(ctx context.Context, call *Call) (any, error) {
		var req Req
		if err := Decode(call.Params, &req); err != nil {
			return nil, err
		}
		return fn(ctx, call, &req)
	}
}

// Product is one API product at one version, e.g. ddoscoo 2020-01-01.
type Product struct {
	Name    string
	Version string
	// RAMService is the product's prefix in RAM policy actions
	// (yundun-ddoscoo, bss).
	RAMService string
	// Label names the product in audit records and metrics, before
	// ":<Action>": "ddoscoo", "bss". Name when empty. BSS is labelled with
	// its RAM prefix, so that an operator filters the audit log with the
	// action a policy names (bss:CreateInstance), while Name (BssOpenApi)
	// stays the API's own name in error messages and the Recommend link.
	Label   string
	Actions map[string]Handler
	// Targets says, per action, which instances a call concerns, for
	// authorization and the audit log. An action without one concerns
	// "*" (BSS CreateInstance).
	Targets map[string]Target
}

// Target names the instances an action addresses.
type Target struct {
	// IDs are the parameters holding instance IDs: a single value
	// ("InstanceId"), a list ("InstanceIds" for InstanceIds.1..N), or a
	// comma-separated list ("InstanceIDs", BSS's spelling).
	IDs []string
	// List marks a listing: a RAM principal sees only what it may.
	List bool
	// Region is where the instances are; Call.Region when nil.
	Region func(call *Call) (moat.Region, error)
}

// ids collects the instance IDs a call names.
func (t *Target) ids(params map[string]string) []string {
	var out []string
	for _, name := range t.IDs {
		if v, ok := params[name]; ok && v != "" {
			if name == "InstanceIDs" {
				for _, id := range strings.Split(v, ",") {
					if id = strings.TrimSpace(id); id != "" {
						out = append(out, id)
					}
				}
			} else {
				out = append(out, v)
			}
		}
		if idx, err := listIndexes(params, name); err == nil {
			for _, n := range idx {
				if v := params[name+"."+strconv.Itoa(n)]; v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// Credentials is what the gateway needs to authenticate and authorize a
// request, and to audit it (moat.Service implements it).
type Credentials interface {
	// AccessKey returns the key or a *moat.Error with
	// InvalidAccessKeyId.NotFound.
	AccessKey(ctx context.Context, id string) (moat.AccessKey, error)
	// UseNonce records the nonce durably, or fails with SignatureNonceUsed.
	UseNonce(ctx context.Context, keyID, nonce string) error
	// CheckSecurityToken verifies an STS token against its key.
	CheckSecurityToken(k moat.AccessKey, token string) error
	// Authorize and ListAccess decide what a RAM principal may do.
	Authorize(ctx context.Context, c *moat.Caller, action string, region moat.Region, ids []string) error
	ListAccess(ctx context.Context, c *moat.Caller, action string, region moat.Region) (*moat.Access, error)
	// RecordAudit queues an audit record.
	RecordAudit(rec moat.AuditRecord)
}

// Config configures a Gateway.
type Config struct {
	Products    []*Product
	Credentials Credentials
	// RealNow is the wall clock for timestamp checks (never the movable
	// server clock). time.Now when nil.
	RealNow func() time.Time
	// ServerNow stamps audit records (the server clock). RealNow when nil.
	ServerNow func() time.Time
	Logger    *slog.Logger
	// Limiter throttles calls per principal and action (nil: none).
	Limiter *Limiter
	// Observe, when set, is told of every answered request: the route
	// ("ddoscoo:DescribeInstances", or "unknown" for an action moat does
	// not serve, so clients cannot grow the set), the error code ("" on
	// success), the HTTP status and the time taken.
	Observe func(route, code string, status int, d time.Duration)
}

// Gateway is the http.Handler for the RPC endpoint.
type Gateway struct {
	products map[string]*Product
	creds    Credentials
	now      func() time.Time
	server   func() time.Time
	log      *slog.Logger
	limiter  *Limiter
	observe  func(route, code string, status int, d time.Duration)
}

// NewGateway returns a Gateway.
func NewGateway(c Config) *Gateway {
	g := &Gateway{products: map[string]*Product{}, creds: c.Credentials, now: c.RealNow, server: c.ServerNow, log: c.Logger, limiter: c.Limiter, observe: c.Observe}
	if g.now == nil {
		g.now = time.Now
	}
	if g.server == nil {
		g.server = g.now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	for _, p := range c.Products {
		g.products[p.Version] = p
	}
	return g
}

// outcome is what the request log line reports.
type outcome struct {
	requestID, keyID, action, version, product, label, code string
	status                                                  int
	// route is label:Action once the action is known to be served.
	route string
	cause error
	// caller and resources, once authenticated, for the audit record.
	caller    *moat.Caller
	resources []string
}

// served names the products and versions, for an InvalidVersion message.
func (g *Gateway) served() string {
	var parts []string
	for v, p := range g.products {
		parts = append(parts, p.Name+" is "+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o := outcome{requestID: NewRequestID()}
	abort := false
	defer func() {
		if p := recover(); p != nil {
			o.cause = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			e := moat.Internal("serve", o.cause)
			o.code, o.status = string(e.Code), writeError(w, o.requestID, r.Host, o.product, e)
		}
		d := time.Since(start)
		g.logRequest(r.Context(), &o, d)
		if g.observe != nil {
			route := o.route
			if route == "" {
				route = "unknown"
			}
			g.observe(route, o.code, o.status, d)
		}
		g.audit(&o)
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	status, err := g.serve(w, r, &o)
	var broken *errStreamBroken
	if errors.As(err, &broken) {
		// The status and part of the body are out: cut the connection
		// (after the deferred log and audit) so the client cannot take
		// the truncated list for a whole one.
		o.code, o.status = string(moat.CodeInternalError), http.StatusOK
		if r.Context().Err() != nil {
			o.code, o.status = codeClientClosed, statusClientClosed
		} else {
			o.cause = broken.err
		}
		abort = true
		return
	}
	if err != nil && r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away; there is no one to answer and nothing
		// went wrong on this side (nginx's 499, for the log only).
		o.code, o.status = codeClientClosed, statusClientClosed
		return
	}
	if err != nil {
		e := moat.AsError(err)
		if e.Kind == moat.KindInternal || e.Kind == moat.KindUnavailable {
			o.cause = err
		}
		o.code, o.status = string(e.Code), writeError(w, o.requestID, r.Host, o.product, e)
		return
	}
	o.status = status
}

// audit records an authenticated call.
func (g *Gateway) audit(o *outcome) {
	if o.caller == nil {
		return
	}
	g.creds.RecordAudit(moat.AuditRecord{
		Time: g.server(), AccountID: o.caller.AccountID, Principal: o.caller.Principal(),
		SourceIP: addrString(o.caller.Env.SourceIP), Action: o.label + ":" + o.action,
		Resources: o.resources, Code: auditCode(o.code), RequestID: o.requestID,
	})
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func (g *Gateway) logRequest(ctx context.Context, o *outcome, d time.Duration) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("RequestId", o.requestID),
		slog.String("AccessKeyId", o.keyID),
		slog.String("Action", o.action),
		slog.String("Version", o.version),
		slog.String("Code", o.code),
		slog.Int("Status", o.status),
		slog.Float64("LatencyMs", float64(d.Microseconds())/1000),
	}
	if o.cause != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("Cause", o.cause.Error()))
	}
	g.log.LogAttrs(ctx, level, "request", attrs...)
}

// serve handles one request and returns the success status, or the error
// to send.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, o *outcome) (int, error) {
	if r.URL.Path != "/" {
		return 0, moat.Errorf(moat.CodeInvalidAPINotFound, "Specified api is not found, please check your url and method: RPC requests go to path \"/\".")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return 0, moat.Errorf(moat.CodeUnsupportedHTTPMethod, "This http method (%s) is not supported; use GET or POST.", printable(r.Method))
	}
	req, err := ReadRequest(r)
	if err != nil {
		return 0, err
	}
	authz := r.Header.Get("Authorization")
	v3 := strings.HasPrefix(authz, "ACS3-")
	if v3 {
		if err := singleV3Headers(r.Header); err != nil {
			return 0, err
		}
	}

	format, err := responseFormat(req, v3)
	if err != nil {
		return 0, err
	}

	// Action and Version: signed parameters for v1; for v3 the signed
	// x-acs-action / x-acs-version headers.
	version, action := req.Params["Version"], req.Params["Action"]
	if v3 {
		if h := r.Header.Get("x-acs-version"); h != "" {
			version = h
		}
		if h := r.Header.Get("x-acs-action"); h != "" {
			action = h
		}
	}
	o.version, o.action = printable(version), printable(action)
	if version == "" {
		return 0, moat.MissingParam("Version")
	}
	product, ok := g.products[version]
	if !ok {
		return 0, moat.Errorf(moat.CodeInvalidVersion, "Specified parameter Version is not valid: %q is not a version moat serves (%s).", printable(version), g.served())
	}
	o.product, o.label = product.Name, product.Name
	if product.Label != "" {
		o.label = product.Label
	}
	if action == "" {
		return 0, moat.MissingParam("Action")
	}
	handler, ok := product.Actions[action]
	if !ok {
		return 0, moat.Errorf(moat.CodeInvalidActionNotFound, "Specified api is not found, please check your url and method: %s has no action %q at version %s.", product.Name, printable(action), version)
	}
	o.route = o.label + ":" + action

	var caller moat.Caller
	if v3 {
		caller, err = g.authV3(r.Context(), req, authz, o)
	} else {
		caller, err = g.authV1(r.Context(), req, o)
	}
	if err != nil {
		return 0, err
	}
	caller.Env = envOf(r)
	o.caller = &caller

	call := &Call{RequestID: o.requestID, Action: action, Caller: caller, Params: req.Params, Host: r.Host}
	if g.limiter != nil {
		if err := g.limiter.Allow(throttleKey(&caller), action); err != nil {
			if e := moat.AsError(err); e.RetryAfter > 0 {
				setRateLimitHeader(w, e.RetryAfter)
			}
			return 0, err
		}
	}
	if err := g.authorize(r.Context(), product, action, call, o); err != nil {
		return 0, err
	}
	resp, err := handler(r.Context(), call)
	if err != nil {
		return 0, err
	}
	if s, ok := resp.(requestIDSetter); ok {
		s.SetRequestID(o.requestID)
	}
	if list, name, ok := findList(resp); ok {
		return writeStreamed(w, format, action, o.requestID, resp, list, name)
	}
	body, ctype, err := encodeSuccess(format, action, resp)
	if err != nil {
		return 0, moat.Internal("encode response", err)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-acs-request-id", o.requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return http.StatusOK, nil
}

// envOf is what a request carries for policy conditions: the peer's
// address (the connection's, never a header a client could forge) and
// whether it came over TLS.
func envOf(r *http.Request) moat.Env {
	var env moat.Env
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		env.SourceIP = ap.Addr().Unmap()
	}
	env.SecureTransport = r.TLS != nil || forwardedSecure(r)
	return env
}

// authorize applies RAM: the account's own keys may do everything; a RAM
// user or STS session must be allowed the action on the instances the
// call names (or, for a listing, sees only those it may).
func (g *Gateway) authorize(ctx context.Context, p *Product, action string, call *Call, o *outcome) error {
	t := p.Targets[action]
	o.resources = t.ids(call.Params)
	if call.Caller.Type == moat.PrincipalAccount {
		return nil
	}
	region := moat.DefaultRegion
	var err error
	if t.Region != nil {
		region, err = t.Region(call)
	} else {
		region, err = call.Region()
	}
	if err != nil {
		return err
	}
	ramAction := p.RAMService + ":" + action
	if t.List {
		access, err := g.creds.ListAccess(ctx, &call.Caller, ramAction, region)
		if err != nil {
			return err
		}
		call.Caller.Access = access
		return nil
	}
	return g.creds.Authorize(ctx, &call.Caller, ramAction, region, o.resources)
}

// responseFormat applies the Format rules: the parameter, case-insensitive,
// wins; without it a v3 request, or one that accepts application/json, gets
// JSON (the v3 SDKs send no Format and cannot read XML); otherwise XML, the
// documented default.
func responseFormat(req *Request, v3 bool) (Format, error) {
	if f, ok := req.Params["Format"]; ok {
		switch strings.ToUpper(f) {
		case "JSON":
			return FormatJSON, nil
		case "XML":
			return FormatXML, nil
		}
		return 0, moat.Errorf(moat.CodeInvalidParameterFormat, "Specified parameter format is not valid: Format must be JSON or XML, not %q.", printable(f))
	}
	if v3 || strings.Contains(strings.ToLower(req.Header.Get("Accept")), "application/json") {
		return FormatJSON, nil
	}
	return FormatXML, nil
}

func (g *Gateway) checkTimestamp(name, v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return moat.Errorf(moat.CodeInvalidTimeStampFormat, "Specified time stamp or date value is not well formatted: %s must look like 2006-01-02T15:04:05Z (UTC).", name)
	}
	now := g.now()
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return moat.Errorf(moat.CodeInvalidTimeStampExpired, "Specified time stamp or date value is expired: %s %s is more than 15 minutes from the server's time %s.", name, t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func checkNonce(n string) error {
	if len(n) > MaxNonceLength {
		return moat.InvalidParam("SignatureNonce", fmt.Sprintf("at most %d characters", MaxNonceLength))
	}
	return nil
}

func (g *Gateway) lookupKey(ctx context.Context, id string) (moat.AccessKey, error) {
	k, err := g.creds.AccessKey(ctx, id)
	if err != nil {
		return k, err
	}
	if !k.Active {
		return k, moat.Errorf(moat.CodeInvalidAccessKeyInactive, "Specified access key is disabled.")
	}
	return k, nil
}

const signatureMismatch = "Specified signature is not matched with our calculation. server string to sign is:"

// MaxEchoedStringToSign bounds the string to sign a SignatureDoesNotMatch
// message repeats. Clients debug with it (sdk-go v1 compares it with its
// own), and an SDK request's, even one naming 200 instances, is far
// shorter; but v1 encodes every value twice, so a '*' costs 5 bytes in it
// and a forged 1 MB request would otherwise get a 5 MB answer.
const MaxEchoedStringToSign = 32 << 10

// signatureMismatchError repeats sts exactly when it is at most
// MaxEchoedStringToSign bytes, else its beginning and a marker saying how
// long it is.
func signatureMismatchError(sts string) *moat.Error {
	if len(sts) > MaxEchoedStringToSign {
		sts = fmt.Sprintf("%s… [cut: the string to sign has %d bytes; the first %d are shown]", sts[:MaxEchoedStringToSign], len(sts), MaxEchoedStringToSign)
	}
	return moat.Errorf(moat.CodeSignatureDoesNotMatch, "%s", signatureMismatch+sts)
}

// authV1 verifies an HMAC-SHA1 signed request (V2 RPC signature doc).
func (g *Gateway) authV1(ctx context.Context, req *Request, o *outcome) (moat.Caller, error) {
	p := req.Params
	// Logged even when the request fails below, so an operator sees which
	// key sends malformed requests.
	o.keyID = printable(p["AccessKeyId"])
	for _, name := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if p[name] == "" {
			return moat.Caller{}, moat.MissingParam(name)
		}
	}
	if p["SignatureMethod"] != "HMAC-SHA1" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureMethod %q is not supported; use HMAC-SHA1.", printable(p["SignatureMethod"]))
	}
	if p["SignatureVersion"] != "1.0" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureVersion %q is not supported; use 1.0.", printable(p["SignatureVersion"]))
	}
	if t := p["SignatureType"]; t != "" {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignatureType %q is not supported; omit it or leave it empty.", printable(t))
	}
	if err := checkNonce(p["SignatureNonce"]); err != nil {
		return moat.Caller{}, err
	}
	if err := g.checkTimestamp("Timestamp", p["Timestamp"]); err != nil {
		return moat.Caller{}, err
	}
	k, err := g.lookupKey(ctx, p["AccessKeyId"])
	if err != nil {
		return moat.Caller{}, err
	}
	sts := StringToSignV1(req.Method, p)
	if !equal(SignV1(k.Secret, sts), p["Signature"]) {
		return moat.Caller{}, signatureMismatchError(sts)
	}
	if err := g.creds.CheckSecurityToken(k, p["SecurityToken"]); err != nil {
		return moat.Caller{}, err
	}
	if err := g.creds.UseNonce(ctx, k.ID, p["SignatureNonce"]); err != nil {
		return moat.Caller{}, err
	}
	return moat.CallerOf(k, moat.Env{}), nil
}

// requiredV3 are the headers a v3 signature must cover: without them a
// captured request could be re-aimed (action), replayed (date, nonce) or
// given another body (content hash).
var requiredV3 = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}

// authV3 verifies an ACS3-HMAC-SHA256 signed request (V3 signature doc).
func (g *Gateway) authV3(ctx context.Context, req *Request, authz string, o *outcome) (moat.Caller, error) {
	a, ok := ParseV3Authorization(authz)
	if !ok {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "The Authorization header is malformed; expected \"ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2>,Signature=<hex>\".")
	}
	o.keyID = printable(a.AccessKeyID)
	if a.Algorithm != AlgorithmV3 {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "Signature algorithm %q is not supported; use %s.", printable(a.Algorithm), AlgorithmV3)
	}
	signed := map[string]bool{}
	for _, h := range a.SignedHeaders {
		if h != strings.ToLower(h) || h == "" {
			return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must list lower-case header names.")
		}
		signed[h] = true
	}
	for _, h := range requiredV3 {
		if !signed[h] {
			return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include %s.", h)
		}
	}
	hd := req.Header
	// Content-Type decides whether the body is read as parameters, so an
	// unsigned one would let a captured request's body be dropped or
	// reinterpreted (the SDKs sign it whenever they send a body).
	if len(req.Body) > 0 && hd.Get("Content-Type") != "" && !signed["content-type"] {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include content-type when the request has a body.")
	}
	if err := checkV3QueryNames(req.Query); err != nil {
		return moat.Caller{}, err
	}
	nonce, date := hd.Get("x-acs-signature-nonce"), hd.Get("x-acs-date")
	if nonce == "" {
		return moat.Caller{}, moat.MissingParam("SignatureNonce")
	}
	if date == "" {
		return moat.Caller{}, moat.MissingParam("Timestamp")
	}
	if err := checkNonce(nonce); err != nil {
		return moat.Caller{}, err
	}
	if err := g.checkTimestamp("x-acs-date", date); err != nil {
		return moat.Caller{}, err
	}
	k, err := g.lookupKey(ctx, a.AccessKeyID)
	if err != nil {
		return moat.Caller{}, err
	}
	hashed := hd.Get("x-acs-content-sha256")
	cr := CanonicalRequestV3(req.Method, "/", req.Query, hd, req.Host, a.SignedHeaders, hashed)
	sts := StringToSignV3(cr)
	if !equal(SignV3(k.Secret, sts), a.Signature) {
		return moat.Caller{}, signatureMismatchError(sts)
	}
	// The signature covers the declared hash; the body must match it.
	if !equal(hashed, HashPayload(req.Body)) {
		return moat.Caller{}, moat.Errorf(moat.CodeSignatureDoesNotMatch, "The x-acs-content-sha256 header does not match the SHA-256 of the request body.")
	}
	// An STS token travels in x-acs-security-token, which the SDKs sign.
	token := hd.Get("x-acs-security-token")
	if token != "" && !signed["x-acs-security-token"] {
		return moat.Caller{}, moat.Errorf(moat.CodeIncompleteSignature, "SignedHeaders must include x-acs-security-token when it is sent.")
	}
	if err := g.creds.CheckSecurityToken(k, token); err != nil {
		return moat.Caller{}, err
	}
	if err := g.creds.UseNonce(ctx, k.ID, nonce); err != nil {
		return moat.Caller{}, err
	}
	return moat.CallerOf(k, moat.Env{}), nil
}

// v3Headers are the headers a v3 request is routed and verified by.
var v3Headers = []string{"Authorization", "Content-Type", "x-acs-action", "x-acs-version", "x-acs-date",
	"x-acs-signature-nonce", "x-acs-content-sha256", "x-acs-security-token"}

// singleV3Headers refuses a v3 request that repeats one of v3Headers: the
// canonical request joins a header's values, but routing reads only the
// first, so a client that signed two values could see them reordered into
// another request (the same reason a repeated parameter is refused).
func singleV3Headers(h http.Header) error {
	for _, name := range v3Headers {
		if len(h.Values(name)) > 1 {
			return moat.Errorf(moat.CodeInvalidParameter, "The header %s appears more than once in the request; give it once.", name)
		}
	}
	return nil
}

// checkV3QueryNames refuses v3 query parameter names that percent-encoding
// would change. The v3 canonical query writes names unencoded (as the SDKs
// do), so a name holding '=' or '&' would make two different queries
// canonicalize, and verify, alike ("a=1&b=2" and a single name "a=1&b"
// with value "2"); the SDKs' names are letters, digits and dots.
func checkV3QueryNames(q map[string]string) error {
	for k := range q {
		if PercentEncode(k) != k {
			return moat.Errorf(moat.CodeInvalidParameter, "The query parameter name %s is not valid in a signature v3 request: use letters, digits, '-', '_', '.' and '~'.", printable(k))
		}
	}
	return nil
}

// auditCode is the result an audit record shows: the error code, or "OK".
func auditCode(code string) string {
	if code == "" {
		return "OK"
	}
	return code
}

// throttleKey is whose budget a call spends: the account's own keys share
// one, and a RAM user's keys and the STS sessions issued for that user
// share the user's (temporary credentials must not multiply a limit).
func throttleKey(c *moat.Caller) string {
	if c.UserName != "" {
		return c.AccountID + "/user/" + c.UserName
	}
	return c.AccountID + "/root"
}
