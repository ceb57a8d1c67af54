package moat_test

import (
	"errors"
	"strings"
	"testing"

	"moat/internal/moat"
)

// TestRename pins how an edge renames a domain input in an error: the
// renamed error is exactly the one the wire name would have given, and
// errors about other inputs, or of other kinds, pass unchanged.
func TestRename(t *testing.T) {
	names := map[string]string{"IDs": "InstanceIds", "IDs.1": "InstanceIds.1"}
	cases := []struct {
		name string
		err  error
		want *moat.Error
	}{
		{"invalid", moat.InvalidParam("IDs", "at most 200 IDs"), moat.InvalidParam("InstanceIds", "at most 200 IDs")},
		{"invalid, no reason", moat.InvalidParam("IDs", ""), moat.InvalidParam("InstanceIds", "")},
		{"missing", moat.MissingParam("IDs.1"), moat.MissingParam("InstanceIds.1")},
		{"invalid value", moat.InvalidParamValue("IDs", "a,,b", "no empty item"), moat.InvalidParamValue("InstanceIds", "a,,b", "no empty item")},
		{"wrapped", errors.Join(moat.InvalidParam("IDs", "x")), moat.InvalidParam("InstanceIds", "x")},
	}
	for _, c := range cases {
		got := moat.AsError(moat.Rename(c.err, names))
		if got.Code != c.want.Code || got.Message != c.want.Message || got.Kind != c.want.Kind {
			t.Errorf("%s: %s %q, want %s %q", c.name, got.Code, got.Message, c.want.Code, c.want.Message)
		}
	}
	for _, err := range []error{
		moat.InvalidParam("PageSize", "between 1 and 50"),
		moat.Errorf(moat.CodeInstanceNotFound, "The specified instance %q is not found.", "x"),
		errors.New("disk full"),
		nil,
	} {
		if got := moat.Rename(err, names); got != err {
			t.Errorf("Rename(%v) = %v, want it unchanged", err, got)
		}
	}
}

// TestInvalidParamValueCutsLongValues: a message repeats at most 64 bytes
// of the value it refuses, and says how long the value was.
func TestInvalidParamValueCutsLongValues(t *testing.T) {
	long := strings.Repeat("9", 60000)
	e := moat.InvalidParamValue("FrontendPort", long, "a port is an integer from 1 to 65535")
	want := `The specified parameter FrontendPort value "` + strings.Repeat("9", 64) + `"… (60000 bytes) is not valid: a port is an integer from 1 to 65535.`
	if e.Message != want {
		t.Fatalf("message %q", e.Message)
	}
	short := moat.InvalidParamValue("FrontendPort", "x", "")
	if short.Message != `The specified parameter FrontendPort value "x" is not valid.` {
		t.Fatalf("short message %q", short.Message)
	}
}
