package ram

import (
	"strings"
	"unicode/utf8"
)

// patternKind picks the cheapest matcher that is exact for a pattern; most
// policy patterns are "*", a literal, or a literal followed by one *.
type patternKind uint8

const (
	patternAny    patternKind = iota // "*": matches every string
	patternExact                     // no wildcard
	patternPrefix                    // literal followed by a single trailing *
	patternGlob                      // anything else
)

// pattern is a precompiled * and ? wildcard pattern. For a case-insensitive
// pattern (fold) the text is lower-cased at compile time and the subject is
// lower-cased byte by byte while matching, so matching never allocates.
type pattern struct {
	kind patternKind
	fold bool   // ASCII case-insensitive
	text string // the literal (exact), the literal before the * (prefix), or the glob
	// For a glob: the literal before the first wildcard and the literal after
	// the last * (empty if that part has a ?), which are checked first and cut
	// off, so that the backtracking matcher only sees the middle.
	head, tail string
}

// compilePattern precompiles a wildcard pattern. Runs of * are collapsed,
// which does not change what the pattern matches.
func compilePattern(s string, fold bool) pattern {
	if fold {
		s = asciiLower(s)
	}
	for strings.Contains(s, "**") {
		s = strings.ReplaceAll(s, "**", "*")
	}
	p := pattern{fold: fold, text: s}
	switch i := strings.IndexAny(s, "*?"); {
	case s == "*":
		p.kind = patternAny
	case i < 0:
		p.kind = patternExact
	case i == len(s)-1 && s[i] == '*':
		p.kind = patternPrefix
		p.text = s[:i]
	default:
		p.kind = patternGlob
		p.head = s[:i]
		if j := strings.LastIndexByte(s, '*'); j >= 0 && !strings.ContainsRune(s[j:], '?') {
			p.tail = s[j+1:]
		}
	}
	return p
}

func (p *pattern) match(s string) bool {
	switch p.kind {
	case patternAny:
		return true
	case patternExact:
		return len(s) == len(p.text) && equalFrom(p.text, s, p.fold)
	case patternPrefix:
		return len(s) >= len(p.text) && equalFrom(p.text, s[:len(p.text)], p.fold)
	default:
		h, t := len(p.head), len(p.tail)
		if len(s) < h+t || !equalFrom(p.head, s[:h], p.fold) || !equalFrom(p.tail, s[len(s)-t:], p.fold) {
			return false
		}
		return glob(p.text[h:len(p.text)-t], s[h:len(s)-t], p.fold)
	}
}

// equalFrom reports whether s equals the literal lit, which is lower-case when
// fold is set. len(s) must equal len(lit).
func equalFrom(lit, s string, fold bool) bool {
	if !fold {
		return s == lit
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lit[i] {
			return false
		}
	}
	return true
}

// glob matches s against a pattern in which * matches any run of characters
// and ? exactly one character (one UTF-8 sequence, or one byte of invalid
// UTF-8). It backtracks only to the most recent *, which is exact for this
// pattern language, so it runs in O(len(p)·len(s)) time and never allocates.
// The star only ever advances by whole characters, so a ? can never match
// half of a multi-byte character.
func glob(p, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					n := 1
					if s[sx] >= utf8.RuneSelf {
						_, n = utf8.DecodeRuneInString(s[sx:])
					}
					px++
					sx += n
					continue
				}
			default:
				if sx < len(s) && (s[sx] == c || fold && lower(s[sx]) == c) {
					px++
					sx++
					continue
				}
			}
		} else if sx == len(s) {
			return true
		}
		// Mismatch: let the last * swallow one more character, or fail.
		if starPx < 0 || starSx >= len(s) {
			return false
		}
		n := 1
		if s[starSx] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s[starSx:])
		}
		starSx += n
		// If a literal follows the *, no match can resume before the next
		// occurrence of its first byte; skip there directly.
		if next := starPx + 1; next < len(p) && p[next] != '*' && p[next] != '?' {
			starSx = indexFrom(s, starSx, p[next], fold)
			if starSx < 0 {
				return false
			}
		}
		px, sx = starPx+1, starSx
	}
}

// indexFrom is the index of the first byte at or after from that equals c,
// which is lower-case when fold is set; -1 if there is none.
func indexFrom(s string, from int, c byte, fold bool) int {
	if !fold || c < 'a' || c > 'z' {
		if i := strings.IndexByte(s[from:], c); i >= 0 {
			return from + i
		}
		return -1
	}
	for i := from; i < len(s); i++ {
		if lower(s[i]) == c {
			return i
		}
	}
	return -1
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

// asciiEqualFold compares ASCII letters case-insensitively and every other
// byte exactly. Unlike strings.EqualFold it does not equate, say, the Kelvin
// sign with k, which matters for names that must be spelled in ASCII.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
