// Package admin is moat's own control API (JSON, PascalCase, bearer
// token): create accounts and instances, move the server clock, read the
// event log. It is served on the same listener under /_moat/v1/ only when
// an admin token is configured.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/acs/ddoscoo"
	"moat/internal/moat"
)

// Kicker wakes the lifecycle engine and waits for one pass.
type Kicker interface {
	Kick(ctx context.Context) error
}

// Service is what the admin API needs of moat's service.
type Service interface {
	PutAccount(ctx context.Context, accountID, keyID, secret string) (created bool, err error)
	Account(ctx context.Context, id string) (moat.Account, error)
	CreateInstances(ctx context.Context, spec moat.NewInstances) ([]moat.InstanceView, error)
	Clock() *moat.ServerClock
	MoveClock(ctx context.Context, set *time.Time, advance *time.Duration) (time.Time, time.Duration, error)
	Events(ctx context.Context, f moat.EventFilter) ([]moat.Event, error)
	CreateUser(ctx context.Context, account, name string) (moat.User, error)
	CreateAccessKey(ctx context.Context, account, userName string) (moat.AccessKey, error)
	PutUserPolicy(ctx context.Context, account, userName, name, doc string) error
	DeleteUserPolicy(ctx context.Context, account, userName, name string) error
	IssueSTS(ctx context.Context, account, userName string, duration time.Duration, policy string) (moat.STSCredentials, error)
	SetAccessKeyStatus(ctx context.Context, id string, status moat.KeyStatus) error
	DeleteAccessKey(ctx context.Context, id string) error
	FlushAudit(ctx context.Context) error
	Audit(ctx context.Context, f moat.AuditFilter) ([]moat.AuditRecord, error)
	CreateWebhook(ctx context.Context, accountID string, spec moat.WebhookSpec) (moat.Webhook, error)
	Webhooks(ctx context.Context, accountID string) ([]moat.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	WebhookDeliveries(ctx context.Context, id string, limit int) ([]moat.Delivery, error)
}

var _ Service = (*moat.Service)(nil)

// Server serves the admin API.
type Server struct {
	svc    Service
	engine Kicker
	token  string
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns the admin API handler. An empty token disables it (every
// route answers 404 saying how to enable it).
func New(svc Service, engine Kicker, token string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{svc: svc, engine: engine, token: token, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /_moat/v1/accounts", s.createAccount)
	s.mux.HandleFunc("POST /_moat/v1/instances", s.createInstances)
	s.mux.HandleFunc("GET /_moat/v1/clock", s.getClock)
	s.mux.HandleFunc("POST /_moat/v1/clock", s.setClock)
	s.mux.HandleFunc("GET /_moat/v1/events", s.events)
	s.mux.HandleFunc("POST /_moat/v1/accounts/{AccountId}/users", s.createUser)
	s.mux.HandleFunc("POST /_moat/v1/accounts/{AccountId}/users/{UserName}/access-keys", s.createUserKey)
	s.mux.HandleFunc("PUT /_moat/v1/accounts/{AccountId}/users/{UserName}/policies/{PolicyName}", s.putPolicy)
	s.mux.HandleFunc("DELETE /_moat/v1/accounts/{AccountId}/users/{UserName}/policies/{PolicyName}", s.deletePolicy)
	s.mux.HandleFunc("POST /_moat/v1/accounts/{AccountId}/users/{UserName}/sts", s.issueSTS)
	s.mux.HandleFunc("PATCH /_moat/v1/access-keys/{AccessKeyId}", s.setKeyStatus)
	s.mux.HandleFunc("DELETE /_moat/v1/access-keys/{AccessKeyId}", s.deleteKey)
	s.mux.HandleFunc("GET /_moat/v1/audit", s.audit)
	s.mux.HandleFunc("POST /_moat/v1/accounts/{AccountId}/webhooks", s.createWebhook)
	s.mux.HandleFunc("GET /_moat/v1/accounts/{AccountId}/webhooks", s.listWebhooks)
	s.mux.HandleFunc("DELETE /_moat/v1/webhooks/{WebhookId}", s.deleteWebhook)
	s.mux.HandleFunc("GET /_moat/v1/webhooks/{WebhookId}/deliveries", s.webhookDeliveries)
	return s
}

// MaxBody bounds an admin request body.
const MaxBody = 1 << 20

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.token == "" {
		writeError(w, moat.Errorf(moat.CodeAdminRouteNotFound, "The admin API is disabled; start moat serve with --admin-token (or MOAT_ADMIN_TOKEN) to enable it."))
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="moat admin"`)
		writeError(w, moat.Errorf(moat.CodeUnauthorized, "Send the admin token as \"Authorization: Bearer <token>\"."))
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("admin: panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
			writeError(rec, moat.Internal("admin", fmt.Errorf("panic: %v", p)))
		}
		s.log.Info("admin", "Method", r.Method, "Path", r.URL.Path, "Status", rec.status, "LatencyMs", float64(time.Since(start).Microseconds())/1000)
	}()
	// A path the mux would clean ("//", "/./") is not a route: the mux
	// would answer it with a redirect that a client re-sends its token to.
	if _, pattern := s.mux.Handler(r); pattern == "" || path.Clean(r.URL.Path) != r.URL.Path {
		writeError(rec, moat.Errorf(moat.CodeAdminRouteNotFound, "No admin route %s %s; see docs/ADMIN.md.", r.Method, r.URL.Path))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// status maps a Kind to the admin API's REST status, in one place.
func status(e *moat.Error) int {
	switch e.Kind {
	case moat.KindInvalid:
		return http.StatusBadRequest
	case moat.KindUnauthenticated:
		return http.StatusUnauthorized
	case moat.KindForbidden:
		return http.StatusForbidden
	case moat.KindNotFound:
		return http.StatusNotFound
	case moat.KindConflict:
		return http.StatusConflict
	case moat.KindThrottled:
		return http.StatusTooManyRequests
	case moat.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the admin API's error envelope.
type ErrorBody struct {
	Code    string
	Message string
}

func writeError(w http.ResponseWriter, err error) {
	e := moat.AsError(err)
	writeJSON(w, status(e), ErrorBody{Code: string(e.Code), Message: e.Message})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"Code":"InternalError","Message":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// readJSON decodes a strict JSON body: unknown fields and trailing data are
// errors, so a typo in a field name is reported instead of ignored.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return moat.Errorf(moat.CodeInvalidParameter, "The request body must be a JSON object.")
		}
		return moat.Errorf(moat.CodeInvalidParameter, "The request body is not valid JSON for this call: %v.", err)
	}
	if dec.More() {
		return moat.Errorf(moat.CodeInvalidParameter, "The request body has data after the JSON object.")
	}
	return nil
}

// AccountRequest creates an account with one AccessKey pair.
type AccountRequest struct {
	AccountId       string
	AccessKeyId     string
	AccessKeySecret string
}

// AccountResponse answers an account creation (the secret is not echoed).
type AccountResponse struct {
	AccountId   string
	AccessKeyId string
	Created     bool
	// ResourceGroupId is the account's default resource group, which its
	// instances join.
	ResourceGroupId string
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) {
	var req AccountRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	created, err := s.svc.PutAccount(r.Context(), req.AccountId, req.AccessKeyId, req.AccessKeySecret)
	if err != nil {
		writeError(w, err)
		return
	}
	acct, err := s.svc.Account(r.Context(), req.AccountId)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, AccountResponse{AccountId: req.AccountId, AccessKeyId: req.AccessKeyId, Created: created, ResourceGroupId: acct.ResourceGroupID})
}

// TagItem is a tag in an instance creation.
type TagItem struct {
	Key   string
	Value string
}

// InstancesRequest creates instances. The owner is the account of
// AccessKeyId, else AccountId, else the bootstrap account.
type InstancesRequest struct {
	AccountId   string
	AccessKeyId string
	RegionId    string
	Count       int
	ExpireTime  string // RFC 3339
	ExpireIn    string // Go duration relative to server time; may be negative
	Remark      string
	Edition     *int
	Tags        []TagItem
	// ResourceGroupId puts the instances in that group instead of the
	// account's default one.
	ResourceGroupId string
}

// Instance is an instance as DescribeInstances shows it, plus its owner,
// region and resource group.
type Instance struct {
	ddoscoo.Instance
	RegionId        string
	AccountId       string
	ResourceGroupId string
}

// InstancesResponse lists created instances.
type InstancesResponse struct {
	Instances []Instance
}

func (s *Server) createInstances(w http.ResponseWriter, r *http.Request) {
	var req InstancesRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	spec := moat.NewInstances{AccountID: req.AccountId, AccessKeyID: req.AccessKeyId, Region: moat.Region(req.RegionId), Count: req.Count, Remark: req.Remark, Edition: req.Edition,
		ResourceGroupID: req.ResourceGroupId, RequestID: acs.NewRequestID()}
	if req.Count < 0 {
		writeError(w, moat.InvalidParam("Count", fmt.Sprintf("it must be between 1 and %d", moat.MaxCreateCount)))
		return
	}
	for _, t := range req.Tags {
		if t.Key == "" {
			writeError(w, moat.InvalidParam("Tags", "every tag needs a Key"))
			return
		}
		spec.Tags = append(spec.Tags, moat.Tag{Key: t.Key, Value: t.Value})
	}
	if req.ExpireTime != "" {
		t, err := time.Parse(time.RFC3339, req.ExpireTime)
		if err != nil {
			writeError(w, moat.InvalidParam("ExpireTime", "an RFC 3339 time such as 2026-12-01T00:00:00Z"))
			return
		}
		spec.ExpireTime = &t
	}
	if req.ExpireIn != "" {
		d, err := time.ParseDuration(req.ExpireIn)
		if err != nil {
			writeError(w, moat.InvalidParam("ExpireIn", "a Go duration such as 720h or -1h"))
			return
		}
		spec.ExpireIn = &d
	}
	views, err := s.svc.CreateInstances(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	resp := InstancesResponse{Instances: make([]Instance, 0, len(views))}
	for _, v := range views {
		resp.Instances = append(resp.Instances, Instance{Instance: ddoscoo.InstanceOf(v), RegionId: string(v.Region), AccountId: v.AccountID, ResourceGroupId: v.ResourceGroupID})
	}
	writeJSON(w, http.StatusCreated, resp)
}

// ClockRequest moves the clock: exactly one of Advance and Set.
type ClockRequest struct {
	Advance string // Go duration, may be negative
	Set     string // RFC 3339
}

// ClockResponse is server time and its offset from real time.
type ClockResponse struct {
	Now      string // RFC 3339 with milliseconds
	Offset   string // Go duration
	OffsetMs int64
}

func clockResponse(now time.Time, offset time.Duration) ClockResponse {
	return ClockResponse{Now: now.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Offset: offset.String(), OffsetMs: offset.Milliseconds()}
}

func (s *Server) getClock(w http.ResponseWriter, r *http.Request) {
	c := s.svc.Clock()
	writeJSON(w, http.StatusOK, clockResponse(c.Now(), c.Offset()))
}

func (s *Server) setClock(w http.ResponseWriter, r *http.Request) {
	var req ClockRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	var set *time.Time
	var adv *time.Duration
	if req.Set != "" {
		t, err := time.Parse(time.RFC3339, req.Set)
		if err != nil {
			writeError(w, moat.Errorf(moat.CodeInvalidAdminClock, "Set must be an RFC 3339 time such as 2026-12-01T00:00:00Z."))
			return
		}
		set = &t
	}
	if req.Advance != "" {
		d, err := time.ParseDuration(req.Advance)
		if err != nil {
			writeError(w, moat.Errorf(moat.CodeInvalidAdminClock, "Advance must be a Go duration such as 168h or -30m."))
			return
		}
		adv = &d
	}
	now, offset, err := s.svc.MoveClock(r.Context(), set, adv)
	if err != nil {
		writeError(w, err)
		return
	}
	// Act on the new time at once: the response returns after the engine
	// has applied every transition now due.
	if s.engine != nil {
		if err := s.engine.Kick(r.Context()); err != nil {
			writeError(w, moat.Internal("lifecycle pass", err))
			return
		}
	}
	writeJSON(w, http.StatusOK, clockResponse(now, offset))
}
