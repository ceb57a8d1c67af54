package sqlbuild

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"moat/internal/moat"
)

func TestSpecRoundTrip(t *testing.T) {
	want := moat.Spec{BaseBandwidth: 300, Bandwidth: 600, PortCount: 155, EditionSale: "coop"}
	var got moat.Spec
	if err := DecodeSpec(EncodeSpec(want), &got); err != nil || got != want {
		t.Fatalf("DecodeSpec(EncodeSpec(%+v)) = %+v, %v", want, got, err)
	}
	if err := DecodeSpec("{", &got); err == nil {
		t.Fatal("DecodeSpec of broken JSON succeeded")
	}
}

// TestWhere pins every condition, in order, with its arguments in the
// order of their placeholders.
func TestWhere(t *testing.T) {
	at := time.UnixMilli(1_900_000_000_000)
	ed := 0
	f := moat.InstanceFilter{IDs: []string{"a", "b"}, IP: "1.2.3.4", RemarkContains: "x", Edition: &ed,
		ExpireFrom: &at, ExpireBefore: &at, ResourceGroupID: "rg", CreateFrom: &at, CreateBefore: &at,
		RenewalStatus: moat.RenewalStatus("AutoRenewal"), ProductType: moat.ProductType("ddoscoo")}
	var args []any
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	got := Where(&f, Dialect{Param: param, IDIn: func(ids []string) string { return "i.instance_id = ANY(" + param(ids) + ")" }, Instr: "strpos"})
	want := []string{"i.instance_id = ANY($1)", "i.ip = $2", "strpos(i.remark, $3) > 0", "i.edition = $4", "i.expire_ms >= $5",
		"i.expire_ms < $6", "i.resource_group_id = $7", "i.create_ms >= $8", "i.create_ms < $9", "i.renewal_status = $10", "i.product_type = $11"}
	if !slices.Equal(got, want) {
		t.Fatalf("Where = %q\nwant %q", got, want)
	}
	ms := at.UnixMilli()
	wantArgs := []any{"1.2.3.4", "x", 0, ms, ms, "rg", ms, ms, "AutoRenewal", "ddoscoo"}
	if ids, ok := args[0].([]string); len(args) != 11 || !ok || !slices.Equal(ids, f.IDs) {
		t.Fatalf("args = %#v", args)
	}
	for i, w := range wantArgs {
		if args[i+1] != w {
			t.Errorf("argument %d = %#v, want %#v", i+2, args[i+1], w)
		}
	}
	if got := Where(&moat.InstanceFilter{AccountID: "a", Region: moat.RegionMainland}, Dialect{Param: param}); len(got) != 0 {
		t.Errorf("Where of an owner-only filter = %q, want nothing", got)
	}
}

func TestLikePatterns(t *testing.T) {
	for _, c := range []struct{ in, contains, prefix string }{
		{"abc", "%abc%", "abc%"},
		{"a%b_c", `%a\%b\_c%`, `a\%b\_c%`},
		{`a\b`, `%a\\b%`, `a\\b%`},
		{"", "%%", "%"},
	} {
		if got := LikeContains(c.in); got != c.contains {
			t.Errorf("LikeContains(%q) = %q, want %q", c.in, got, c.contains)
		}
		if got := LikePrefix(c.in); got != c.prefix {
			t.Errorf("LikePrefix(%q) = %q, want %q", c.in, got, c.prefix)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := moat.RuleConfig{PersistenceTimeout: 60, Synproxy: "on", Slimit: moat.SlimitConfig{Bps: 1 << 40}, PayloadLen: moat.PayloadLen{Min: 1, Max: 2}}
	var got moat.RuleConfig
	if err := DecodeJSON(EncodeJSON(want), &got); err != nil || got != want {
		t.Fatalf("DecodeJSON(EncodeJSON(%+v)) = %+v, %v", want, got, err)
	}
	if err := DecodeJSON("[", &got); err == nil {
		t.Fatal("DecodeJSON of broken JSON succeeded")
	}
}

// TestMemo: a Memo decodes as DecodeJSON does, the second time from what
// it kept, and the rules it fills share no origins; a nil Memo decodes
// too; broken text is an error every time.
func TestMemo(t *testing.T) {
	cfg := moat.RuleConfig{PersistenceTimeout: 60, Synproxy: "on", Slimit: moat.SlimitConfig{Cps: 10, Bps: 1 << 40}}
	hc := moat.HealthCheck{Type: "http", Port: 8080, URI: "/"}
	spec := moat.Spec{PortCount: 50, ServicePartner: "coop-line-001"}
	for _, m := range []*Memo{NewMemo(), nil} {
		var rules [2]moat.PortRule
		for i := range rules {
			if err := m.Rule(`["192.0.2.1"]`, EncodeJSON(cfg), EncodeJSON(hc), &rules[i]); err != nil {
				t.Fatal(err)
			}
			if rules[i].Config != cfg || rules[i].HealthCheck != hc || !slices.Equal(rules[i].RealServers, []string{"192.0.2.1"}) {
				t.Fatalf("Rule decoded %+v", rules[i])
			}
			var sp moat.Spec
			if err := m.Spec(EncodeSpec(spec), &sp); err != nil || sp != spec {
				t.Fatalf("Spec decoded %+v, %v", sp, err)
			}
		}
		rules[0].RealServers[0] = "changed"
		if rules[1].RealServers[0] != "192.0.2.1" {
			t.Error("two decoded rules share their origins")
		}
		for range 2 {
			var r moat.PortRule
			if err := m.Rule(`[]`, `{`, `{}`, &r); err == nil {
				t.Error("broken settings decoded")
			}
			var sp moat.Spec
			if err := m.Spec(`{`, &sp); err == nil {
				t.Error("a broken spec decoded")
			}
		}
	}
}
