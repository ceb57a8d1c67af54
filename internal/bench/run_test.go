package bench

import "testing"

func TestParseScenarios(t *testing.T) {
	all, err := ParseScenarios("all")
	if err != nil || len(all) != len(AllScenarios) {
		t.Fatalf("all: %v %v", all, err)
	}
	got, err := ParseScenarios("release, describe,release")
	if err != nil || len(got) != 2 || got[0] != "release" || got[1] != "describe" {
		t.Errorf("subset: %v %v", got, err)
	}
	if _, err := ParseScenarios("describe,nope"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
}
