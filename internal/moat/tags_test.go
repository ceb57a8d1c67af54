package moat_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"moat/internal/moat"
)

// rtInstance is the one ResourceType of the tag calls.
const rtInstance = moat.ResourceTypeInstance

func tag(k, v string) moat.Tag { return moat.Tag{Key: k, Value: v} }

// tagsOf reads an instance's tags from the store, sorted by key.
func (e *env) tagsOf(t *testing.T, id string) string {
	t.Helper()
	m, err := e.store.TagsOf(e.ctx, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, tg := range m[id] {
		parts = append(parts, tg.Key+"="+tg.Value)
	}
	return strings.Join(parts, ",")
}

func (e *env) tagResources(t *testing.T, region moat.Region, ids []string, tags ...moat.Tag) {
	t.Helper()
	if err := e.svc.TagResources(e.ctx, e.caller(e.acct), region, rtInstance, ids, tags, ""); err != nil {
		t.Fatalf("TagResources(%v, %v): %v", ids, tags, err)
	}
}

func idsOf(vs []moat.InstanceView) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// TestTagResourcesValidation pins CreateTagResources' request rules: the
// ResourceType is INSTANCE, 1 to 50 resources, 1 to 20 tags with distinct
// keys, a key of 1 to 128 characters and a value of at most 128 (counted
// in characters), neither starting with aliyun or acs: (any case) nor
// containing http:// or https://. Refusals name the parameter and tag
// nothing.
func TestTagResourcesValidation(t *testing.T) {
	e := newEnv(t, moat.Config{})
	id := e.create(t, moat.RegionMainland, time.Hour, 1)[0].ID
	many := idsOf(e.create(t, moat.RegionMainland, time.Hour, 51))
	me := e.caller(e.acct)
	var twentyOne []moat.Tag
	for i := range 21 {
		twentyOne = append(twentyOne, tag(fmt.Sprint("k", i), "v"))
	}
	cases := []struct {
		name  string
		rtype string
		ids   []string
		tags  []moat.Tag
		code  moat.Code // "" accepted
		names string    // what the message must name
	}{
		{"key of 128 characters", rtInstance, []string{id}, []moat.Tag{tag(strings.Repeat("k", 128), "")}, "", ""},
		{"key of 129 characters", rtInstance, []string{id}, []moat.Tag{tag(strings.Repeat("k", 129), "")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"value of 128 characters, multibyte", rtInstance, []string{id}, []moat.Tag{tag("k", strings.Repeat("中", 128))}, "", ""},
		{"value of 129 characters", rtInstance, []string{id}, []moat.Tag{tag("k", strings.Repeat("v", 129))}, moat.CodeInvalidParameter, "Tags.N.Value"},
		{"empty key", rtInstance, []string{id}, []moat.Tag{tag("", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"empty value", rtInstance, []string{id}, []moat.Tag{tag("k", "")}, "", ""},
		{"key aliyun", rtInstance, []string{id}, []moat.Tag{tag("aliyun", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"key Aliyun-team", rtInstance, []string{id}, []moat.Tag{tag("Aliyun-team", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"key acs:env", rtInstance, []string{id}, []moat.Tag{tag("acs:env", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"key ACS:env", rtInstance, []string{id}, []moat.Tag{tag("ACS:env", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"key with http://", rtInstance, []string{id}, []moat.Tag{tag("see http://x", "v")}, moat.CodeInvalidParameter, "Tags.N.Key"},
		{"key myaliyun", rtInstance, []string{id}, []moat.Tag{tag("myaliyun", "v")}, "", ""},
		{"key acs without a colon", rtInstance, []string{id}, []moat.Tag{tag("acs", "v")}, "", ""},
		{"value aliyun", rtInstance, []string{id}, []moat.Tag{tag("k", "aliyun-x")}, moat.CodeInvalidParameter, "Tags.N.Value"},
		{"value acs:", rtInstance, []string{id}, []moat.Tag{tag("k", "acs:x")}, moat.CodeInvalidParameter, "Tags.N.Value"},
		{"value with HTTPS://", rtInstance, []string{id}, []moat.Tag{tag("k", "go HTTPS://x")}, moat.CodeInvalidParameter, "Tags.N.Value"},
		{"a key twice", rtInstance, []string{id}, []moat.Tag{tag("env", "a"), tag("env", "b")}, moat.CodeInvalidParameter, "env"},
		{"21 tags", rtInstance, []string{id}, twentyOne, moat.CodeInvalidParameter, "Tags"},
		{"no tags", rtInstance, []string{id}, nil, "MissingTags.1.Key", "Tags.1.Key"},
		{"no resources", rtInstance, nil, []moat.Tag{tag("k", "v")}, "MissingIDs.1", "IDs.1"},
		{"50 resources", rtInstance, many[:50], []moat.Tag{tag("k", "v")}, "", ""},
		{"51 resources", rtInstance, many, []moat.Tag{tag("k", "v")}, moat.CodeInvalidParameter, "parameter IDs value"},
		{"ResourceType instance", "instance", []string{id}, []moat.Tag{tag("k", "v")}, moat.CodeInvalidParameter, "ResourceType"},
		{"ResourceType missing", "", []string{id}, []moat.Tag{tag("k", "v")}, moat.CodeInvalidParameter, "ResourceType"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := e.store.Update(e.ctx, func(tx moat.Tx) error { return tx.DeleteTags(id, nil) }); err != nil {
				t.Fatal(err)
			}
			err := e.svc.TagResources(e.ctx, me, moat.RegionMainland, c.rtype, c.ids, c.tags, "")
			if moat.ErrorCode(err) != c.code {
				t.Fatalf("TagResources = %v, want %q", err, c.code)
			}
			if c.code == "" {
				return
			}
			if !strings.Contains(moat.AsError(err).Message, c.names) {
				t.Fatalf("message %q does not name %s", moat.AsError(err).Message, c.names)
			}
			if got := e.tagsOf(t, id); got != "" {
				t.Fatalf("a refused call tagged %s: %s", id, got)
			}
		})
	}
	// The 51-resource refusal tagged none of them.
	tags, err := e.store.TagsOf(e.ctx, many[50:])
	if err != nil || len(tags[many[50]]) != 0 {
		t.Fatalf("the 51st resource was tagged: %v %v", tags, err)
	}
}

// TestTagQuota pins the limit of 20 tags per instance, counting the tags
// it has: new keys beyond 20 are QuotaExceed.TagsPerResource and change
// nothing on any instance of the call, while new values for keys it has
// do not count.
func TestTagQuota(t *testing.T) {
	e := newEnv(t, moat.Config{})
	vs := e.create(t, moat.RegionMainland, time.Hour, 2)
	full, empty := vs[0].ID, vs[1].ID
	keys := func(from, to int, value string) []moat.Tag {
		var out []moat.Tag
		for i := from; i < to; i++ {
			out = append(out, tag(fmt.Sprintf("k%02d", i), value))
		}
		return out
	}
	e.tagResources(t, moat.RegionMainland, []string{full}, keys(0, 15, "a")...)
	e.tagResources(t, moat.RegionMainland, []string{full}, keys(15, 20, "a")...) // 20: at the limit
	before := e.tagsOf(t, full)
	for _, c := range []struct {
		name string
		ids  []string
		tags []moat.Tag
	}{
		{"a 21st key", []string{full}, keys(20, 21, "a")},
		{"a 21st key with new values for others", []string{full}, append(keys(0, 5, "b"), keys(20, 21, "b")...)},
		{"with an instance that has room, first", []string{empty, full}, keys(20, 21, "a")},
	} {
		err := e.svc.TagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, c.ids, c.tags, "")
		if moat.ErrorCode(err) != moat.CodeTagQuotaExceeded || moat.ErrorKind(err) != moat.KindConflict || !strings.Contains(moat.AsError(err).Message, full) {
			t.Errorf("%s: %v, want QuotaExceed.TagsPerResource naming %s", c.name, err, full)
		}
		if got := e.tagsOf(t, full); got != before {
			t.Errorf("%s changed the full instance: %s", c.name, got)
		}
		if got := e.tagsOf(t, empty); got != "" {
			t.Errorf("%s tagged the other instance of the call: %s", c.name, got)
		}
	}
	// New values for all 20 keys are fine.
	e.tagResources(t, moat.RegionMainland, []string{full, empty}, keys(0, 20, "c")...)
	if got := e.tagsOf(t, full); strings.Count(got, "=c") != 20 || strings.Contains(got, "=a") {
		t.Fatalf("after new values: %s", got)
	}
}

// TestTagResourcesAllOrNothing pins that tagging is atomic and only
// reaches the caller's instances of the region (and of the resource group,
// when one is given): any other ID is InstanceNotFound and nothing is
// tagged.
func TestTagResourcesAllOrNothing(t *testing.T) {
	e := newEnv(t, moat.Config{})
	mine := e.create(t, moat.RegionMainland, time.Hour, 1)[0]
	premium := e.create(t, moat.RegionOverseas, time.Hour, 1)[0]
	custom, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.acct, ResourceGroupID: "rg-custom"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := e.store.Account(e.ctx, e.acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		ids   []string
		group string
		bad   string
	}{
		{"another account's, last", []string{mine.ID, foreign[0].ID}, "", foreign[0].ID},
		{"another region's", []string{mine.ID, premium.ID}, "", premium.ID},
		{"unknown", []string{mine.ID, "ddoscoo-cn-unknown00000"}, "", "ddoscoo-cn-unknown00000"},
		{"another resource group", []string{mine.ID, custom[0].ID}, acct.ResourceGroupID, custom[0].ID},
		{"a resource group none is in", []string{mine.ID}, "rg-nobody", mine.ID},
	} {
		err := e.svc.TagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, c.ids, []moat.Tag{tag("env", "prod")}, c.group)
		if moat.ErrorCode(err) != moat.CodeInstanceNotFound || !strings.Contains(moat.AsError(err).Message, c.bad) {
			t.Errorf("%s: %v, want InstanceNotFound for %s", c.name, err, c.bad)
		}
		for _, id := range []string{mine.ID, premium.ID, custom[0].ID, foreign[0].ID} {
			if got := e.tagsOf(t, id); got != "" {
				t.Fatalf("%s: %s was tagged: %s", c.name, id, got)
			}
		}
	}
	// Within their resource groups both are taggable.
	if err := e.svc.TagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, []string{mine.ID}, []moat.Tag{tag("env", "prod")}, acct.ResourceGroupID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.TagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, []string{custom[0].ID}, []moat.Tag{tag("env", "prod")}, "rg-custom"); err != nil {
		t.Fatal(err)
	}
	if e.tagsOf(t, mine.ID) != "env=prod" || e.tagsOf(t, custom[0].ID) != "env=prod" {
		t.Fatalf("tags %q and %q", e.tagsOf(t, mine.ID), e.tagsOf(t, custom[0].ID))
	}
}

// TestUntagResources pins DeleteTagResources: the given keys go (All is
// then ignored), All alone removes every tag, neither is refused; it is
// atomic, and another account's or region's ID is InstanceNotFound.
func TestUntagResources(t *testing.T) {
	e := newEnv(t, moat.Config{})
	vs := e.create(t, moat.RegionMainland, time.Hour, 2)
	a, b := vs[0].ID, vs[1].ID
	premium := e.create(t, moat.RegionOverseas, time.Hour, 1)[0].ID
	foreign, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Tags: []moat.Tag{tag("env", "x")}})
	if err != nil {
		t.Fatal(err)
	}
	e.tagResources(t, moat.RegionMainland, []string{a}, tag("env", "prod"), tag("team", "red"), tag("owner", "ann"))
	e.tagResources(t, moat.RegionMainland, []string{b}, tag("env", "dev"), tag("team", "blue"))
	me := e.caller(e.acct)
	untag := func(ids, keys []string, all bool) error {
		return e.svc.UntagResources(e.ctx, me, moat.RegionMainland, rtInstance, ids, keys, all, "")
	}
	for _, c := range []struct {
		name string
		err  error
		code moat.Code
	}{
		{"neither keys nor All", untag([]string{a}, nil, false), moat.CodeInvalidParameter},
		{"no resources", untag(nil, []string{"env"}, false), "MissingIDs.1"},
		{"21 keys", untag([]string{a}, make([]string, 21), false), moat.CodeInvalidParameter},
		{"another account's", untag([]string{a, foreign[0].ID}, nil, true), moat.CodeInstanceNotFound},
		{"another region's", untag([]string{premium, a}, nil, true), moat.CodeInstanceNotFound},
		{"ResourceType", e.svc.UntagResources(e.ctx, me, moat.RegionMainland, "ALB", []string{a}, nil, true, ""), moat.CodeInvalidParameter},
	} {
		if moat.ErrorCode(c.err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
	if e.tagsOf(t, a) != "env=prod,owner=ann,team=red" || e.tagsOf(t, foreign[0].ID) != "env=x" {
		t.Fatalf("refused calls removed tags: %q, %q", e.tagsOf(t, a), e.tagsOf(t, foreign[0].ID))
	}
	if err := untag([]string{a, b}, []string{"team", "absent"}, false); err != nil {
		t.Fatal(err)
	}
	if e.tagsOf(t, a) != "env=prod,owner=ann" || e.tagsOf(t, b) != "env=dev" {
		t.Fatalf("after removing team: %q, %q", e.tagsOf(t, a), e.tagsOf(t, b))
	}
	if err := untag([]string{a}, []string{"owner"}, true); err != nil {
		t.Fatal(err)
	}
	if e.tagsOf(t, a) != "env=prod" {
		t.Fatalf("keys with All=true: %q, want only the keys removed", e.tagsOf(t, a))
	}
	if err := untag([]string{a, b}, nil, true); err != nil {
		t.Fatal(err)
	}
	if e.tagsOf(t, a) != "" || e.tagsOf(t, b) != "" {
		t.Fatalf("after All: %q, %q", e.tagsOf(t, a), e.tagsOf(t, b))
	}
}

// listAll follows NextToken to the end, returning the pairs as
// "id:key=value" and the tokens seen.
func (e *env) listAll(t *testing.T, ids []string, filters []moat.TagFilter) ([]string, []string) {
	t.Helper()
	var pairs, tokens []string
	token := ""
	for range 100 {
		page, next, err := e.svc.ListTagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, ids, filters, token, "")
		if err != nil {
			t.Fatalf("ListTagResources(token %q): %v", token, err)
		}
		for _, rt := range page {
			pairs = append(pairs, rt.ResourceID+":"+rt.Key+"="+rt.Value)
		}
		if next == "" {
			return pairs, tokens
		}
		tokens = append(tokens, next)
		token = next
	}
	t.Fatal("NextToken never ended")
	return nil, nil
}

// TestListTagResources pins DescribeTagResources: it lists the caller's
// (instance, tag) pairs for the named instances and/or those carrying
// every filter tag; with filters only the filtered keys are listed;
// pages hold the tags of 50 instances, in creation order, and NextToken
// continues until it comes back empty.
func TestListTagResources(t *testing.T) {
	e := newEnv(t, moat.Config{})
	vs := e.create(t, moat.RegionMainland, time.Hour, 120)
	ids := idsOf(vs)
	for i := 0; i < len(ids); i += 50 {
		e.tagResources(t, moat.RegionMainland, ids[i:min(i+50, len(ids))], tag("env", "prod"))
	}
	var even []string
	for i := 0; i < len(ids); i += 2 {
		even = append(even, ids[i])
	}
	e.tagResources(t, moat.RegionMainland, even[:50], tag("team", "red"), tag("owner", "ann"))
	e.tagResources(t, moat.RegionMainland, even[50:], tag("team", "red"), tag("owner", "ann"))
	e.tagResources(t, moat.RegionMainland, ids[1:2], tag("team", "blue"))
	untagged := e.create(t, moat.RegionMainland, time.Hour, 1)[0].ID
	premium := e.create(t, moat.RegionOverseas, time.Hour, 1)[0].ID
	e.tagResources(t, moat.RegionOverseas, []string{premium}, tag("env", "prod"))
	foreign, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Tags: []moat.Tag{tag("env", "prod")}})
	if err != nil {
		t.Fatal(err)
	}

	// Every instance carrying env: 120, in pages of 50, only env listed.
	pairs, tokens := e.listAll(t, nil, []moat.TagFilter{{Key: "env"}})
	if len(pairs) != 120 || fmt.Sprint(tokens) != "[50 100]" {
		t.Fatalf("env: %d pairs, tokens %v; want 120 pairs and tokens [50 100]", len(pairs), tokens)
	}
	for i, p := range pairs {
		if p != ids[i]+":env=prod" {
			t.Fatalf("env pair %d = %s, want %s:env=prod (creation order, only the filtered key)", i, p, ids[i])
		}
	}
	// Two filters are ANDed, and both keys are listed, not owner.
	pairs, tokens = e.listAll(t, nil, []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}, {Key: "team", Value: "red", HasValue: true}})
	if len(pairs) != 120 || fmt.Sprint(tokens) != "[50]" {
		t.Fatalf("env and team=red: %d pairs, tokens %v; want 2 x 60 pairs and one token", len(pairs), tokens)
	}
	for i, p := range pairs {
		id := even[i/2]
		if want := []string{id + ":env=prod", id + ":team=red"}[i%2]; p != want {
			t.Fatalf("pair %d = %s, want %s", i, p, want)
		}
	}
	// A filter value must match.
	if pairs, _ = e.listAll(t, nil, []moat.TagFilter{{Key: "team", Value: "blue", HasValue: true}}); fmt.Sprint(pairs) != "["+ids[1]+":team=blue]" {
		t.Fatalf("team=blue: %v", pairs)
	}
	// IDs alone list every tag of those instances (sorted by key); an
	// untagged one, another region's and another account's add nothing.
	pairs, _ = e.listAll(t, []string{ids[2], untagged, premium, foreign[0].ID, ids[1]}, nil)
	want := []string{ids[1] + ":env=prod", ids[1] + ":team=blue", ids[2] + ":env=prod", ids[2] + ":owner=ann", ids[2] + ":team=red"}
	if fmt.Sprint(pairs) != fmt.Sprint(want) {
		t.Fatalf("by IDs: %v, want %v", pairs, want)
	}
	// IDs and filters together.
	pairs, _ = e.listAll(t, []string{ids[1], ids[2], ids[3]}, []moat.TagFilter{{Key: "owner"}})
	if fmt.Sprint(pairs) != "["+ids[2]+":owner=ann]" {
		t.Fatalf("IDs and a filter: %v", pairs)
	}
	// Exactly 50 instances make one page without a NextToken.
	if _, tokens = e.listAll(t, ids[:50], nil); len(tokens) != 0 {
		t.Fatalf("50 IDs gave tokens %v", tokens)
	}
	// A token past the end is an empty last page.
	page, next, err := e.svc.ListTagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, nil, []moat.TagFilter{{Key: "env"}}, "500", "")
	if err != nil || len(page) != 0 || next != "" {
		t.Fatalf("past the end: %v, %q, %v", page, next, err)
	}
	for _, c := range []struct {
		name    string
		rtype   string
		ids     []string
		filters []moat.TagFilter
		token   string
	}{
		{"neither IDs nor tags", rtInstance, nil, nil, ""},
		{"51 IDs", rtInstance, ids[:51], nil, ""},
		{"21 tags", rtInstance, nil, make([]moat.TagFilter, 21), ""},
		{"token not a number", rtInstance, ids[:1], nil, "abc"},
		{"negative token", rtInstance, ids[:1], nil, "-50"},
		{"ResourceType", "INSTANCES", ids[:1], nil, ""},
	} {
		if _, _, err := e.svc.ListTagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, c.rtype, c.ids, c.filters, c.token, ""); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("%s: %v, want InvalidParameter", c.name, err)
		}
	}
}

// TestTagKeys pins DescribeTagKeys: the distinct keys on the caller's
// instances in the region, sorted, each with how many instances carry it,
// paged (10 by default, at most 50) with the total of distinct keys.
func TestTagKeys(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ids := idsOf(e.create(t, moat.RegionMainland, time.Hour, 3))
	for i := range 12 {
		e.tagResources(t, moat.RegionMainland, ids[:1+i%3], tag(fmt.Sprintf("key%02d", i), "v"))
	}
	premium := e.create(t, moat.RegionOverseas, time.Hour, 1)[0].ID
	e.tagResources(t, moat.RegionOverseas, []string{premium}, tag("overseas", "1"))
	if _, err := e.svc.CreateInstances(e.ctx, moat.NewInstances{AccountID: e.other, Tags: []moat.Tag{tag("foreign", "1")}}); err != nil {
		t.Fatal(err)
	}
	keys := func(region moat.Region, number, size int) (string, int64) {
		t.Helper()
		got, total, err := e.svc.TagKeys(e.ctx, e.caller(e.acct), region, rtInstance, number, size, "")
		if err != nil {
			t.Fatalf("TagKeys(%s, %d, %d): %v", region, number, size, err)
		}
		var parts []string
		for _, k := range got {
			parts = append(parts, k.Key+":"+strconv.FormatInt(k.Count, 10))
		}
		return strings.Join(parts, " "), total
	}
	for _, c := range []struct {
		region       moat.Region
		number, size int
		want         string
		total        int64
	}{
		{moat.RegionMainland, 0, 0, "key00:1 key01:2 key02:3 key03:1 key04:2 key05:3 key06:1 key07:2 key08:3 key09:1", 12},
		{moat.RegionMainland, 2, 0, "key10:2 key11:3", 12},
		{moat.RegionMainland, 2, 5, "key05:3 key06:1 key07:2 key08:3 key09:1", 12},
		{moat.RegionMainland, 1, 50, "key00:1 key01:2 key02:3 key03:1 key04:2 key05:3 key06:1 key07:2 key08:3 key09:1 key10:2 key11:3", 12},
		{moat.RegionMainland, 4, 5, "", 12},
		{moat.RegionOverseas, 1, 10, "overseas:1", 1},
	} {
		if got, total := keys(c.region, c.number, c.size); got != c.want || total != c.total {
			t.Errorf("TagKeys(%s, page %d, size %d) = %q (total %d), want %q (total %d)", c.region, c.number, c.size, got, total, c.want, c.total)
		}
	}
	for _, c := range []struct {
		rtype        string
		number, size int
	}{{rtInstance, -1, 10}, {rtInstance, 1, 51}, {rtInstance, 1, -1}, {"", 1, 10}} {
		if _, _, err := e.svc.TagKeys(e.ctx, e.caller(e.acct), moat.RegionMainland, c.rtype, c.number, c.size, ""); moat.ErrorCode(err) != moat.CodeInvalidParameter {
			t.Errorf("TagKeys(%q, %d, %d): %v, want InvalidParameter", c.rtype, c.number, c.size, err)
		}
	}
	// Counts follow removals.
	if err := e.svc.UntagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, ids[2:], nil, true, ""); err != nil {
		t.Fatal(err)
	}
	if got, total := keys(moat.RegionMainland, 1, 3); got != "key00:1 key01:2 key02:2" || total != 12 {
		t.Errorf("after untagging one instance: %q (total %d)", got, total)
	}
}

// TestTagChangesShowInDescribeInstances pins that DescribeInstances' Tag
// filters see tag changes at once, also on a page it has served before.
func TestTagChangesShowInDescribeInstances(t *testing.T) {
	e := newEnv(t, moat.Config{})
	ids := idsOf(e.create(t, moat.RegionMainland, time.Hour, 2))
	q := moat.DescribeQuery{Region: moat.RegionMainland, PageNumber: 1, PageSize: 10, Tags: []moat.TagFilter{{Key: "env", Value: "prod", HasValue: true}}}
	describe := func() string {
		t.Helper()
		p, err := e.svc.DescribeInstances(e.ctx, e.caller(e.acct), q)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(idsOf(p.Instances), p.Total)
	}
	if got := describe(); got != "[] 0" {
		t.Fatalf("before tagging: %s", got)
	}
	e.tagResources(t, moat.RegionMainland, ids[1:], tag("env", "prod"))
	if got, want := describe(), fmt.Sprint(ids[1:], 1); got != want {
		t.Fatalf("after tagging: %s, want %s", got, want)
	}
	e.tagResources(t, moat.RegionMainland, ids[1:], tag("env", "dev"))
	if got := describe(); got != "[] 0" {
		t.Fatalf("after a new value: %s", got)
	}
	e.tagResources(t, moat.RegionMainland, ids[:1], tag("env", "prod"))
	if got, want := describe(), fmt.Sprint(ids[:1], 1); got != want {
		t.Fatalf("after tagging the other: %s, want %s", got, want)
	}
	if err := e.svc.UntagResources(e.ctx, e.caller(e.acct), moat.RegionMainland, rtInstance, ids[:1], []string{"env"}, false, ""); err != nil {
		t.Fatal(err)
	}
	if got := describe(); got != "[] 0" {
		t.Fatalf("after untagging: %s", got)
	}
}
