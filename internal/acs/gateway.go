package acs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"moat/internal/moat"
)

// codeClientClosed and statusClientClosed are what the request log and
// metrics show for a client that went away before its answer (nginx's
// 499); nothing is sent.
const (
	codeClientClosed   = "ClientClosedRequest"
	statusClientClosed = 499
)

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
	act, ok := product.Actions[action]
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
	// The request is decoded once: RAM, the audit record and the handler
	// read the same one.
	in, decodeErr := act.bind(call)
	o.resources = call.Resources
	if err := g.authorize(r.Context(), product, act, call); err != nil {
		return 0, err
	}
	if decodeErr != nil {
		return 0, decodeErr
	}
	resp, err := act.serve(r.Context(), call, in)
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
	h.Set(headerRequestID, o.requestID)
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
// call names (or, for a listing, sees only those it may). It runs before
// the request's decoding failure, if any, is reported, so such a caller
// is refused for what it asked before it is told what it got wrong, and a
// call whose region is wrong is refused before RAM judges it.
func (g *Gateway) authorize(ctx context.Context, p *Product, a Action, call *Call) error {
	if call.Caller.Type == moat.PrincipalAccount {
		return nil
	}
	region, err := call.Region()
	if err != nil {
		return err
	}
	ramAction := p.ramAction(call.Action)
	if a.list {
		access, err := g.creds.ListAccess(ctx, &call.Caller, ramAction, region)
		if err != nil {
			return err
		}
		call.Caller.Access = access
		return nil
	}
	return g.creds.Authorize(ctx, &call.Caller, ramAction, region, call.Resources)
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
