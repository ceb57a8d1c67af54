package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Bad mixed-workload and replica settings are usage errors (exit status
// 2), refused before anything is started.
func TestBenchRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mix", "describe=70,delete=10"}, `unknown action "delete"`},
		{[]string{"--mix", "describe=-1,release=1"}, "whole number"},
		{[]string{"--mix", "describe=0,release=0,create=0,renew=0"}, "every weight is 0"},
		{[]string{"--mix", "describe"}, "ACTION=WEIGHT"},
		{[]string{"--rate", "-5"}, "--rate"},
		{[]string{"--count", "-1"}, "--count"},
		{[]string{"--replicas", "0"}, "--replicas must be at least 1"},
		{[]string{"--replicas", "3", "--db", "/tmp/x.db"}, "needs a PostgreSQL store"},
		{[]string{"--scenarios", "mixed,nope"}, "unknown scenario"},
		{[]string{"--lifecycle-connections", "-1"}, "--lifecycle-connections must not be negative"},
		{[]string{"--connections", "0"}, "--connections must be at least 1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"bench"}, tc.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("moat bench %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.want)
		}
	}
}
