package ram

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON encodes the policy as a compact document that Parse reads back
// into an equal Policy: lists of one entry become a plain string, longer
// lists arrays, and the conditions are grouped by operator in the order the
// operators first appear. Condition values that were JSON numbers or
// booleans come back as strings. The encoding can be longer than the
// original (a number gains quotes), so it may exceed MaxDocumentSize when
// the original was near the limit.
//
// MarshalJSON does not validate: a hand-built Policy encodes as it is,
// except that the same operator and key twice cannot be expressed in JSON
// and is an error.
func (p Policy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"Version":`)
	writeString(&b, p.Version)
	b.WriteString(`,"Statement":[`)
	for i := range p.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeStatement(&b, &p.Statements[i]); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

func writeStatement(b *bytes.Buffer, s *Statement) error {
	b.WriteString(`{"Effect":`)
	writeString(b, string(s.Effect))
	for _, f := range [...]struct {
		key  string
		list []string
	}{{"Action", s.Actions}, {"NotAction", s.NotActions}, {"Resource", s.Resources}, {"NotResource", s.NotResources}} {
		if len(f.list) > 0 {
			b.WriteString(`,"` + f.key + `":`)
			writeList(b, f.list)
		}
	}
	if len(s.Conditions) == 0 {
		b.WriteByte('}')
		return nil
	}
	// Group by operator, keeping the order of first appearance.
	var ops []string
	byOp := map[string][]Condition{}
	for _, c := range s.Conditions {
		if _, ok := byOp[c.Operator]; !ok {
			ops = append(ops, c.Operator)
		}
		for _, d := range byOp[c.Operator] {
			if d.Key == c.Key {
				return fmt.Errorf("condition %s on %q appears twice", c.Operator, c.Key)
			}
		}
		byOp[c.Operator] = append(byOp[c.Operator], c)
	}
	b.WriteString(`,"Condition":{`)
	for i, op := range ops {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, op)
		b.WriteString(":{")
		for j, c := range byOp[op] {
			if j > 0 {
				b.WriteByte(',')
			}
			writeString(b, c.Key)
			b.WriteByte(':')
			writeList(b, c.Values)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return nil
}

func writeList(b *bytes.Buffer, list []string) {
	if len(list) == 1 {
		writeString(b, list[0])
		return
	}
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

// writeString writes s as a JSON string, escaping only what RFC 8259
// requires (no HTML escaping, which would only make documents longer).
// Invalid UTF-8, which Parse never produces, becomes U+FFFD.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
		case c < 0x20:
			switch c {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
				b.WriteString(strconv.FormatUint(uint64(c)&0xF, 16))
			}
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	b.WriteByte('"')
}
