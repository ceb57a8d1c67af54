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
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/admin"
)

// adminCall is one prepared `moat admin` command: a call of the typed
// admin client. The server's answer is printed as it came, so what the
// call decodes is not used here.
type adminCall func(ctx context.Context, c *admin.Client) error

// adminCommand is a row of the `moat admin` table. flags declares the
// command's flags on fs and returns prepare, which runs after parsing:
// it checks the flags, reads any file they name and returns the call.
type adminCommand struct {
	name  string
	usage []string // the help line(s) after the name
	flags func(fs *flag.FlagSet) (prepare func() (adminCall, error))
}

// adminCommands is every `moat admin` command, in the order of the help.
var adminCommands = []adminCommand{
	{"create-account", []string{"--account-id ID --access-key-id AK --access-key-secret SECRET"}, createAccountCmd},
	{"create-instances", []string{"[--count N] [--region R] [--expire-in D | --expire-time T]",
		"[--remark S] [--edition E] [--account-id ID | --access-key-id AK]",
		"[--resource-group-id RG]"}, createInstancesCmd},
	{"clock", []string{"[--advance D | --set T]   show or move server time"}, clockCmd},
	{"events", []string{"[--instance-id ID] [--type T]"}, eventsCmd},
	{"create-user", []string{"--account-id ID --user-name NAME"}, createUserCmd},
	{"create-access-key", []string{"--account-id ID --user-name NAME   (the secret is shown only now)"}, createAccessKeyCmd},
	{"put-policy", []string{"--account-id ID --user-name NAME --policy-name P --file policy.json (- for stdin)"}, putPolicyCmd},
	{"delete-policy", []string{"--account-id ID --user-name NAME --policy-name P"}, deletePolicyCmd},
	{"sts", []string{"--account-id ID --user-name NAME [--duration 3600s] [--policy-file F]"}, stsCmd},
	{"set-key-status", []string{"--access-key-id AK --status Active|Inactive"}, setKeyStatusCmd},
	{"delete-key", []string{"--access-key-id AK"}, deleteKeyCmd},
	{"audit", []string{"[--account-id ID] [--action A] [--instance-id ID]"}, auditCmd},
	{"create-webhook", []string{"--account-id ID --url URL --secret S [--events expired,renewed,… | *]"}, createWebhookCmd},
	{"webhooks", []string{"--account-id ID   list an account's webhooks"}, webhooksCmd},
	{"delete-webhook", []string{"--webhook-id ID"}, deleteWebhookCmd},
	{"deliveries", []string{"--webhook-id ID [--limit N]   a webhook's delivery log, newest first"}, deliveriesCmd},
}

// adminUsage is the help of `moat admin`, drawn from the table.
func adminUsage() string {
	var b strings.Builder
	b.WriteString("Usage: moat admin COMMAND [flags]\n\nCommands (each takes -h):\n")
	for _, c := range adminCommands {
		fmt.Fprintf(&b, "  %-18s %s\n", c.name, strings.Join(c.usage, "\n"+strings.Repeat(" ", 21)))
	}
	b.WriteString(`
They call the admin API at MOAT_ENDPOINT (default http://127.0.0.1:9180) with
the bearer token MOAT_ADMIN_TOKEN, and print its JSON answer.
`)
	return b.String()
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, adminUsage())
		if len(args) == 0 {
			return fmt.Errorf("%w: moat admin needs a COMMAND", errUsage)
		}
		return nil
	}
	name, args := args[0], args[1:]
	var cmd *adminCommand
	for i := range adminCommands {
		if adminCommands[i].name == name {
			cmd = &adminCommands[i]
		}
	}
	if cmd == nil {
		fmt.Fprint(stderr, adminUsage())
		return fmt.Errorf("%w: unknown admin command %q", errUsage, name)
	}
	fs := flag.NewFlagSet("moat admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr("MOAT_ENDPOINT", "http://127.0.0.1:9180"), "server URL (env MOAT_ENDPOINT)")
	token := fs.String("token", envOr("MOAT_ADMIN_TOKEN", ""), "admin token (env MOAT_ADMIN_TOKEN)")
	prepare := cmd.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	call, err := prepare()
	if err != nil {
		return err
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
	var out []byte
	c := &admin.Client{Endpoint: ep, Token: *token, HTTP: &http.Client{Timeout: 5 * time.Minute}}
	err = call(ctx, c.Recording(&out))
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

func createAccountCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var req admin.AccountRequest
	fs.StringVar(&req.AccountId, "account-id", "", "account ID")
	fs.StringVar(&req.AccessKeyId, "access-key-id", "", "AccessKeyId")
	fs.StringVar(&req.AccessKeySecret, "access-key-secret", "", "AccessKeySecret")
	return func() (adminCall, error) {
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.CreateAccount(ctx, req)
			return err
		}, nil
	}
}

func createInstancesCmd(fs *flag.FlagSet) func() (adminCall, error) {
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
	return func() (adminCall, error) {
		if edition >= 0 {
			req.Edition = &edition
		}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.CreateInstances(ctx, req)
			return err
		}, nil
	}
}

func clockCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var req admin.ClockRequest
	fs.StringVar(&req.Advance, "advance", "", "move server time by this Go duration, e.g. 168h")
	fs.StringVar(&req.Set, "set", "", "set server time (RFC 3339)")
	return func() (adminCall, error) {
		return func(ctx context.Context, c *admin.Client) error {
			var err error
			if req.Advance != "" || req.Set != "" {
				_, err = c.MoveClock(ctx, req)
			} else {
				_, err = c.Clock(ctx)
			}
			return err
		}, nil
	}
}

func eventsCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var id, typ string
	fs.StringVar(&id, "instance-id", "", "only this instance")
	fs.StringVar(&typ, "type", "", "only this type (created, expired, forwarding_stopped, released)")
	return func() (adminCall, error) {
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.Events(ctx, id, typ)
			return err
		}, nil
	}
}

// onUser declares the flags that name a RAM user, which every command on
// a user requires, and checks them before build prepares the call.
func onUser(fs *flag.FlagSet, build func(account, user string) (adminCall, error)) func() (adminCall, error) {
	var account, user string
	fs.StringVar(&account, "account-id", "", "account ID")
	fs.StringVar(&user, "user-name", "", "RAM user name")
	return func() (adminCall, error) {
		if account == "" || user == "" {
			return nil, fmt.Errorf("%w: --account-id and --user-name are required", errUsage)
		}
		return build(account, user)
	}
}

func createUserCmd(fs *flag.FlagSet) func() (adminCall, error) {
	return onUser(fs, func(account, user string) (adminCall, error) {
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.CreateUser(ctx, account, user)
			return err
		}, nil
	})
}

func createAccessKeyCmd(fs *flag.FlagSet) func() (adminCall, error) {
	return onUser(fs, func(account, user string) (adminCall, error) {
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.CreateUserKey(ctx, account, user)
			return err
		}, nil
	})
}

func putPolicyCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var policy, file string
	prepare := onUser(fs, func(account, user string) (adminCall, error) {
		doc, err := readPolicy(file)
		if err != nil {
			return nil, err
		}
		if policy == "" {
			return nil, fmt.Errorf("%w: --policy-name is required", errUsage)
		}
		if file == "" {
			return nil, fmt.Errorf("%w: --file is required", errUsage)
		}
		return func(ctx context.Context, c *admin.Client) error {
			return c.PutPolicy(ctx, account, user, policy, doc)
		}, nil
	})
	fs.StringVar(&policy, "policy-name", "", "policy name")
	fs.StringVar(&file, "file", "", "policy document file (- for stdin)")
	return prepare
}

func deletePolicyCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var policy string
	prepare := onUser(fs, func(account, user string) (adminCall, error) {
		if policy == "" {
			return nil, fmt.Errorf("%w: --policy-name is required", errUsage)
		}
		return func(ctx context.Context, c *admin.Client) error {
			return c.DeletePolicy(ctx, account, user, policy)
		}, nil
	})
	fs.StringVar(&policy, "policy-name", "", "policy name")
	return prepare
}

func stsCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var file string
	var dur time.Duration
	prepare := onUser(fs, func(account, user string) (adminCall, error) {
		doc, err := readPolicy(file)
		if err != nil {
			return nil, err
		}
		req := admin.STSRequest{DurationSeconds: int64(dur.Seconds()), Policy: doc}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.IssueSTS(ctx, account, user, req)
			return err
		}, nil
	})
	fs.StringVar(&file, "policy-file", "", "policy document file (- for stdin)")
	fs.DurationVar(&dur, "duration", time.Hour, "validity, 900s to 43200s")
	return prepare
}

// onKey declares --access-key-id, which every command on a key requires,
// and checks it before build prepares the call.
func onKey(fs *flag.FlagSet, build func(id string) adminCall) func() (adminCall, error) {
	var id string
	fs.StringVar(&id, "access-key-id", "", "AccessKeyId")
	return func() (adminCall, error) {
		if id == "" {
			return nil, fmt.Errorf("%w: --access-key-id is required", errUsage)
		}
		return build(id), nil
	}
}

func setKeyStatusCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var status string
	prepare := onKey(fs, func(id string) adminCall {
		return func(ctx context.Context, c *admin.Client) error { return c.SetKeyStatus(ctx, id, status) }
	})
	fs.StringVar(&status, "status", "", "Active or Inactive")
	return prepare
}

func deleteKeyCmd(fs *flag.FlagSet) func() (adminCall, error) {
	return onKey(fs, func(id string) adminCall {
		return func(ctx context.Context, c *admin.Client) error { return c.DeleteKey(ctx, id) }
	})
}

func auditCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var acct, action, id string
	fs.StringVar(&acct, "account-id", "", "only this account")
	fs.StringVar(&action, "action", "", "only this action (e.g. ReleaseInstance)")
	fs.StringVar(&id, "instance-id", "", "only calls naming this instance")
	return func() (adminCall, error) {
		q := url.Values{}
		for k, v := range map[string]string{"AccountId": acct, "Action": action, "InstanceId": id} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.Audit(ctx, q)
			return err
		}, nil
	}
}

// readPolicy reads the policy document a flag names: "" is none, "-" is
// standard input.
func readPolicy(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	b, err := readFileOrStdin(name)
	return string(b), err
}

func readFileOrStdin(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func createWebhookCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var acct, u, secret, events string
	fs.StringVar(&acct, "account-id", "", "the account")
	fs.StringVar(&u, "url", "", "the http or https URL deliveries are POSTed to")
	fs.StringVar(&secret, "secret", "", "the key of the deliveries' HMAC-SHA256 signature (X-Moat-Signature)")
	fs.StringVar(&events, "events", "*", "comma-separated notices: expiring, expired, forwarding_stopped, renewed, released, attack, or * for all")
	return func() (adminCall, error) {
		if acct == "" {
			return nil, fmt.Errorf("--account-id is required")
		}
		req := admin.WebhookRequest{Url: u, Secret: secret, Events: strings.Split(events, ",")}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.CreateWebhook(ctx, acct, req)
			return err
		}, nil
	}
}

func webhooksCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var acct string
	fs.StringVar(&acct, "account-id", "", "the account")
	return func() (adminCall, error) {
		if acct == "" {
			return nil, fmt.Errorf("--account-id is required")
		}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.Webhooks(ctx, acct)
			return err
		}, nil
	}
}

func deleteWebhookCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var id string
	fs.StringVar(&id, "webhook-id", "", "the webhook")
	return func() (adminCall, error) {
		if id == "" {
			return nil, fmt.Errorf("--webhook-id is required")
		}
		return func(ctx context.Context, c *admin.Client) error { return c.DeleteWebhook(ctx, id) }, nil
	}
}

func deliveriesCmd(fs *flag.FlagSet) func() (adminCall, error) {
	var id string
	var limit int
	fs.StringVar(&id, "webhook-id", "", "the webhook")
	fs.IntVar(&limit, "limit", 0, "at most this many deliveries (default 100, at most 1000)")
	return func() (adminCall, error) {
		if id == "" {
			return nil, fmt.Errorf("--webhook-id is required")
		}
		return func(ctx context.Context, c *admin.Client) error {
			_, err := c.Deliveries(ctx, id, limit)
			return err
		}, nil
	}
}
