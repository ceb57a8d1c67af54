package acs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerPanicIsInternalError pins what a panicking handler costs: the
// caller gets 500 InternalError with a RequestId and a generic message
// (never the panic value), the log line with that RequestId carries the
// panic and its stack at level ERROR, the per-client in-flight count is
// released, and the server goes on serving, over a real listener.
func TestHandlerPanicIsInternalError(t *testing.T) {
	tg := newTestGateway(t)
	srv := httptest.NewServer(PerClientLimit(tg, 1))
	defer srv.Close()
	send := func(action, word string) (*http.Response, map[string]string) {
		t.Helper()
		params := map[string]string{"Action": action, "Format": "JSON"}
		if word != "" {
			params["Word"] = word
		}
		r := tg.v1("GET", "AK1", "secret1", params)
		resp, err := http.Get(srv.URL + "/?" + r.URL.RawQuery)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var body map[string]string
		json.Unmarshal(b, &body)
		return resp, body
	}
	var ids []string
	for i := 0; i < 3; i++ { // more than the in-flight limit of 1
		resp, body := send("Boom", "")
		if resp.StatusCode != 500 || body["Code"] != "InternalError" {
			t.Fatalf("panic %d: %d %v, want 500 InternalError", i, resp.StatusCode, body)
		}
		id := resp.Header.Get("x-acs-request-id")
		if !requestIDRE.MatchString(id) || body["RequestId"] != id {
			t.Fatalf("RequestId %q in the header, %q in the body", id, body["RequestId"])
		}
		if strings.Contains(body["Message"], "boom") || body["Message"] != "The request processing has failed due to some unknown error." {
			t.Fatalf("Message %q: want the generic one, never the panic", body["Message"])
		}
		ids = append(ids, id)
	}
	resp, body := send("Echo", "still serving")
	if resp.StatusCode != 200 || body["Word"] != "still serving" {
		t.Fatalf("after the panics: %d %v", resp.StatusCode, body)
	}
	srv.Close() // waits for the handlers, so every log line is written
	logs := tg.log.String()
	for _, id := range ids {
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "RequestId="+id) {
				line = l
			}
		}
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "Code=InternalError") || !strings.Contains(line, "Status=500") ||
			!strings.Contains(line, "panic: boom") || !strings.Contains(line, "goroutine") {
			t.Errorf("log line of %s lacks the level, code, status, panic or stack:\n%s", id, line)
		}
	}
}
