package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"moat/internal/acs"
)

const callUsage = `Usage: moat call ACTION [Name=Value ...] [flags]

Signs ACTION with signature v1 (like the aliyun CLI) using MOAT_ACCESS_KEY_ID
and MOAT_ACCESS_KEY_SECRET, sends it to MOAT_ENDPOINT (default
http://127.0.0.1:9180), prints the response body and exits 1 on an error
response.

Flags (anywhere after ACTION):
  --region R          add RegionId=R
  --format json|xml   response format (default json)
  --api-version V     API version (default 2020-01-01, ddoscoo)
  --endpoint URL      overrides MOAT_ENDPOINT

Example:
  moat call DescribeInstances PageNumber=1 PageSize=10 --region cn-hangzhou
  moat call ReleaseInstance InstanceId=ddoscoo-cn-xxxxxxxxxxxx
`

// runCall returns the exit status: 0 for a success answer, 1 for an error
// answer; err is for failures that produced no answer.
func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	params := map[string]string{"Version": "2020-01-01", "Format": "JSON"}
	endpoint := envOr("MOAT_ENDPOINT", "http://127.0.0.1:9180")
	var action string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			fmt.Fprint(stdout, callUsage)
			return 0, nil
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if !hasVal {
				if i+1 >= len(args) {
					return 2, fmt.Errorf("%w: flag --%s needs a value\n\n%s", errUsage, name, callUsage)
				}
				i++
				val = args[i]
			}
			switch name {
			case "region":
				params["RegionId"] = val
			case "format":
				params["Format"] = strings.ToUpper(val)
			case "api-version":
				params["Version"] = val
			case "endpoint":
				endpoint = val
			default:
				return 2, fmt.Errorf("%w: unknown flag --%s\n\n%s", errUsage, name, callUsage)
			}
			continue
		}
		if action == "" {
			action = a
			continue
		}
		name, val, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return 2, fmt.Errorf("%w: argument %q is not Name=Value\n\n%s", errUsage, a, callUsage)
		}
		params[name] = val
	}
	if action == "" {
		return 2, fmt.Errorf("%w: moat call needs an ACTION\n\n%s", errUsage, callUsage)
	}
	params["Action"] = action
	ep, err := acs.ParseEndpoint(endpoint)
	if err != nil {
		return 2, fmt.Errorf("%w: %v", errUsage, err)
	}
	id, secret := os.Getenv("MOAT_ACCESS_KEY_ID"), os.Getenv("MOAT_ACCESS_KEY_SECRET")
	if id == "" || secret == "" {
		return 2, fmt.Errorf("%w: set MOAT_ACCESS_KEY_ID and MOAT_ACCESS_KEY_SECRET (moat serve prints them on first start)", errUsage)
	}
	c := &acs.Client{Endpoint: ep, AccessKeyID: id, AccessKeySecret: secret, HTTP: &http.Client{Timeout: 60 * time.Second}}
	status, body, err := c.Call(ctx, params)
	if err != nil {
		return 1, fmt.Errorf("call %s: %w", action, err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	stdout.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		io.WriteString(stdout, "\n")
	}
	if status < 200 || status > 299 {
		return 1, nil
	}
	return 0, nil
}
