package bss

import (
	"slices"
	"testing"
)

// TestRegistry pins, per action, whether RAM treats it as a listing and
// which parameters name the instances it is judged on (the RAM behaviour
// of the actions that existed when the registry replaced the separate
// RAM table; a new action needs no line here).
func TestRegistry(t *testing.T) {
	want := map[string]struct {
		ids  []string
		list bool
	}{
		"CreateInstance":          {nil, false},
		"RenewInstance":           {[]string{"InstanceId"}, false},
		"ModifyInstance":          {[]string{"InstanceId"}, false},
		"SetRenewal":              {[]string{"InstanceIDs"}, false},
		"QueryAvailableInstances": {[]string{"InstanceIDs"}, true},
	}
	p := Product(nil)
	for name, w := range want {
		a, ok := p.Actions[name]
		if !ok {
			t.Errorf("%s: not registered", name)
			continue
		}
		if !slices.Equal(a.ResourceParams(), w.ids) || a.IsListing() != w.list {
			t.Errorf("%s: resources %v, listing %v; want %v, %v", name, a.ResourceParams(), a.IsListing(), w.ids, w.list)
		}
	}
}
