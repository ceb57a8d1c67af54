package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
)

const adminUsage = `Usage: moat admin COMMAND [flags]

Commands (each takes -h):
  create-account     --account-id ID --access-key-id AK --access-key-secret SECRET
  create-instances   [--count N] [--region R] [--expire-in D | --expire-time T]
                     [--remark S] [--edition E] [--account-id ID | --access-key-id AK]
                     [--resource-group-id RG]
  clock              [--advance D | --set T]   show or move server time
  events             [--instance-id ID] [--type T]
  create-user        --account-id ID --user-name NAME
  create-access-key  --account-id ID --user-name NAME   (the secret is shown only now)
  put-policy         --account-id ID --user-name NAME --policy-name P --file policy.json (- for stdin)
  delete-policy      --account-id ID --user-name NAME --policy-name P
  sts                --account-id ID --user-name NAME [--duration 3600s] [--policy-file F]
  set-key-status     --access-key-id AK --status Active|Inactive
  delete-key         --access-key-id AK
  audit              [--account-id ID] [--action A] [--instance-id ID]

They call the admin API at MOAT_ENDPOINT (default http://127.0.0.1:9180) with
the bearer token MOAT_ADMIN_TOKEN, and print its JSON answer.
`

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, adminUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: moat admin needs a COMMAND", errUsage)
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("moat admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr("MOAT_ENDPOINT", "http://127.0.0.1:9180"), "server URL (env MOAT_ENDPOINT)")
	token := fs.String("token", envOr("MOAT_ADMIN_TOKEN", ""), "admin token (env MOAT_ADMIN_TOKEN)")
	var method, path string
	var body any
	var raw *string // a raw (non-JSON-encoded) body: a policy document
	switch cmd {
	case "create-account":
		var req admin.AccountRequest
		fs.StringVar(&req.AccountId, "account-id", "", "account ID")
		fs.StringVar(&req.AccessKeyId, "access-key-id", "", "AccessKeyId")
		fs.StringVar(&req.AccessKeySecret, "access-key-secret", "", "AccessKeySecret")
		if err := fs.Parse(args); err != nil {
			return err
		}
		method, path, body = http.MethodPost, "/_moat/v1/accounts", req
	case "create-instances":
		var req admin.InstancesRequest
		var edition int
		fs.IntVar(&req.Count, "count", 1, "how many (1-10000, one transaction)")
		fs.StringVar(&req.RegionId, "region", "cn-hangzhou", "cn-hangzhou or ap-southeast-1")
		fs.StringVar(&req.ExpireIn, "expire-in", "", "expiry relative to server time, e.g. 720h or -1h")
		fs.StringVar(&req.ExpireTime, "expire-time", "", "expiry as RFC 3339")
		fs.StringVar(&req.Remark, "remark", "", "remark")
		fs.IntVar(&edition, "edition", -1, "edition (default: 9 in cn-hangzhou, 0 in ap-southeast-1)")
		fs.StringVar(&req.AccountId, "account-id", "", "owner account (default: the bootstrap account)")
		fs.StringVar(&req.AccessKeyId, "access-key-id", "", "owner: the account of this AccessKeyId")
		fs.StringVar(&req.ResourceGroupId, "resource-group-id", "", "resource group (default: the account's)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if edition >= 0 {
			req.Edition = &edition
		}
		method, path, body = http.MethodPost, "/_moat/v1/instances", req
	case "clock":
		var req admin.ClockRequest
		fs.StringVar(&req.Advance, "advance", "", "move server time by this Go duration, e.g. 168h")
		fs.StringVar(&req.Set, "set", "", "set server time (RFC 3339)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		method, path = http.MethodGet, "/_moat/v1/clock"
		if req.Advance != "" || req.Set != "" {
			method, body = http.MethodPost, req
		}
	case "events":
		var id, typ string
		fs.StringVar(&id, "instance-id", "", "only this instance")
		fs.StringVar(&typ, "type", "", "only this type (created, expired, forwarding_stopped, released)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		q := url.Values{}
		if id != "" {
			q.Set("InstanceId", id)
		}
		if typ != "" {
			q.Set("Type", typ)
		}
		method, path = http.MethodGet, "/_moat/v1/events"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
	case "create-user", "create-access-key", "put-policy", "delete-policy", "sts":
		var acct, user, policy, file string
		var dur time.Duration
		fs.StringVar(&acct, "account-id", "", "account ID")
		fs.StringVar(&user, "user-name", "", "RAM user name")
		if cmd == "put-policy" || cmd == "delete-policy" {
			fs.StringVar(&policy, "policy-name", "", "policy name")
		}
		if cmd == "put-policy" || cmd == "sts" {
			name := "file"
			if cmd == "sts" {
				name = "policy-file"
			}
			fs.StringVar(&file, name, "", "policy document file (- for stdin)")
		}
		if cmd == "sts" {
			fs.DurationVar(&dur, "duration", time.Hour, "validity, 900s to 43200s")
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if acct == "" || user == "" {
			return fmt.Errorf("%w: --account-id and --user-name are required", errUsage)
		}
		base := "/_moat/v1/accounts/" + url.PathEscape(acct) + "/users"
		doc := ""
		if file != "" {
			b, err := readFileOrStdin(file)
			if err != nil {
				return err
			}
			doc = string(b)
		}
		switch cmd {
		case "create-user":
			method, path, body = http.MethodPost, base, admin.UserRequest{UserName: user}
		case "create-access-key":
			method, path = http.MethodPost, base+"/"+url.PathEscape(user)+"/access-keys"
		case "put-policy", "delete-policy":
			if policy == "" {
				return fmt.Errorf("%w: --policy-name is required", errUsage)
			}
			method, path = http.MethodDelete, base+"/"+url.PathEscape(user)+"/policies/"+url.PathEscape(policy)
			if cmd == "put-policy" {
				if file == "" {
					return fmt.Errorf("%w: --file is required", errUsage)
				}
				method, raw = http.MethodPut, &doc
			}
		case "sts":
			method, path, body = http.MethodPost, base+"/"+url.PathEscape(user)+"/sts", admin.STSRequest{DurationSeconds: int64(dur.Seconds()), Policy: doc}
		}
	case "set-key-status", "delete-key":
		var id, status string
		fs.StringVar(&id, "access-key-id", "", "AccessKeyId")
		if cmd == "set-key-status" {
			fs.StringVar(&status, "status", "", "Active or Inactive")
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if id == "" {
			return fmt.Errorf("%w: --access-key-id is required", errUsage)
		}
		path = "/_moat/v1/access-keys/" + url.PathEscape(id)
		method = http.MethodDelete
		if cmd == "set-key-status" {
			method, body = http.MethodPatch, admin.KeyStatusRequest{Status: status}
		}
	case "audit":
		var acct, action, id string
		fs.StringVar(&acct, "account-id", "", "only this account")
		fs.StringVar(&action, "action", "", "only this action (e.g. ReleaseInstance)")
		fs.StringVar(&id, "instance-id", "", "only calls naming this instance")
		if err := fs.Parse(args); err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range map[string]string{"AccountId": acct, "Action": action, "InstanceId": id} {
			if v != "" {
				q.Set(k, v)
			}
		}
		method, path = http.MethodGet, "/_moat/v1/audit"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
	default:
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("%w: unknown admin command %q", errUsage, cmd)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	ep, err := acs.ParseEndpoint(*endpoint)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *token == "" {
		return fmt.Errorf("%w: set MOAT_ADMIN_TOKEN (or --token) to the token moat serve was started with", errUsage)
	}
	c := &admin.Client{Endpoint: ep, Token: *token, HTTP: &http.Client{Timeout: 5 * time.Minute}}
	var out []byte
	if raw != nil {
		out, err = c.DoRaw(ctx, method, path, *raw)
	} else {
		out, err = c.Do(ctx, method, path, body, nil)
	}
	if len(out) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, out, "", "  ") == nil {
			out = pretty.Bytes()
		}
		stdout.Write(bytes.TrimRight(out, "\n"))
		io.WriteString(stdout, "\n")
	}
	return err
}

func readFileOrStdin(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}
