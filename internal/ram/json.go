package ram

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A small JSON reader that keeps the byte offset of every value and key, so
// that Parse can say where a problem is. encoding/json reports offsets for
// syntax errors only, keeps the last of duplicate keys, and forgets where a
// value came from once decoded; a policy document is at most
// MaxDocumentSize bytes, so a tree is cheap.

type jsonKind uint8

const (
	jsonObject jsonKind = iota + 1
	jsonArray
	jsonString
	jsonNumber
	jsonBool
	jsonNull
)

func (k jsonKind) String() string {
	switch k {
	case jsonObject:
		return "an object"
	case jsonArray:
		return "an array"
	case jsonString:
		return "a string"
	case jsonNumber:
		return "a number"
	case jsonBool:
		return "a boolean"
	case jsonNull:
		return "null"
	}
	return "nothing"
}

// jsonValue is one parsed value and where it starts.
type jsonValue struct {
	kind    jsonKind
	off     int          // byte offset of the value's first byte
	text    string       // string: the decoded text; number, bool, null: the literal
	members []jsonMember // object members, in document order
	elems   []*jsonValue // array elements
}

type jsonMember struct {
	key string
	off int // byte offset of the key's opening quote
	val *jsonValue
}

// maxJSONDepth bounds nesting. A valid policy nests six levels deep
// (document, Statement, statement, Condition, operator, value array).
const maxJSONDepth = 32

type jsonReader struct {
	doc   []byte
	pos   int
	depth int
}

// parseJSON reads exactly one JSON value from doc, surrounded by optional
// whitespace.
func parseJSON(doc []byte) (*jsonValue, error) {
	r := &jsonReader{doc: doc}
	if len(doc) >= 3 && doc[0] == 0xEF && doc[1] == 0xBB && doc[2] == 0xBF {
		return nil, r.fail(0, "the document starts with a byte order mark; save it as UTF-8 without one")
	}
	r.skipSpace()
	if r.pos == len(doc) {
		return nil, r.fail(r.pos, "the document is empty; want a JSON object")
	}
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	r.skipSpace()
	if r.pos < len(doc) {
		return nil, r.fail(r.pos, "unexpected %s after the end of the document", r.describe(r.pos))
	}
	return v, nil
}

func (r *jsonReader) fail(off int, format string, args ...any) error {
	return newParseError(r.doc, off, format, args...)
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.doc) {
		switch r.doc[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// describe names the input at off for an error message.
func (r *jsonReader) describe(off int) string {
	if off >= len(r.doc) {
		return "end of document"
	}
	c, n := utf8.DecodeRune(r.doc[off:])
	if c == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("byte 0x%02X (invalid UTF-8)", r.doc[off])
	}
	return fmt.Sprintf("character %q", c)
}

func (r *jsonReader) value() (*jsonValue, error) {
	r.skipSpace()
	if r.pos == len(r.doc) {
		return nil, r.fail(r.pos, "unexpected end of document; want a value")
	}
	switch c := r.doc[r.pos]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		off := r.pos
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return &jsonValue{kind: jsonString, off: off, text: s}, nil
	case c == '-' || '0' <= c && c <= '9':
		return r.number()
	case c == 't':
		return r.literal("true", jsonBool)
	case c == 'f':
		return r.literal("false", jsonBool)
	case c == 'n':
		return r.literal("null", jsonNull)
	default:
		return nil, r.fail(r.pos, "unexpected %s; want a value", r.describe(r.pos))
	}
}

func (r *jsonReader) enter(off int) error {
	r.depth++
	if r.depth > maxJSONDepth {
		return r.fail(off, "the document nests deeper than %d levels", maxJSONDepth)
	}
	return nil
}

func (r *jsonReader) object() (*jsonValue, error) {
	v := &jsonValue{kind: jsonObject, off: r.pos}
	if err := r.enter(r.pos); err != nil {
		return nil, err
	}
	r.pos++ // {
	r.skipSpace()
	if r.pos < len(r.doc) && r.doc[r.pos] == '}' {
		r.pos++
		r.depth--
		return v, nil
	}
	for {
		r.skipSpace()
		if r.pos == len(r.doc) || r.doc[r.pos] != '"' {
			if len(v.members) > 0 && r.pos < len(r.doc) && r.doc[r.pos] == '}' {
				return nil, r.fail(r.pos, "unexpected '}' after ','; want a key (remove the trailing comma)")
			}
			return nil, r.fail(r.pos, "unexpected %s; want a key in double quotes", r.describe(r.pos))
		}
		keyOff := r.pos
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		for _, m := range v.members {
			if m.key == key {
				first := newParseError(r.doc, m.off, "")
				return nil, r.fail(keyOff, "duplicate key %q (first at line %d, column %d)", key, first.Line, first.Column)
			}
		}
		r.skipSpace()
		if r.pos == len(r.doc) || r.doc[r.pos] != ':' {
			return nil, r.fail(r.pos, "unexpected %s; want ':' after the key %q", r.describe(r.pos), key)
		}
		r.pos++
		val, err := r.value()
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, jsonMember{key: key, off: keyOff, val: val})
		r.skipSpace()
		if r.pos < len(r.doc) && r.doc[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.pos < len(r.doc) && r.doc[r.pos] == '}' {
			r.pos++
			r.depth--
			return v, nil
		}
		return nil, r.fail(r.pos, "unexpected %s; want ',' or '}' after the value of %q", r.describe(r.pos), key)
	}
}

func (r *jsonReader) array() (*jsonValue, error) {
	v := &jsonValue{kind: jsonArray, off: r.pos}
	if err := r.enter(r.pos); err != nil {
		return nil, err
	}
	r.pos++ // [
	r.skipSpace()
	if r.pos < len(r.doc) && r.doc[r.pos] == ']' {
		r.pos++
		r.depth--
		return v, nil
	}
	for {
		r.skipSpace()
		if len(v.elems) > 0 && r.pos < len(r.doc) && r.doc[r.pos] == ']' {
			return nil, r.fail(r.pos, "unexpected ']' after ','; want a value (remove the trailing comma)")
		}
		e, err := r.value()
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, e)
		r.skipSpace()
		if r.pos < len(r.doc) && r.doc[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.pos < len(r.doc) && r.doc[r.pos] == ']' {
			r.pos++
			r.depth--
			return v, nil
		}
		return nil, r.fail(r.pos, "unexpected %s; want ',' or ']' after an array element", r.describe(r.pos))
	}
}

// str reads a string starting at its opening quote and returns it decoded.
// It rejects what RFC 8259 rejects (raw control characters, unknown
// escapes) and also invalid UTF-8 and lone surrogates, so every string of a
// parsed policy is valid UTF-8 and re-encodes to itself.
func (r *jsonReader) str() (string, error) {
	open := r.pos
	r.pos++
	start := r.pos
	var b *strings.Builder // nil until the first escape
	for {
		if r.pos == len(r.doc) {
			return "", r.fail(open, "the string that starts here is not terminated")
		}
		c := r.doc[r.pos]
		switch {
		case c == '"':
			var s string
			if b == nil {
				s = string(r.doc[start:r.pos])
			} else {
				b.Write(r.doc[start:r.pos])
				s = b.String()
			}
			r.pos++
			return s, nil
		case c == '\\':
			if b == nil {
				b = new(strings.Builder)
			}
			b.Write(r.doc[start:r.pos])
			if err := r.escape(b); err != nil {
				return "", err
			}
			start = r.pos
		case c < 0x20:
			return "", r.fail(r.pos, "control character U+%04X in a string; write it as an escape", c)
		case c < utf8.RuneSelf:
			r.pos++
		default:
			ch, n := utf8.DecodeRune(r.doc[r.pos:])
			if ch == utf8.RuneError && n <= 1 {
				return "", r.fail(r.pos, "byte 0x%02X in a string is not valid UTF-8", c)
			}
			r.pos += n
		}
	}
}

// escape decodes the escape sequence at r.pos (a backslash) into b.
func (r *jsonReader) escape(b *strings.Builder) error {
	at := r.pos
	if r.pos+1 >= len(r.doc) {
		return r.fail(at, "the escape sequence is cut off by the end of the document")
	}
	c := r.doc[r.pos+1]
	r.pos += 2
	switch c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		ch, ok := r.hex4()
		if !ok {
			return r.fail(at, `invalid \u escape; want four hexadecimal digits`)
		}
		switch {
		case 0xDC00 <= ch && ch <= 0xDFFF:
			return r.fail(at, `\u%04X is a lone low surrogate`, ch)
		case 0xD800 <= ch && ch <= 0xDBFF:
			if r.pos+1 < len(r.doc) && r.doc[r.pos] == '\\' && r.doc[r.pos+1] == 'u' {
				r.pos += 2
				lo, ok := r.hex4()
				if ok && 0xDC00 <= lo && lo <= 0xDFFF {
					ch = 0x10000 + (ch-0xD800)<<10 + (lo - 0xDC00)
					break
				}
			}
			return r.fail(at, `\u%04X is a high surrogate without a low surrogate after it`, ch)
		}
		b.WriteRune(ch)
	default:
		ch, _ := utf8.DecodeRune(r.doc[at+1:])
		return r.fail(at, `invalid escape \%c in a string`, ch)
	}
	return nil
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.pos+4 > len(r.doc) {
		return 0, false
	}
	var v rune
	for _, c := range r.doc[r.pos : r.pos+4] {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			v |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	r.pos += 4
	return v, true
}

// number reads a number as RFC 8259 spells it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() (*jsonValue, error) {
	start := r.pos
	bad := func() error {
		return r.fail(start, "invalid number %q", r.doc[start:min(r.pos+1, len(r.doc))])
	}
	digits := func() int {
		n := 0
		for r.pos < len(r.doc) && '0' <= r.doc[r.pos] && r.doc[r.pos] <= '9' {
			r.pos++
			n++
		}
		return n
	}
	if r.doc[r.pos] == '-' {
		r.pos++
	}
	if r.pos < len(r.doc) && r.doc[r.pos] == '0' {
		r.pos++
	} else if digits() == 0 {
		return nil, bad()
	}
	if r.pos < len(r.doc) && r.doc[r.pos] == '.' {
		r.pos++
		if digits() == 0 {
			return nil, bad()
		}
	}
	if r.pos < len(r.doc) && (r.doc[r.pos] == 'e' || r.doc[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.doc) && (r.doc[r.pos] == '+' || r.doc[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return nil, bad()
		}
	}
	return &jsonValue{kind: jsonNumber, off: start, text: string(r.doc[start:r.pos])}, nil
}

func (r *jsonReader) literal(word string, kind jsonKind) (*jsonValue, error) {
	start := r.pos
	end := start
	for end < len(r.doc) && end-start < 16 && ('a' <= r.doc[end] && r.doc[end] <= 'z' || 'A' <= r.doc[end] && r.doc[end] <= 'Z') {
		end++
	}
	if string(r.doc[start:end]) != word {
		return nil, r.fail(start, "unexpected %q; want a value (true, false, null, a number, a string, an array or an object)", r.doc[start:end])
	}
	r.pos = end
	return &jsonValue{kind: kind, off: start, text: word}, nil
}
