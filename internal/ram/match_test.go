package ram

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPatternMatch pins the wildcard language: * is any run of characters
// (colons and slashes included), ? is exactly one character (not one byte),
// the pattern covers the whole subject, and folding is ASCII-only.
func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, subject string
		fold             bool
		want             bool
	}{
		{"*", "", false, true},
		{"*", "anything:at/all", false, true},
		{"abc", "abc", false, true},
		{"abc", "abcd", false, false},
		{"abc", "ab", false, false},
		{"abc", "ABC", false, false},
		{"abc", "ABC", true, true},
		{"ABC", "abc", true, true},
		{"abc*", "abc", false, true},
		{"abc*", "abcdef", false, true},
		{"abc*", "ab", false, false},
		{"ABC*", "abcdef", true, true},
		{"ABC*", "abcdef", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "abbc", false, false},
		{"a?c", "aéc", false, true},   // ? is one character, two bytes here
		{"a??c", "aéc", false, false}, // not two bytes of one character
		{"*??", "€", false, false},    // a * never stops inside a character
		{"*??", "€€", false, true},
		{"a*b*c", "axxbyyc", false, true},
		{"a*b*c", "axxbyy", false, false},
		{"a*b*c", "abcbcbc", false, true},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"a**b", "ab", false, true},
		{"a***", "a", false, true},
		{"*:Describe*", "bss:DescribeX", true, true},
		{"x:*tag*", "x:DescribeTagKeys", true, true}, // the skip to the literal after * folds case
		{"x:*tag*", "x:DescribeTagKeys", false, false},
		{"x:*Tag?", "x:TagTagX", false, true}, // the skip retries after a false start
		{"acs:yundun-ddoscoo:*:*:instance/*", "acs:yundun-ddoscoo:cn-hangzhou:1:instance/x", false, true},
		{"acs:*:instance/x", "acs:a:b:c:instance/x", false, true}, // * crosses colons
		{"ecs:k", "ecs:\u212a", true, false},                      // the Kelvin sign is not k
		{"ecs:?", "ecs:\xff", false, true},                        // an invalid byte is one character
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern, tt.fold)
		if got := p.match(tt.subject); got != tt.want {
			t.Errorf("pattern %q (fold %v, kind %d) on %q = %v, want %v", tt.pattern, tt.fold, p.kind, tt.subject, got, tt.want)
		}
	}
}

// TestCompilePatternKinds pins that the cheap matchers are chosen where they
// are exact, so a change to the classification cannot silently route a
// pattern with wildcards to the literal matcher.
func TestCompilePatternKinds(t *testing.T) {
	tests := []struct {
		pattern string
		kind    patternKind
		text    string
	}{
		{"*", patternAny, "*"},
		{"**", patternAny, "*"},
		{"a:B", patternExact, "a:b"},
		{"a:B*", patternPrefix, "a:b"},
		{"a:B**", patternPrefix, "a:b"},
		{"a:?*", patternGlob, "a:?*"},
		{"*a", patternGlob, "*a"},
		{"a*b", patternGlob, "a*b"},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern, true)
		if p.kind != tt.kind || p.text != tt.text {
			t.Errorf("compilePattern(%q) = kind %d text %q, want kind %d text %q", tt.pattern, p.kind, p.text, tt.kind, tt.text)
		}
	}
}

// FuzzPatternMatch pins the glob matcher to a regular-expression reference
// on valid UTF-8, and to not panicking on anything.
func FuzzPatternMatch(f *testing.F) {
	f.Add("a*b?c", "axxbyc", false)
	f.Add("*:Describe*", "YUNDUN:describeX", true)
	f.Add("*??", "€", false)
	f.Add("a**?", "aé", true)
	f.Fuzz(func(t *testing.T, pat, s string, fold bool) {
		p := compilePattern(pat, fold)
		got := p.match(s)
		if !utf8.ValidString(pat) || !utf8.ValidString(s) {
			return // the reference decodes invalid bytes as U+FFFD; only no-panic is checked
		}
		if len(pat) > 256 || len(s) > 1024 {
			return // the reference is slow on long patterns; only no-panic is checked
		}
		if want := referenceGlob(pat, s, fold); got != want {
			t.Fatalf("pattern %q (fold %v) on %q = %v, reference says %v", pat, fold, s, got, want)
		}
	})
}

func referenceGlob(pat, s string, fold bool) bool {
	if fold {
		pat, s = asciiLower(pat), asciiLower(s)
	}
	var re strings.Builder
	re.WriteString(`^(?s)`)
	for _, r := range pat {
		switch r {
		case '*':
			re.WriteString(`.*`)
		case '?':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString(`$`)
	return regexp.MustCompile(re.String()).MatchString(s)
}
