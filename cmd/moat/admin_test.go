package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The help of `moat admin` is drawn from its command table; this is the
// text README.md and docs/ADMIN.md describe, letter for letter.
const wantAdminUsage = `Usage: moat admin COMMAND [flags]

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
  create-webhook     --account-id ID --url URL --secret S [--events expired,renewed,… | *]
  webhooks           --account-id ID   list an account's webhooks
  delete-webhook     --webhook-id ID
  deliveries         --webhook-id ID [--limit N]   a webhook's delivery log, newest first

They call the admin API at MOAT_ENDPOINT (default http://127.0.0.1:9180) with
the bearer token MOAT_ADMIN_TOKEN, and print its JSON answer.
`

func TestAdminUsage(t *testing.T) {
	if got := adminUsage(); got != wantAdminUsage {
		t.Errorf("moat admin help:\n%s\nwant:\n%s", got, wantAdminUsage)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"admin", "-h"}, &stdout, &stderr); code != 0 || stdout.String() != wantAdminUsage {
		t.Errorf("moat admin -h: exit %d, stdout %q", code, stdout.String())
	}
}

// A command's flags are checked before the token is looked at, and the
// errors are usage errors (exit status 2) that name what is missing.
func TestAdminRejectsBadArguments(t *testing.T) {
	t.Setenv("MOAT_ADMIN_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown admin command "nope"`},
		{[]string{"create-user", "--account-id", "1"}, "--account-id and --user-name are required"},
		{[]string{"sts", "--user-name", "u"}, "--account-id and --user-name are required"},
		{[]string{"delete-policy", "--account-id", "1", "--user-name", "u"}, "--policy-name is required"},
		{[]string{"put-policy", "--account-id", "1", "--user-name", "u", "--policy-name", "p"}, "--file is required"},
		{[]string{"set-key-status", "--status", "Active"}, "--access-key-id is required"},
		{[]string{"delete-key"}, "--access-key-id is required"},
		{[]string{"clock", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"clock", "--endpoint", "ftp://x"}, "moat:"},
		{[]string{"clock"}, "set MOAT_ADMIN_TOKEN"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"admin"}, tc.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("moat admin %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.want)
		}
	}
}
