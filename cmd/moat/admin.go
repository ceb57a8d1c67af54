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
	raw, err := c.Do(ctx, method, path, body, nil)
	if len(raw) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, raw, "", "  ") == nil {
			raw = pretty.Bytes()
		}
		stdout.Write(bytes.TrimRight(raw, "\n"))
		io.WriteString(stdout, "\n")
	}
	return err
}
