package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls the admin API; `moat admin`, the benchmarks and the tests
// use it. Its typed methods are the only place outside the server that
// spells the API's paths.
type Client struct {
	Endpoint string // e.g. http://127.0.0.1:9180
	Token    string
	HTTP     *http.Client

	// answer, when set, receives each answer's body as the server sent it.
	answer *[]byte
}

// Recording returns a copy of c that also stores the body of each answer,
// success or error, in *dst: `moat admin` prints the server's own JSON
// rather than a re-encoding of the decoded value.
func (c *Client) Recording(dst *[]byte) *Client {
	cc := *c
	cc.answer = dst
	return &cc
}

// Error is an admin API error answer.
type Error struct {
	Status int
	ErrorBody
}

func (e *Error) Error() string {
	return fmt.Sprintf("admin API: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Do sends a request and decodes a JSON answer into out (if not nil). It
// returns the raw body too, for printing.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Endpoint, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	raw, err := c.send(req)
	if err != nil || out == nil {
		return raw, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return raw, fmt.Errorf("admin API: decode answer: %w", err)
	}
	return raw, nil
}

// CreateAccount creates an account with one key pair.
func (c *Client) CreateAccount(ctx context.Context, req AccountRequest) (AccountResponse, error) {
	var out AccountResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/accounts", req, &out)
	return out, err
}

// CreateInstances creates instances.
func (c *Client) CreateInstances(ctx context.Context, req InstancesRequest) ([]Instance, error) {
	var out InstancesResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/instances", req, &out)
	return out.Instances, err
}

// SeedInstances creates instances and drops the answer: bulk seeding
// need not decode ten thousand instances it does not look at.
func (c *Client) SeedInstances(ctx context.Context, req InstancesRequest) error {
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/instances", req, nil)
	return err
}

// Clock reads server time.
func (c *Client) Clock(ctx context.Context) (ClockResponse, error) {
	var out ClockResponse
	_, err := c.Do(ctx, http.MethodGet, "/_moat/v1/clock", nil, &out)
	return out, err
}

// MoveClock advances or sets server time and waits for the lifecycle
// engine to apply what fell due.
func (c *Client) MoveClock(ctx context.Context, req ClockRequest) (ClockResponse, error) {
	var out ClockResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/clock", req, &out)
	return out, err
}

// Events lists events, optionally filtered.
func (c *Client) Events(ctx context.Context, instanceID, typ string) ([]Event, error) {
	return c.EventsPage(ctx, EventsQuery{InstanceId: instanceID, Type: typ})
}

// EventsQuery filters and pages the event listing; a zero field is left
// out of the query.
type EventsQuery struct {
	InstanceId string
	Type       string
	After      int64 // events after this Seq
	Limit      int   // at most this many (the server's default: its maximum)
}

// EventsPage lists one page of events.
func (c *Client) EventsPage(ctx context.Context, f EventsQuery) ([]Event, error) {
	q := url.Values{}
	if f.InstanceId != "" {
		q.Set("InstanceId", f.InstanceId)
	}
	if f.Type != "" {
		q.Set("Type", f.Type)
	}
	if f.After != 0 {
		q.Set("After", strconv.FormatInt(f.After, 10))
	}
	if f.Limit != 0 {
		q.Set("Limit", strconv.Itoa(f.Limit))
	}
	var out EventsResponse
	_, err := c.Do(ctx, http.MethodGet, withQuery("/_moat/v1/events", q), nil, &out)
	return out.Events, err
}

// withQuery appends a query, if any, to path.
func withQuery(path string, q url.Values) string {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// CreateUser adds a RAM user.
func (c *Client) CreateUser(ctx context.Context, account, name string) (UserResponse, error) {
	var out UserResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/accounts/"+url.PathEscape(account)+"/users", UserRequest{UserName: name}, &out)
	return out, err
}

// CreateUserKey makes an AccessKey pair for a RAM user.
func (c *Client) CreateUserKey(ctx context.Context, account, user string) (KeyResponse, error) {
	var out KeyResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/accounts/"+url.PathEscape(account)+"/users/"+url.PathEscape(user)+"/access-keys", nil, &out)
	return out, err
}

// PutPolicy attaches a policy document to a RAM user.
func (c *Client) PutPolicy(ctx context.Context, account, user, name, doc string) error {
	_, err := c.DoRaw(ctx, http.MethodPut, "/_moat/v1/accounts/"+url.PathEscape(account)+"/users/"+url.PathEscape(user)+"/policies/"+url.PathEscape(name), doc)
	return err
}

// DoRaw sends a body as it is (a policy document) and returns the answer.
func (c *Client) DoRaw(ctx context.Context, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Endpoint, "/")+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req)
}

// DeletePolicy detaches a policy.
func (c *Client) DeletePolicy(ctx context.Context, account, user, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/_moat/v1/accounts/"+url.PathEscape(account)+"/users/"+url.PathEscape(user)+"/policies/"+url.PathEscape(name), nil, nil)
	return err
}

// IssueSTS issues temporary credentials for a RAM user.
func (c *Client) IssueSTS(ctx context.Context, account, user string, req STSRequest) (STSResponse, error) {
	var out STSResponse
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/accounts/"+url.PathEscape(account)+"/users/"+url.PathEscape(user)+"/sts", req, &out)
	return out, err
}

// SetKeyStatus enables or disables a key.
func (c *Client) SetKeyStatus(ctx context.Context, id, status string) error {
	_, err := c.Do(ctx, http.MethodPatch, "/_moat/v1/access-keys/"+url.PathEscape(id), KeyStatusRequest{Status: status}, nil)
	return err
}

// DeleteKey deletes a key.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/_moat/v1/access-keys/"+url.PathEscape(id), nil, nil)
	return err
}

// CreateWebhook subscribes an account's URL to notices.
func (c *Client) CreateWebhook(ctx context.Context, account string, req WebhookRequest) (Webhook, error) {
	var out Webhook
	_, err := c.Do(ctx, http.MethodPost, "/_moat/v1/accounts/"+url.PathEscape(account)+"/webhooks", req, &out)
	return out, err
}

// Webhooks lists an account's webhooks.
func (c *Client) Webhooks(ctx context.Context, account string) ([]Webhook, error) {
	var out WebhooksResponse
	_, err := c.Do(ctx, http.MethodGet, "/_moat/v1/accounts/"+url.PathEscape(account)+"/webhooks", nil, &out)
	return out.Webhooks, err
}

// DeleteWebhook deletes a webhook and its deliveries.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/_moat/v1/webhooks/"+url.PathEscape(id), nil, nil)
	return err
}

// Deliveries reads a webhook's delivery log, the newest first (limit 0:
// the server's default page).
func (c *Client) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	p := "/_moat/v1/webhooks/" + url.PathEscape(id) + "/deliveries"
	if limit > 0 {
		p += "?Limit=" + strconv.Itoa(limit)
	}
	var out DeliveriesResponse
	_, err := c.Do(ctx, http.MethodGet, p, nil, &out)
	return out.Deliveries, err
}

// Audit lists audit records.
func (c *Client) Audit(ctx context.Context, q url.Values) ([]AuditRecord, error) {
	var out AuditResponse
	_, err := c.Do(ctx, http.MethodGet, withQuery("/_moat/v1/audit", q), nil, &out)
	return out.Records, err
}

func (c *Client) send(req *http.Request) ([]byte, error) {
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if c.answer != nil {
		*c.answer = raw
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, &e.ErrorBody) != nil {
			e.Message = strings.TrimSpace(string(raw))
		}
		return raw, e
	}
	return raw, nil
}
