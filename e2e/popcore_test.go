package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"moat/internal/admin"
)

// nodeDir holds package.json (pop-core 1.8.0 and playwright-core pinned),
// its lock file, popcore.js and console.spec.mjs.
const nodeDir = "node"

// nodePackages are the locked packages; one missing from node_modules
// (a checkout from before it was added) makes ensureNodeModules install.
var nodePackages = []string{"@alicloud/pop-core", "playwright-core"}

// ensureNodeModules installs the locked npm packages when node_modules is
// missing. A machine without node or npm fails the test: pop-core is one
// of the clients moat must serve (README.md), not an optional extra.
func ensureNodeModules(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %v (the pop-core and console tests need Node.js and npm)", err)
	}
	installed := true
	for _, pkg := range nodePackages {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
			installed = false
		}
	}
	if installed {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm is not installed: %v (needed once to install e2e/node's locked packages)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in e2e/node: %v\n%s", err, out)
	}
	return node
}

// wireRecord is one request as pop-core put it on the wire.
type wireRecord struct {
	Method, RawQuery, Body, ContentType string
}

// recordingProxy forwards every request to target unchanged and records
// it, so the test can check what pop-core actually sent.
func recordingProxy(t *testing.T, target string) (*httptest.Server, func() []wireRecord) {
	var mu sync.Mutex
	var recs []wireRecord
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		mu.Lock()
		recs = append(recs, wireRecord{Method: r.Method, RawQuery: r.URL.RawQuery, Body: string(body), ContentType: r.Header.Get("Content-Type")})
		mu.Unlock()
		out, err := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p, func() []wireRecord {
		mu.Lock()
		defer mu.Unlock()
		return append([]wireRecord(nil), recs...)
	}
}

// popFailure is how popcore.js reports a call that failed.
type popFailure struct {
	Code             string
	Status           int
	UnexpectedResult json.RawMessage `json:"unexpectedSuccess"`
}

type popRun struct {
	Modify struct {
		RequestId string
	}
	Describe      rawDescribe
	Release       struct{ RequestId string }
	NotExpired    popFailure
	ReleasedAgain popFailure
	WrongSecret   popFailure
}

// TestPopCore pins that the Node.js client @alicloud/pop-core 1.8.0 works
// against moat with GET (everything in the query, spaces as %20) and POST
// (everything, Action and Signature included, in the form body):
// ModifyInstanceRemark with spaces and '*', DescribeInstances with a Remark
// filter containing spaces, ReleaseInstance of an expired instance, and
// err.code for InstanceNotExpire, InstanceNotFound and
// SignatureDoesNotMatch.
func TestPopCore(t *testing.T) {
	node := ensureNodeModules(t)
	s := StartServer(t)
	live := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "720h", Remark: "live"})[0].InstanceId
	expired := adminIDs(s.CreateInstances(t, admin.InstancesRequest{Count: 2, ExpireIn: "-1h"}))
	proxy, wire := recordingProxy(t, s.Endpoint)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "popcore.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"MOAT_ENDPOINT="+proxy.URL,
		"MOAT_ACCESS_KEY_ID="+testKeyID,
		"MOAT_ACCESS_KEY_SECRET="+testKeySecret,
		"POPCORE_LIVE_ID="+live,
		"POPCORE_EXPIRED_IDS="+strings.Join(expired, ","),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node popcore.js: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	if !strings.HasPrefix(proxy.URL, "http://127.0.0.1:") {
		t.Fatalf("pop-core endpoint %s, want http://127.0.0.1:port", proxy.URL)
	}
	var got map[string]popRun
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("popcore.js printed no JSON: %v\n%s", err, out)
	}

	for i, method := range []string{"GET", "POST"} {
		r, ok := got[method]
		if !ok {
			t.Fatalf("no %s results in %s", method, out)
		}
		remark := "pop core " + method + " * remark"
		if !rawRequestIDRE.MatchString(r.Modify.RequestId) || !rawRequestIDRE.MatchString(r.Release.RequestId) {
			t.Errorf("%s: RequestIds %q %q, want UUIDs", method, r.Modify.RequestId, r.Release.RequestId)
		}
		if r.Describe.TotalCount != 1 || len(r.Describe.Instances) != 1 || r.Describe.Instances[0].InstanceId != live || r.Describe.Instances[0].Remark != remark {
			t.Errorf("%s: DescribeInstances Remark filter = %+v, want %s remarked %q", method, r.Describe, live, remark)
		}
		for _, f := range []struct {
			name   string
			got    popFailure
			status int
			code   string
		}{
			{"ReleaseInstance of the live instance", r.NotExpired, 400, "InstanceNotExpire"},
			{"ReleaseInstance of the released instance", r.ReleasedAgain, 404, "InstanceNotFound"},
			{"wrong secret", r.WrongSecret, 400, "SignatureDoesNotMatch"},
		} {
			if f.got.Code != f.code || f.got.Status != f.status {
				t.Errorf("%s %s: err.code %q, status %d (success %s); want %d %s", method, f.name, f.got.Code, f.got.Status, f.got.UnexpectedResult, f.status, f.code)
			}
		}
		if st := rawInstanceStatus(t, s, expired[i]); st != 4 {
			t.Errorf("%s: %s released by pop-core has InstanceStatus %d, want 4", method, expired[i], st)
		}
		if evs := s.Events(t, expired[i], "released"); len(evs) != 1 || evs[0].RequestId != r.Release.RequestId {
			t.Errorf("%s: released events of %s = %+v, want one with RequestId %s", method, expired[i], evs, r.Release.RequestId)
		}
	}

	// What pop-core put on the wire: GET with everything in the query and
	// spaces as %20; POST with an empty query and everything in the body.
	var sawGETRemark, sawPOSTRemark bool
	recs := wire()
	if len(recs) != 12 {
		t.Errorf("pop-core sent %d requests, want 12", len(recs))
	}
	for _, rec := range recs {
		switch rec.Method {
		case "GET":
			if rec.Body != "" || !strings.Contains(rec.RawQuery, "Action=") || !strings.Contains(rec.RawQuery, "&Signature=") {
				t.Errorf("GET request %+v: want everything in the query", rec)
			}
			if strings.Contains(rec.RawQuery, "Remark=pop%20core%20GET%20%2A%20remark") {
				sawGETRemark = true
			}
			if strings.Contains(rec.RawQuery, "+") {
				t.Errorf("GET query %q has a '+': pop-core encodes spaces as %%20", rec.RawQuery)
			}
		case "POST":
			form, err := url.ParseQuery(rec.Body)
			if rec.RawQuery != "" || err != nil || !form.Has("Action") || !form.Has("Signature") || rec.ContentType != "application/x-www-form-urlencoded" {
				t.Errorf("POST request %+v: want an empty query and everything, Action and Signature included, in a form body", rec)
			}
			if strings.Contains(rec.Body, "Remark=pop%20core%20POST%20%2A%20remark") {
				sawPOSTRemark = true
			}
		default:
			t.Errorf("pop-core sent %s", rec.Method)
		}
	}
	if !sawGETRemark || !sawPOSTRemark {
		t.Errorf("the remark with spaces was not seen %%20-encoded (GET %v, POST %v)", sawGETRemark, sawPOSTRemark)
	}
}
