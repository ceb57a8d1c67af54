package proc

import (
	"strings"
	"testing"
)

func TestParseMetric(t *testing.T) {
	const text = `# HELP moat_lifecycle_lag_seconds Server time minus ...
# TYPE moat_lifecycle_lag_seconds gauge
moat_lifecycle_lag_seconds_total 99
moat_store_ops{op="x"} 5
moat_lifecycle_lag_seconds 3.5e-01
moat_lifecycle_transitions_applied_total 123456
`
	for _, tc := range []struct {
		name string
		want float64
	}{{"moat_lifecycle_lag_seconds", 0.35}, {"moat_lifecycle_transitions_applied_total", 123456}} {
		got, err := parseMetric(strings.NewReader(text), tc.name)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := parseMetric(strings.NewReader(text), "moat_nonces"); err == nil {
		t.Error("a missing metric was found")
	}
	if _, err := parseMetric(strings.NewReader("moat_nonces NaNx\n"), "moat_nonces"); err == nil {
		t.Error("a bad value was accepted")
	}
}
