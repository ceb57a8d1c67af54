package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moat/internal/admin"
)

// consoleArtifactsEnv names the directory the console test's screenshots
// go to; by default e2e/artifacts/console/<store> (git-ignored).
const consoleArtifactsEnv = "MOAT_CONSOLE_ARTIFACTS"

// chromiumPath is Debian's Chromium, which .ci/run installs when missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the console test drives it")
	return ""
}

// TestConsole drives the web console in Chromium (e2e/node/console.spec.mjs,
// playwright-core): sign in with an AccessKey pair and the admin token,
// page and filter the list (tag, status, remark), rename, create two
// webhooks on the Webhooks page (events ticked by keyboard) and delete
// one, see the kept one's `expiring` notice delivered to this test's
// receiver in its delivery log after the clock move, watch an instance
// go from "in service" to "expired" to "forwarding stopped" as the admin
// page moves the clock, add a port rule, renew, release an expired
// instance after confirming that traffic is back on the origin, create a
// read-only RAM user on the admin page and see that it has no release
// button and gets Forbidden.RAM when it releases anyway; screenshots at
// desktop and phone widths. The server then confirms what the page did.
func TestConsole(t *testing.T) {
	node := ensureNodeModules(t)
	browser := chromiumPath(t)
	s := StartServer(t)

	const account, keyID, keySecret = "1400000000000014", "LTAIconsolekey000014", "console-secret-0123456789"
	s.CreateAccount(t, account, keyID, keySecret)
	s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: keyID, Count: 11, ExpireIn: "720h", Remark: "batch"})
	edge := s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: keyID, ExpireIn: "48h", Remark: "edge",
		Tags: []admin.TagItem{{Key: "env", Value: "prod"}}})[0].InstanceId
	old := adminIDs(s.CreateInstances(t, admin.InstancesRequest{AccessKeyId: keyID, Count: 2, ExpireIn: "-1h", Remark: "old"}))
	// The page subscribes this receiver to expiring notices.
	hooks := newHookReceiver(t, "console-hook-secret")

	// The console is served beside the API: the page and its headers.
	resp, err := http.Get(s.Endpoint + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(page), `<script type="module" src="app.js">`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("GET /console/: %d %v %q, CSP %q", resp.StatusCode, err, page, resp.Header.Get("Content-Security-Policy"))
	}

	artifacts := os.Getenv(consoleArtifactsEnv)
	if artifacts == "" {
		abs, err := filepath.Abs(filepath.Join("artifacts", "console", s.Store))
		if err != nil {
			t.Fatal(err)
		}
		artifacts = abs
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "console.spec.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"MOAT_ENDPOINT="+s.Endpoint,
		"MOAT_ADMIN_TOKEN="+adminToken,
		"CONSOLE_ACCOUNT="+account,
		"CONSOLE_KEY_ID="+keyID,
		"CONSOLE_KEY_SECRET="+keySecret,
		"CONSOLE_EDGE="+edge,
		"CONSOLE_OLD1="+old[0],
		"CONSOLE_OLD2="+old[1],
		"CONSOLE_HOOK_URL="+hooks.URL+"/hook",
		"CONSOLE_ARTIFACTS="+artifacts,
		"CHROMIUM="+browser,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node console.spec.mjs: %v\nstdout: %s\nstderr: %s\nserver log:\n%s", err, out, stderr.String(), s.Logs())
	}
	var got struct {
		Screenshots      []string
		ReaderKeyId      string
		ForbiddenText    string
		WebhookId        string
		DeletedWebhookId string
		DeliveredEventId string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("console.spec.mjs printed no JSON: %v\n%s", err, out)
	}
	t.Logf("console screenshots in %s: %d files", artifacts, len(got.Screenshots))

	// What the page did, as the server recorded it.
	ev := func(id string) []string {
		evs, err := s.Admin.Events(context.Background(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs {
			types = append(types, e.Type)
		}
		return types
	}
	if got, want := strings.Join(ev(edge), ","), "created,expired,rule_created,forwarding_stopped,renewed"; got != want {
		t.Errorf("events of %s (expired, given a rule, stopped, renewed in the console) = %s, want %s", edge, got, want)
	}
	if types := ev(old[0]); len(types) == 0 || types[len(types)-1] != "released" {
		t.Errorf("events of %s (released in the console) = %v, want released last", old[0], types)
	}
	if types := ev(old[1]); len(types) == 0 || types[len(types)-1] == "released" {
		t.Errorf("events of %s = %v: released although the reader's policy allows only Describe*", old[1], types)
	}
	recs, err := s.Admin.Audit(context.Background(), url.Values{"Action": {"ReleaseInstance"}, "InstanceId": {old[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Code != "Forbidden.RAM" || recs[0].Principal != "user/reader" {
		t.Errorf("audit of the reader's release of %s = %+v, want one Forbidden.RAM record by user/reader", old[1], recs)
	}
	if !strings.HasPrefix(got.ForbiddenText, "Forbidden.RAM: ") {
		t.Errorf("the page showed %q for the reader's release, want the Code and Message", got.ForbiddenText)
	}
	// The webhook the page created got the edge instance's 1-day notice,
	// signed, once; the one it deleted is gone.
	list, err := s.Admin.Webhooks(context.Background(), account)
	if err != nil || len(list) != 1 || list[0].WebhookId != got.WebhookId || strings.Join(list[0].Events, ",") != "expiring" {
		t.Errorf("webhooks of %s after the console = %+v, %v; want only %s for expiring (%s deleted)", account, list, err, got.WebhookId, got.DeletedWebhookId)
	}
	hooks.mu.Lock()
	if n, ok := hooks.byID[got.DeliveredEventId]; !ok || hooks.posts != 1 || len(hooks.bad) > 0 ||
		n.Type != "expiring" || n.InstanceId != edge || n.DaysLeft != 1 || n.AccountId != account {
		t.Errorf("the receiver had %d POSTs %+v (problems %v); want one expiring notice %s for %s with DaysLeft 1", hooks.posts, hooks.byID, hooks.bad, got.DeliveredEventId, edge)
	}
	hooks.mu.Unlock()
	if strings.Contains(s.Logs(), keySecret) {
		t.Errorf("the server log contains the AccessKey secret the console signed with")
	}
}
