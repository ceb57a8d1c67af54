package acs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"moat/internal/moat"
)

type streamedResponse struct {
	Response
	Items List[listItem]
}

type slicedResponse struct {
	Response
	Items []listItem
}

// items makes n items whose names need escaping in both formats.
func items(n int) []listItem {
	out := make([]listItem, n)
	for i := range out {
		out[i] = listItem{Name: fmt.Sprintf("a&b <%d> \"q\" é", i), Count: i}
	}
	return out
}

// batchesOf yields all in batches of size (the last one shorter), then
// fails with failAfter's error once that many batches were yielded (never
// when failAfter < 0).
func batchesOf(all []listItem, size, failAfter int) List[listItem] {
	return List[listItem]{Each: func(yield func([]listItem) error) error {
		for i, n := 0, 0; i < len(all); i, n = i+size, n+1 {
			if n == failAfter {
				return moat.Unavailable("scan", errors.New("store went away"))
			}
			if err := yield(all[i:min(i+size, len(all))]); err != nil {
				return err
			}
		}
		if failAfter >= 0 && (len(all)+size-1)/size == failAfter {
			return moat.Unavailable("scan", errors.New("store went away"))
		}
		return nil
	}}
}

// TestHardening_StreamedListBytesEqualSlice pins that a List is written
// byte for byte as the same items in a slice field, in both formats,
// whatever the batching: sdk-go v1 parses these bodies with its struct
// tags, and the golden files (testdata/list.*) fix the slice encoding.
func TestHardening_StreamedListBytesEqualSlice(t *testing.T) {
	for _, format := range []Format{FormatJSON, FormatXML} {
		for _, c := range []struct{ n, size int }{{0, 3}, {1, 3}, {3, 3}, {4, 3}, {10, 3}, {10, 1}, {1000, 7}} {
			t.Run(fmt.Sprintf("format%d/%d_items_in_batches_of_%d", format, c.n, c.size), func(t *testing.T) {
				all := items(c.n)
				want, wantType, err := encodeSuccess(format, "DescribeX", &slicedResponse{Response{"RID"}, all})
				if err != nil {
					t.Fatal(err)
				}
				resp := &streamedResponse{Response{"RID"}, batchesOf(all, c.size, -1)}
				list, name, ok := findList(resp)
				if !ok || name != "Items" {
					t.Fatalf("findList = %v, %q", ok, name)
				}
				w := httptest.NewRecorder()
				status, err := writeStreamed(w, format, "DescribeX", "RID", resp, list, name)
				if err != nil || status != 200 || w.Code != 200 {
					t.Fatalf("writeStreamed = %d, %v (recorded %d)", status, err, w.Code)
				}
				if got := w.Body.String(); got != string(want) {
					t.Fatalf("streamed body differs from the slice's:\ngot:  %.300s\nwant: %.300s", got, want)
				}
				if got := w.Header().Get("Content-Type"); got != wantType {
					t.Errorf("Content-Type %q, want %q", got, wantType)
				}
				// An answer held in its first batch keeps its Content-Length;
				// a longer one is sent as it is produced.
				cl := w.Header().Get("Content-Length")
				if oneBatch := c.n <= c.size; oneBatch != (cl == fmt.Sprint(len(want))) {
					t.Errorf("%d items in batches of %d: Content-Length %q (body %d bytes)", c.n, c.size, cl, len(want))
				}
			})
		}
	}
}

// TestHardening_StreamedListErrorBeforeSecondBatchIsAnEnvelope pins that
// an error met before the second batch (where the per-account cap on heavy
// reads answers) sends nothing, so the gateway can still answer with the
// error envelope, and that a later one is reported as a broken stream.
func TestHardening_StreamedListErrorBeforeSecondBatchIsAnEnvelope(t *testing.T) {
	for _, failAfter := range []int{0, 1} {
		w := httptest.NewRecorder()
		resp := &streamedResponse{Response{"RID"}, batchesOf(items(10), 3, failAfter)}
		list, name, _ := findList(resp)
		_, err := writeStreamed(w, FormatJSON, "DescribeX", "RID", resp, list, name)
		var broken *errStreamBroken
		if moat.ErrorCode(err) != moat.CodeServiceUnavailable || errors.As(err, &broken) || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
			t.Errorf("failing after %d batches: %v, wrote %q", failAfter, err, w.Body.String())
		}
	}
	for _, failAfter := range []int{2, 4} {
		w := httptest.NewRecorder()
		resp := &streamedResponse{Response{"RID"}, batchesOf(items(10), 3, failAfter)}
		list, name, _ := findList(resp)
		_, err := writeStreamed(w, FormatJSON, "DescribeX", "RID", resp, list, name)
		var broken *errStreamBroken
		if !errors.As(err, &broken) || w.Code != 200 {
			t.Errorf("failing after %d batches: %v, status %d", failAfter, err, w.Code)
		}
	}
}

// TestHardening_StreamedListThroughGateway drives the gateway over a real
// listener: a long list arrives chunked and whole, and a store failure in
// the middle of it cuts the connection, so the client gets a read error
// rather than a valid-looking short list.
func TestHardening_StreamedListThroughGateway(t *testing.T) {
	tg := newTestGateway(t)
	all := items(500) // more than net/http buffers before it must chunk
	tg.products["2020-01-01"].Actions["Streamed"] = Handle(func(ctx context.Context, call *Call, req *struct{}) (*streamedResponse, error) {
		return &streamedResponse{Items: batchesOf(all, 100, -1)}, nil
	})
	tg.products["2020-01-01"].Actions["Broken"] = Handle(func(ctx context.Context, call *Call, req *struct{}) (*streamedResponse, error) {
		return &streamedResponse{Items: batchesOf(all, 10, 3)}, nil // cut before net/http would flush on its own
	})
	srv := httptest.NewServer(tg)
	t.Cleanup(srv.Close)
	get := func(action string) (*http.Response, []byte, error) {
		r := tg.v1("GET", "AK1", "secret1", map[string]string{"Action": action, "Format": "JSON"})
		resp, err := http.Get(srv.URL + "/?" + r.URL.RawQuery)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}

	resp, body, err := get("Streamed")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Streamed: %v, %v", resp, err)
	}
	want, _, _ := encodeSuccess(FormatJSON, "Streamed", &slicedResponse{Response{resp.Header.Get("x-acs-request-id")}, all})
	if !bytes.Equal(body, want) {
		t.Fatalf("Streamed body:\ngot:  %.200s\nwant: %.200s", body, want)
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Streamed: Content-Length %d, Transfer-Encoding %v; want chunked", resp.ContentLength, resp.TransferEncoding)
	}

	resp, body, err = get("Broken")
	if err == nil {
		t.Fatalf("Broken: read %d bytes (%d) without an error: %.200s", len(body), resp.StatusCode, body)
	}
	if !strings.Contains(tg.log.String(), "store went away") {
		t.Errorf("the cause is not logged: %s", tg.log.String())
	}
}
