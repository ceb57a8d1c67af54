package ram

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"moat/internal/moat"
)

// CodeMalformedPolicyDocument is the public code of a policy document that
// does not parse (400).
const CodeMalformedPolicyDocument = moat.CodeMalformedPolicyDocument

// ParseError is a policy document that Parse rejected: where the problem is
// and what it is. It satisfies moat's error contract through Unwrap, so
// moat.AsError(err) is a KindInvalid error with Code MalformedPolicyDocument
// whose message carries the position.
type ParseError struct {
	Offset int    // byte offset of the problem, from 0
	Line   int    // line of the problem, from 1
	Column int    // column of the problem, from 1, counted in characters
	Msg    string // what is wrong
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d, column %d (byte offset %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

// Unwrap exposes the error as moat's domain error, so that errors.As and
// moat.AsError find a *moat.Error with Kind invalid and Code
// MalformedPolicyDocument.
func (e *ParseError) Unwrap() error {
	return &moat.Error{
		Kind:    moat.KindInvalid,
		Code:    CodeMalformedPolicyDocument,
		Message: "The policy document is malformed: " + e.Error() + ".",
	}
}

// newParseError locates byte offset off of doc as a line and a column.
// Only '\n' ends a line; columns count UTF-8 characters (an invalid byte
// counts as one), so the column is what an editor shows.
func newParseError(doc []byte, off int, format string, args ...any) *ParseError {
	off = max(0, min(off, len(doc)))
	before := doc[:off]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return &ParseError{
		Offset: off,
		Line:   1 + bytes.Count(before, []byte{'\n'}),
		Column: 1 + utf8.RuneCount(before[lineStart:]),
		Msg:    fmt.Sprintf(format, args...),
	}
}
