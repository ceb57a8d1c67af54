package acs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// List is a response list produced batch by batch while the answer is
// written. An action without paging (DescribeInstanceIds) can answer with
// an account's every instance; building that answer whole would cost memory
// in proportion to the account, and reading it in one query would hold a
// store connection for the whole read. With a List, only one batch is in
// memory at a time, and the bytes on the wire are exactly those the same
// items would give in a slice field (JSON array; XML element repeated per
// item).
//
// Each calls yield with successive batches and returns yield's first error.
// A response holds at most one List.
type List[T any] struct {
	Each func(yield func([]T) error) error
}

// The encoders write these in place of a List, and the gateway splits the
// encoded response around them. Neither can come from data: a NUL byte is
// refused in every parameter (and a JSON string holding the six characters
// \u0000 is written with an escaped backslash), and XML character data
// never holds a literal "<".
const (
	jsonListMarker = `"\u0000moat-list"`
	xmlListMarker  = `<!--moat-list-->`
)

// MarshalJSON stands in for the list while the rest of the response is
// encoded.
func (List[T]) MarshalJSON() ([]byte, error) { return []byte(jsonListMarker), nil }

// MarshalXML stands in for the list while the rest of the response is
// encoded.
func (List[T]) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeToken(xml.Comment("moat-list"))
}

// eachEncoded encodes each batch's items as they appear inside the list
// (comma-separated JSON values; one element named name per item in XML)
// and hands the bytes to emit. first is false once an item has been
// emitted, so JSON separators continue across batches.
func (l List[T]) eachEncoded(format Format, name string, emit func([]byte) error) error {
	if l.Each == nil {
		return nil
	}
	var buf bytes.Buffer
	n := 0
	return l.Each(func(batch []T) error {
		if len(batch) == 0 {
			return nil
		}
		buf.Reset()
		var enc *xml.Encoder
		if format == FormatXML {
			enc = xml.NewEncoder(&buf)
		}
		for i := range batch {
			if format == FormatJSON {
				b, err := marshalJSON(batch[i])
				if err != nil {
					return err
				}
				if n > 0 {
					buf.WriteByte(',')
				}
				buf.Write(b)
			} else if err := enc.EncodeElement(batch[i], xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
				return err
			}
			n++
		}
		if enc != nil {
			if err := enc.Flush(); err != nil {
				return err
			}
		}
		return emit(buf.Bytes())
	})
}

type streamList interface {
	eachEncoded(format Format, name string, emit func([]byte) error) error
}

var streamListType = reflect.TypeFor[streamList]()

// findList returns the List field of a response (a pointer to a struct)
// and the name its items carry in XML.
func findList(resp any) (streamList, string, bool) {
	v := reflect.ValueOf(resp)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, "", false
	}
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || !f.Type.Implements(streamListType) {
			continue
		}
		name := f.Name
		if tag, _, _ := strings.Cut(f.Tag.Get("xml"), ","); tag != "" {
			name = tag
		}
		return v.Field(i).Interface().(streamList), name, true
	}
	return nil, "", false
}

// errStreamBroken is a failure after the answer's status and first bytes
// were sent: no error envelope can follow, so the connection is cut (the
// client sees a truncated body, never a short list that looks complete).
type errStreamBroken struct{ err error }

func (e *errStreamBroken) Error() string { return "streamed answer broken: " + e.err.Error() }
func (e *errStreamBroken) Unwrap() error { return e.err }

// writeStreamed writes a response that holds a List. The first batch is
// held back: an answer that fits in it is sent whole with its
// Content-Length, as any other, and an error met before the second batch
// (a store failure, the per-account cap on heavy reads) is still answered
// with the error envelope. From the second batch on, the answer is sent
// chunked as it is produced.
func writeStreamed(w http.ResponseWriter, format Format, action, requestID string, resp any, list streamList, name string) (int, error) {
	body, ctype, err := encodeSuccess(format, action, resp)
	if err != nil {
		return 0, err
	}
	marker := xmlListMarker
	if format == FormatJSON {
		marker = jsonListMarker
	}
	i := bytes.Index(body, []byte(marker))
	if i < 0 || bytes.Count(body, []byte(marker)) != 1 {
		return 0, errors.New("response list marker not found exactly once")
	}
	head, tail := body[:i:i], body[i+len(marker):]
	open, closing := "", ""
	if format == FormatJSON {
		open, closing = "[", "]"
	}
	var held []byte
	batches := 0
	started := false
	header := func() {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set(headerRequestID, requestID)
	}
	err = list.eachEncoded(format, name, func(chunk []byte) error {
		batches++
		if batches == 1 {
			held = append(append(append(held, head...), open...), chunk...)
			return nil
		}
		if !started {
			header()
			w.WriteHeader(http.StatusOK)
			started = true
			if _, err := w.Write(held); err != nil {
				return err
			}
			held = nil
			// Put the status on the wire now: a client that has seen it
			// reports a later cut as a broken body, where one that has
			// seen nothing retries the GET, which repeats the signed
			// nonce and is refused as a replay.
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		_, err := w.Write(chunk)
		return err
	})
	if err != nil {
		if started {
			return 0, &errStreamBroken{err}
		}
		return 0, err
	}
	if !started {
		if batches == 0 {
			held = append(append([]byte(nil), head...), open...)
		}
		held = append(append(held, closing...), tail...)
		header()
		w.Header().Set("Content-Length", strconv.Itoa(len(held)))
		w.WriteHeader(http.StatusOK)
		w.Write(held)
		return http.StatusOK, nil
	}
	if _, err := w.Write(append([]byte(closing), tail...)); err != nil {
		return 0, &errStreamBroken{err}
	}
	return http.StatusOK, nil
}
