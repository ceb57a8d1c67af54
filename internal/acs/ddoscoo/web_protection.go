package ddoscoo

import (
	"bytes"
	"encoding/json"

	"moat/internal/moat"
)

// conditionJSON is a rule condition as the calls send it (lower snake
// keys).
type conditionJSON struct {
	Field       string `json:"field"`
	MatchMethod string `json:"match_method"`
	Content     string `json:"content"`
	HeaderName  string `json:"header_name"`
}

// preciseRuleJSON is an element of ModifyWebPreciseAccessRule's Rules.
type preciseRuleJSON struct {
	Action    string          `json:"action"`
	Name      string          `json:"name"`
	Condition []conditionJSON `json:"condition"`
}

// ccRuleJSON is an element of ConfigWebCCRuleV2's RuleList.
type ccRuleJSON struct {
	Action    string          `json:"action"`
	Name      string          `json:"name"`
	Condition []conditionJSON `json:"condition"`
	RateLimit *struct {
		Target    string `json:"target"`
		SubKey    string `json:"subkey"`
		Interval  int    `json:"interval"`
		Threshold int    `json:"threshold"`
		TTL       int    `json:"ttl"`
	} `json:"ratelimit"`
}

// decodeJSONArray reads a JSON array parameter into v, strictly.
func decodeJSONArray(param, s string, v any, example string) error {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 || b[0] != '[' {
		return moat.Errorf(moat.CodeJSONError, "%s must be a JSON array such as %s.", param, example)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return moat.Errorf(moat.CodeJSONError, "%s must be a JSON array such as %s.", param, example)
	}
	return nil
}

func conditionsOf(cs []conditionJSON) []moat.PreciseCondition {
	out := make([]moat.PreciseCondition, 0, len(cs))
	for _, c := range cs {
		out = append(out, moat.PreciseCondition{Field: c.Field, Match: c.MatchMethod, Value: c.Content, Header: c.HeaderName})
	}
	return out
}

// Condition is a rule condition as the Describe calls show it.
type Condition struct {
	Field       string
	MatchMethod string
	Content     string
	ContentList []string
	HeaderName  string
}

func conditionsView(cs []moat.PreciseCondition) []Condition {
	out := make([]Condition, 0, len(cs))
	for _, c := range cs {
		out = append(out, Condition{Field: c.Field, MatchMethod: c.Match, Content: c.Value, ContentList: []string{}, HeaderName: c.Header})
	}
	return out
}
