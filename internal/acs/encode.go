package acs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"moat/internal/moat"
)

// headerRequestID carries the RequestId on every answer, success or
// error, as the real gateway sends it.
const headerRequestID = "x-acs-request-id"

// Response is embedded first in every action's response struct so that
// RequestId leads the body, as in Alibaba's responses.
type Response struct {
	RequestId string //nolint:revive // wire spelling
}

// SetRequestID stamps the response.
func (r *Response) SetRequestID(id string) { r.RequestId = id }

type requestIDSetter interface{ SetRequestID(string) }

// Format is a response encoding.
type Format uint8

const (
	FormatXML Format = iota
	FormatJSON
)

// NewRequestID returns a fresh upper-case UUID (version 4), the shape of
// Alibaba RequestIds.
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return strings.ToUpper(string(out[:]))
}

// HTTPStatus maps an error to its status, in one place. Alibaba's gateway
// answers most client errors with 400; missing things are 404.
func HTTPStatus(e *moat.Error) int {
	switch e.Kind {
	case moat.KindInvalid, moat.KindUnauthenticated, moat.KindConflict, moat.KindThrottled:
		return http.StatusBadRequest
	case moat.KindNotFound:
		return http.StatusNotFound
	case moat.KindForbidden:
		return http.StatusForbidden
	case moat.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the error envelope every client parses (sdk-go v1 reads
// these keys with jmespath; darabonba and tea-rpc read Code/Message/
// RequestId). It is always JSON: the v3 SDKs cannot parse an XML error.
type errorBody struct {
	RequestId          string
	HostId             string
	Code               string
	Message            string
	Recommend          string
	AccessDeniedDetail *moat.AccessDeniedDetail `json:",omitempty"`
}

// WriteError writes the JSON error envelope with the status for e.
func WriteError(w http.ResponseWriter, requestID, host string, e *moat.Error) int {
	return writeError(w, requestID, host, "", e)
}

// writeError is WriteError for a request of a known product (its name goes
// into the Recommend link; ddoscoo when unknown).
func writeError(w http.ResponseWriter, requestID, host, product string, e *moat.Error) int {
	if product == "" {
		product = "ddoscoo"
	}
	status := HTTPStatus(e)
	body, _ := marshalJSON(errorBody{
		RequestId:          requestID,
		HostId:             host,
		Code:               string(e.Code),
		Message:            e.Message,
		Recommend:          "https://api.aliyun.com/troubleshoot?q=" + string(e.Code) + "&product=" + product + "&requestId=" + requestID,
		AccessDeniedDetail: e.AccessDenied,
	})
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set(headerRequestID, requestID)
	w.WriteHeader(status)
	w.Write(body)
	return status
}

// encodeSuccess renders a response. XML uses <{Action}Response> as the
// root, flattens the embedded Response, and repeats a list's element once
// per item under the list's own name (what encoding/xml does with a slice
// field, and what sdk-go v1's xml.Unmarshal expects).
func encodeSuccess(format Format, action string, resp any) ([]byte, string, error) {
	if format == FormatJSON {
		b, err := marshalJSON(resp)
		return b, "application/json;charset=utf-8", err
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(resp, xml.StartElement{Name: xml.Name{Local: action + "Response"}}); err != nil {
		return nil, "", err
	}
	if err := enc.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "text/xml;charset=utf-8", nil
}

// marshalJSON encodes without HTML escaping (Alibaba's bodies carry a
// literal "&" in URLs) and without a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
