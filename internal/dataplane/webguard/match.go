package webguard

import (
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"moat/internal/moat"
)

// cond is a compiled condition of a precise or CC rule.
type cond struct {
	moat.PreciseCondition
	prefix netip.Prefix   // belong, nbelong
	re     *regexp.Regexp // regular
	n      int64          // the length or value of l* and v* methods
}

// compileConds compiles conditions; ok is false when one cannot be
// compiled (the API refuses such a rule, so a stored one never is): the
// rule then never matches.
func compileConds(cs []moat.PreciseCondition) ([]cond, bool) {
	out := make([]cond, 0, len(cs))
	for _, c := range cs {
		k := cond{PreciseCondition: c}
		k.Field, k.Match = strings.ToLower(c.Field), strings.ToLower(c.Match)
		switch k.Match {
		case "belong", "nbelong":
			p, ok := parsePrefix(c.Value)
			if !ok {
				return nil, false
			}
			k.prefix = p
		case "regular":
			re, err := regexp.Compile(c.Value)
			if err != nil {
				return nil, false
			}
			k.re = re
		case "lless", "lequal", "lgreat", "vless", "vequal", "vgreat":
			n, err := strconv.ParseInt(c.Value, 10, 64)
			if err != nil {
				return nil, false
			}
			k.n = n
		}
		out = append(out, k)
	}
	return out, true
}

// parsePrefix reads an address or CIDR block.
func parsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// field is the value of a condition's field in r, and whether r has it.
func field(c *cond, src netip.Addr, r *http.Request) (string, bool) {
	switch c.Field {
	case "uri":
		return r.URL.Path, true
	case "url":
		return r.URL.RequestURI(), true
	case "params":
		return r.URL.RawQuery, r.URL.RawQuery != ""
	case "http-method":
		return r.Method, true
	case "user-agent":
		return header(r, "User-Agent")
	case "referer":
		return header(r, "Referer")
	case "cookie":
		return header(r, "Cookie")
	case "content-type":
		return header(r, "Content-Type")
	case "x-forwarded-for":
		return header(r, "X-Forwarded-For")
	case "header":
		return header(r, c.Header)
	case "ip":
		return src.String(), true
	}
	return "", false
}

func header(r *http.Request, name string) (string, bool) {
	vs := r.Header.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	return strings.Join(vs, ", "), true
}

// matches says whether r from src meets c.
func (c *cond) matches(src netip.Addr, r *http.Request) bool {
	switch c.Match {
	case "belong":
		return c.prefix.Contains(src.Unmap())
	case "nbelong":
		return !c.prefix.Contains(src.Unmap())
	case "vless", "vequal", "vgreat":
		if r.ContentLength < 0 {
			return false
		}
		return compare(c.Match[1:], r.ContentLength, c.n)
	}
	v, ok := field(c, src, r)
	switch c.Match {
	case "nexist":
		return !ok
	case "contain":
		return ok && strings.Contains(v, c.Value)
	case "ncontain":
		return !ok || !strings.Contains(v, c.Value)
	case "equal":
		if c.Field == "http-method" {
			return strings.EqualFold(v, c.Value)
		}
		return ok && v == c.Value
	case "nequal":
		if c.Field == "http-method" {
			return !strings.EqualFold(v, c.Value)
		}
		return !ok || v != c.Value
	case "prefix":
		return ok && strings.HasPrefix(v, c.Value)
	case "lless", "lequal", "lgreat":
		return compare(c.Match[1:], int64(len(v)), c.n)
	case "regular":
		return ok && c.re.MatchString(v)
	}
	return false
}

func compare(op string, v, n int64) bool {
	switch op {
	case "less":
		return v < n
	case "equal":
		return v == n
	case "great":
		return v > n
	}
	return false
}

// allMatch says whether r from src meets every condition.
func allMatch(cs []cond, src netip.Addr, r *http.Request) bool {
	for i := range cs {
		if !cs[i].matches(src, r) {
			return false
		}
	}
	return true
}

// ipSet is a list of addresses and CIDR blocks.
type ipSet []netip.Prefix

func compileSet(list []string) ipSet {
	var out ipSet
	for _, s := range list {
		if p, ok := parsePrefix(s); ok {
			out = append(out, p)
		}
	}
	return out
}

func (s ipSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
