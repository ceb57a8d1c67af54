package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestHardening_SignatureMismatchEchoIsCapped pins that a forged request
// (only a known AccessKeyId needed) cannot make the server answer with
// several times its own size: the string to sign, in which every '*' of a
// value becomes "%252A", is echoed exactly up to 32 KiB and cut beyond it
// with a marker, while an ordinary request, even one naming 200 instances,
// still gets its exact string to sign (sdk-go v1 compares it with its own).
func TestHardening_SignatureMismatchEchoIsCapped(t *testing.T) {
	s := StartServer(t)
	const prefix = "Specified signature is not matched with our calculation. server string to sign is:"

	t.Run("1 MB forged body", func(t *testing.T) {
		p := rawV1Params("DescribeInstances", map[string]string{"Format": "JSON"})
		var body strings.Builder
		for i := range 16 {
			name, value := fmt.Sprintf("Pad%02d", i), strings.Repeat("*", 60_000)
			p[name] = value
			if i > 0 {
				body.WriteByte('&')
			}
			body.WriteString(name + "=" + value) // '*' needs no escape in a form
		}
		all := map[string]string{}
		for k, v := range p {
			all[k] = v
		}
		sts := rawSignV1("POST", "forged-secret", all)
		q := map[string]string{}
		for k, v := range all {
			if !strings.HasPrefix(k, "Pad") {
				q[k] = v
			}
		}
		r := rawRequest{Method: "POST", RawQuery: rawEncodeParams(q, false), Body: body.String(), Header: http.Header{}}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(r.Body) < 960_000 || len(sts) < 4_800_000 {
			t.Fatalf("the request is %d bytes and its string to sign %d: not the 1 MB, 5x case", len(r.Body), len(sts))
		}
		got := secSend(t, s, r)
		secWant(t, got, 400, "SignatureDoesNotMatch")
		if len(got.Body) > 40<<10 {
			t.Fatalf("a %d-byte forged request got a %d-byte answer, want at most 40 KiB", len(r.Body)+len(r.RawQuery), len(got.Body))
		}
		t.Logf("a %d-byte forged request got a %d-byte answer", len(r.Body)+len(r.RawQuery), len(got.Body))
		msg := secEnvelope(t, got).Message
		echoed, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			t.Fatalf("message %.200q does not start with %q", msg, prefix)
		}
		head, marker, ok := strings.Cut(echoed, "…")
		if !ok || head != sts[:32<<10] || !strings.Contains(marker, fmt.Sprint(len(sts))) {
			t.Fatalf("echo is not the first 32 KiB of the string to sign, then a marker naming its %d bytes: %.100q … %.200q", len(sts), head, marker)
		}
	})

	t.Run("200 instance IDs: exact", func(t *testing.T) {
		extra := map[string]string{"Format": "JSON", "RegionId": "cn-hangzhou"}
		for i := 1; i <= 200; i++ {
			extra[fmt.Sprintf("InstanceIds.%d", i)] = fmt.Sprintf("ddoscoo-cn-%012d", i)
		}
		p := rawV1Params("DescribeInstances", extra)
		sts := rawSignV1("POST", "forged-secret", p)
		got := secSend(t, s, rawV1Request("POST", p, nil, false))
		secWant(t, got, 400, "SignatureDoesNotMatch")
		if msg := secEnvelope(t, got).Message; msg != prefix+sts {
			t.Fatalf("message is not the exact %d-byte string to sign: %.300q", len(sts), msg)
		}
	})
}
