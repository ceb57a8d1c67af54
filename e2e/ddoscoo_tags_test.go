package e2e

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// tagger makes the tag calls through one sdk-go v1 client, in JSON unless
// format says "XML".
type tagger struct {
	t      testing.TB
	c      *ddoscoo.Client
	format string
}

func (g tagger) create(ids []string, tags ...ddoscoo.CreateTagResourcesTags) error {
	g.t.Helper()
	req := ddoscoo.CreateCreateTagResourcesRequest()
	req.ResourceType, req.ResourceIds, req.AcceptFormat = "INSTANCE", &ids, g.formatOr()
	if tags != nil {
		req.Tags = &tags
	}
	resp, err := g.c.CreateTagResources(req)
	if err == nil {
		wantBodyFormat(g.t, "CreateTagResources", g.formatOr(), resp.GetHttpContentString())
		wantRequestID(g.t, "CreateTagResources", resp.RequestId)
	}
	return err
}

func (g tagger) mustCreate(ids []string, tags ...ddoscoo.CreateTagResourcesTags) {
	g.t.Helper()
	if err := g.create(ids, tags...); err != nil {
		g.t.Fatalf("CreateTagResources(%v, %+v): %v", ids, tags, err)
	}
}

func (g tagger) delete(ids []string, keys []string, all string) error {
	g.t.Helper()
	req := ddoscoo.CreateDeleteTagResourcesRequest()
	req.ResourceType, req.ResourceIds, req.AcceptFormat = "INSTANCE", &ids, g.formatOr()
	if keys != nil {
		req.TagKey = &keys
	}
	req.All = requests.Boolean(all)
	resp, err := g.c.DeleteTagResources(req)
	if err == nil {
		wantBodyFormat(g.t, "DeleteTagResources", g.formatOr(), resp.GetHttpContentString())
		wantRequestID(g.t, "DeleteTagResources", resp.RequestId)
	}
	return err
}

func (g tagger) describe(ids []string, tags []ddoscoo.DescribeTagResourcesTags, next string) (*ddoscoo.DescribeTagResourcesResponse, error) {
	g.t.Helper()
	req := ddoscoo.CreateDescribeTagResourcesRequest()
	req.ResourceType, req.NextToken, req.AcceptFormat = "INSTANCE", next, g.formatOr()
	if ids != nil {
		req.ResourceIds = &ids
	}
	if tags != nil {
		req.Tags = &tags
	}
	resp, err := g.c.DescribeTagResources(req)
	if err == nil {
		wantBodyFormat(g.t, "DescribeTagResources", g.formatOr(), resp.GetHttpContentString())
		wantRequestID(g.t, "DescribeTagResources", resp.RequestId)
	}
	return resp, err
}

func (g tagger) mustDescribe(ids []string, tags []ddoscoo.DescribeTagResourcesTags, next string) *ddoscoo.DescribeTagResourcesResponse {
	g.t.Helper()
	resp, err := g.describe(ids, tags, next)
	if err != nil {
		g.t.Fatalf("DescribeTagResources(%v, %+v, %q): %v", ids, tags, next, err)
	}
	return resp
}

func (g tagger) keys(number, size string) (*ddoscoo.DescribeTagKeysResponse, error) {
	g.t.Helper()
	req := ddoscoo.CreateDescribeTagKeysRequest()
	req.ResourceType, req.AcceptFormat = "INSTANCE", g.formatOr()
	req.PageNumber, req.PageSize = requests.Integer(number), requests.Integer(size)
	resp, err := g.c.DescribeTagKeys(req)
	if err == nil {
		wantBodyFormat(g.t, "DescribeTagKeys", g.formatOr(), resp.GetHttpContentString())
		wantRequestID(g.t, "DescribeTagKeys", resp.RequestId)
	}
	return resp, err
}

func (g tagger) formatOr() string {
	if g.format == "" {
		return "JSON"
	}
	return g.format
}

func tagKV(k, v string) ddoscoo.CreateTagResourcesTags {
	return ddoscoo.CreateTagResourcesTags{Key: k, Value: v}
}

func tagFilterKV(k, v string) ddoscoo.DescribeTagResourcesTags {
	return ddoscoo.DescribeTagResourcesTags{Key: k, Value: v}
}

// tagPair is a TagResource as sdk-go v1 decodes it.
func tagPair(id, k, v string) ddoscoo.TagResource {
	return ddoscoo.TagResource{ResourceId: id, ResourceType: "INSTANCE", TagKey: k, TagValue: v}
}

// sortedTR sorts TagResources by instance, then key.
func sortedTR(list []ddoscoo.TagResource) []ddoscoo.TagResource {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b ddoscoo.TagResource) int {
		return strings.Compare(a.ResourceId+"\x00"+a.TagKey, b.ResourceId+"\x00"+b.TagKey)
	})
	return out
}

// wantTags checks a DescribeTagResources answer: exactly want (in any
// order) and no NextToken.
func wantTags(t testing.TB, label string, resp *ddoscoo.DescribeTagResourcesResponse, want ...ddoscoo.TagResource) {
	t.Helper()
	got := sortedTR(resp.TagResources.TagResource)
	if len(got) == 0 && len(want) == 0 {
		got = nil
	}
	if !reflect.DeepEqual(got, sortedTR(want)) || resp.NextToken != "" {
		t.Errorf("%s: TagResources %+v NextToken %q\nwant %+v and no NextToken", label, got, resp.NextToken, sortedTR(want))
	}
}

// TestTagResourcesTagUntagDescribe pins the tag round trip through sdk-go
// v1, each call in JSON and in XML: CreateTagResources on several
// instances, a second call changing a value and adding a key,
// DescribeTagResources by ResourceIds (every tag of those instances), by
// a tag with a value, by a key alone (any value; only that key listed),
// and by both (intersection), in the wrapped
// TagResources.TagResource shape; DeleteTagResources by key (an absent key
// is no error), with All, and with All plus TagKey.N (only those keys).
func TestTagResourcesTagUntagDescribe(t *testing.T) {
	s := StartServer(t)
	list := s.CreateInstances(t, admin.InstancesRequest{Count: 3})
	a, b, c := list[0].InstanceId, list[1].InstanceId, list[2].InstanceId
	for _, format := range []string{"JSON", "XML"} {
		g := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), format}
		g.mustCreate([]string{a, b}, tagKV("env", "prod"), tagKV("team", "web"))
		g.mustCreate([]string{c}, tagKV("env", "dev"))
		g.mustCreate([]string{b}, tagKV("env", "staging"), tagKV("tier", "1"))

		wantTags(t, format+" by ids", g.mustDescribe([]string{a, b}, nil, ""),
			tagPair(a, "env", "prod"), tagPair(a, "team", "web"), tagPair(b, "env", "staging"), tagPair(b, "team", "web"), tagPair(b, "tier", "1"))
		wantTags(t, format+" by env=prod", g.mustDescribe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("env", "prod")}, ""),
			tagPair(a, "env", "prod"))
		wantTags(t, format+" by key env", g.mustDescribe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("env", "")}, ""),
			tagPair(a, "env", "prod"), tagPair(b, "env", "staging"), tagPair(c, "env", "dev"))
		wantTags(t, format+" by ids and key team", g.mustDescribe([]string{b, c}, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("team", "")}, ""),
			tagPair(b, "team", "web"))
		wantTags(t, format+" by two tags", g.mustDescribe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("env", ""), tagFilterKV("team", "web")}, ""),
			tagPair(a, "env", "prod"), tagPair(a, "team", "web"), tagPair(b, "env", "staging"), tagPair(b, "team", "web"))
		wantTags(t, format+" untagged instance", g.mustDescribe([]string{c}, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("team", "")}, ""))

		if err := g.delete([]string{a, b}, []string{"team", "nosuchkey"}, ""); err != nil {
			t.Fatalf("%s: DeleteTagResources by key: %v", format, err)
		}
		wantTags(t, format+" after deleting team", g.mustDescribe([]string{a, b, c}, nil, ""),
			tagPair(a, "env", "prod"), tagPair(b, "env", "staging"), tagPair(b, "tier", "1"), tagPair(c, "env", "dev"))
		// All applies only without TagKey.N (the tag APIs' rule): with a
		// key it removes that key alone.
		if err := g.delete([]string{b}, []string{"tier"}, "true"); err != nil {
			t.Fatalf("%s: DeleteTagResources by key with All: %v", format, err)
		}
		wantTags(t, format+" after deleting tier with All=true", g.mustDescribe([]string{a, b, c}, nil, ""),
			tagPair(a, "env", "prod"), tagPair(b, "env", "staging"), tagPair(c, "env", "dev"))
		if err := g.delete([]string{b, c}, nil, "true"); err != nil {
			t.Fatalf("%s: DeleteTagResources All: %v", format, err)
		}
		wantTags(t, format+" after All on b and c", g.mustDescribe([]string{a, b, c}, nil, ""), tagPair(a, "env", "prod"))
		if err := g.delete([]string{a}, nil, "true"); err != nil {
			t.Fatalf("%s: DeleteTagResources All: %v", format, err)
		}
		wantTags(t, format+" after All on a", g.mustDescribe([]string{a, b, c}, nil, ""))
	}

	raw := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), ""}
	raw.mustCreate([]string{a}, tagKV("k", "v"))
	body := raw.mustDescribe([]string{a}, nil, "").GetHttpContentString()
	want := `"NextToken":"","TagResources":{"TagResource":[{"ResourceId":"` + a + `","ResourceType":"INSTANCE","TagKey":"k","TagValue":"v"}]}`
	if !strings.Contains(body, want) {
		t.Errorf("DescribeTagResources JSON = %s\nwant it to contain %s", body, want)
	}
}

// TestTagResourcesPaging pins DescribeTagResources paging over more than
// 50 instances: a page holds the tags of 50 instances and a NextToken;
// the NextToken gives the rest and an empty NextToken; together the pages
// hold every (instance, tag) pair exactly once, in JSON and in XML.
// ResourceIds.N is limited to 50 per call (51 is InvalidParameter).
func TestTagResourcesPaging(t *testing.T) {
	s := StartServer(t)
	list := s.CreateInstances(t, admin.InstancesRequest{Count: 61})
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.InstanceId
	}
	g := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), ""}
	v1Error(t, g.create(ids[:51], tagKV("env", "x")), 400, "InvalidParameter")
	g.mustCreate(ids[:50], tagKV("env", "prod"), tagKV("owner", "ops"))
	g.mustCreate(ids[50:60], tagKV("env", "prod"), tagKV("owner", "ops"))
	g.mustCreate(ids[60:], tagKV("env", "dev"))

	for _, format := range []string{"JSON", "XML"} {
		g.format = format
		filter := []ddoscoo.DescribeTagResourcesTags{tagFilterKV("env", "prod")}
		first := g.mustDescribe(nil, filter, "")
		if n := len(first.TagResources.TagResource); n != 50 || first.NextToken == "" {
			t.Fatalf("%s: first page has %d pairs, NextToken %q; want the env tags of 50 instances and a NextToken", format, n, first.NextToken)
		}
		second := g.mustDescribe(nil, filter, first.NextToken)
		if n := len(second.TagResources.TagResource); n != 10 || second.NextToken != "" {
			t.Fatalf("%s: second page has %d pairs, NextToken %q; want 10 and no NextToken", format, n, second.NextToken)
		}
		var want []ddoscoo.TagResource
		for _, id := range ids[:60] {
			want = append(want, tagPair(id, "env", "prod"))
		}
		got := append(slices.Clone(first.TagResources.TagResource), second.TagResources.TagResource...)
		if !reflect.DeepEqual(sortedTR(got), sortedTR(want)) {
			t.Errorf("%s: the two pages hold %d pairs that are not exactly the env=prod tags of the 60 instances", format, len(got))
		}

		allTags := g.mustDescribe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("env", ""), tagFilterKV("owner", "")}, "")
		if n := len(allTags.TagResources.TagResource); n != 100 || allTags.NextToken == "" {
			t.Errorf("%s: two-key first page has %d pairs, NextToken %q; want 100 (2 tags of 50 instances) and a NextToken", format, n, allTags.NextToken)
		}
		byIDs := g.mustDescribe(ids[10:50], nil, "")
		if n := len(byIDs.TagResources.TagResource); n != 80 || byIDs.NextToken != "" {
			t.Errorf("%s: 40 IDs gave %d pairs, NextToken %q; want 80 and none", format, n, byIDs.NextToken)
		}
	}
}

// TestTagKeysCountsAndPaging pins DescribeTagKeys through sdk-go v1 in JSON
// and XML: keys sorted with the number of instances carrying each, the
// defaults PageNumber 1 and PageSize 10 echoed, TotalCount the number of
// keys, later pages, an empty page past the end, counts that follow
// CreateTagResources and DeleteTagResources, and InvalidParameter for
// PageSize 0 or 51 and PageNumber 0.
func TestTagKeysCountsAndPaging(t *testing.T) {
	s := StartServer(t)
	list := s.CreateInstances(t, admin.InstancesRequest{Count: 4})
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1"})
	g := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), ""}
	// Key k01 on one instance, k02 on two, ... k04 on four; k05 to k12 on the first.
	for i := 0; i < 4; i++ {
		ids := []string{}
		for _, in := range list[:i+1] {
			ids = append(ids, in.InstanceId)
		}
		g.mustCreate(ids, tagKV(fmt.Sprintf("k%02d", i+1), "v"))
	}
	for k := 5; k <= 12; k++ {
		g.mustCreate([]string{list[0].InstanceId}, tagKV(fmt.Sprintf("k%02d", k), "v"))
	}
	pg := tagger{t, SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret), ""}
	pg.mustCreate([]string{premium.InstanceId}, tagKV("premium-only", "v"))

	keys := func(from, to int) []ddoscoo.TagKey {
		out := []ddoscoo.TagKey{}
		for k := from; k <= to; k++ {
			n := 1
			if k <= 4 {
				n = k
			}
			out = append(out, ddoscoo.TagKey{TagKey: fmt.Sprintf("k%02d", k), TagCount: n})
		}
		return out
	}
	cases := []struct {
		number, size       string
		wantNumber, wantSz int
		want               []ddoscoo.TagKey
	}{
		{"", "", 1, 10, keys(1, 10)},
		{"2", "", 2, 10, keys(11, 12)},
		{"3", "5", 3, 5, keys(11, 12)},
		{"1", "50", 1, 50, keys(1, 12)},
		{"4", "5", 4, 5, nil},
	}
	for _, format := range []string{"JSON", "XML"} {
		g.format = format
		for _, tc := range cases {
			resp, err := g.keys(tc.number, tc.size)
			if err != nil {
				t.Fatalf("%s DescribeTagKeys(%q, %q): %v", format, tc.number, tc.size, err)
			}
			got := resp.TagKeys
			if len(got) == 0 {
				got = nil
			}
			want := tc.want
			if len(want) == 0 {
				want = nil
			}
			if resp.PageNumber != tc.wantNumber || resp.PageSize != tc.wantSz || resp.TotalCount != 12 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s DescribeTagKeys(%q, %q) = PageNumber %d PageSize %d TotalCount %d %+v\nwant %d %d 12 %+v",
					format, tc.number, tc.size, resp.PageNumber, resp.PageSize, resp.TotalCount, got, tc.wantNumber, tc.wantSz, want)
			}
		}
	}
	g.format = ""
	if err := g.delete([]string{list[2].InstanceId, list[3].InstanceId}, []string{"k04"}, ""); err != nil {
		t.Fatalf("DeleteTagResources: %v", err)
	}
	if err := g.delete([]string{list[0].InstanceId}, []string{"k12"}, ""); err != nil {
		t.Fatalf("DeleteTagResources: %v", err)
	}
	resp, err := g.keys("1", "50")
	if err != nil {
		t.Fatalf("DescribeTagKeys: %v", err)
	}
	want := keys(1, 11)
	want[3].TagCount = 2
	if resp.TotalCount != 11 || !reflect.DeepEqual(resp.TagKeys, want) {
		t.Errorf("after deletes: TotalCount %d %+v\nwant 11 %+v", resp.TotalCount, resp.TagKeys, want)
	}
	p, err := pg.keys("", "")
	if err != nil {
		t.Fatalf("DescribeTagKeys ap-southeast-1: %v", err)
	}
	if p.TotalCount != 1 || !reflect.DeepEqual(p.TagKeys, []ddoscoo.TagKey{{TagKey: "premium-only", TagCount: 1}}) {
		t.Errorf("ap-southeast-1 keys = TotalCount %d %+v, want only premium-only", p.TotalCount, p.TagKeys)
	}
	if raw := p.GetHttpContentString(); !strings.Contains(raw, `"PageNumber":1,"PageSize":10,"TotalCount":1,"TagKeys":[{"TagKey":"premium-only","TagCount":1}]`) {
		t.Errorf("DescribeTagKeys JSON = %s", raw)
	}
	for _, tc := range []struct{ number, size string }{{"", "0"}, {"", "51"}, {"0", ""}} {
		_, err := g.keys(tc.number, tc.size)
		v1Error(t, err, 400, "InvalidParameter")
	}
}

// TestTagLimitsAndBadKeys pins the tag limits: an instance carries at most
// 20 keys (a 21st is 400 QuotaExceed.TagsPerResource and changes nothing,
// while a new value for a key it has is fine), more than 20 tags in one
// call and a key given twice are InvalidParameter, and keys starting with
// aliyun or acs:, keys of 129 characters, values with http:// and values
// of 129 characters are 400 InvalidParameter (128 characters are fine).
func TestTagLimitsAndBadKeys(t *testing.T) {
	s := StartServer(t)
	var nineteen []admin.TagItem
	for i := 1; i <= 19; i++ {
		nineteen = append(nineteen, admin.TagItem{Key: fmt.Sprintf("key%02d", i), Value: "v"})
	}
	full := createSingle(t, s, admin.InstancesRequest{Tags: nineteen})
	free := createSingle(t, s, admin.InstancesRequest{})
	g := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), ""}

	g.mustCreate([]string{full.InstanceId}, tagKV("key20", "v"))
	v1Error(t, g.create([]string{full.InstanceId}, tagKV("key21", "v")), 400, "QuotaExceed.TagsPerResource")
	v1Error(t, g.create([]string{free.InstanceId, full.InstanceId}, tagKV("other", "v")), 400, "QuotaExceed.TagsPerResource")
	g.mustCreate([]string{full.InstanceId}, tagKV("key01", "changed"))
	got := g.mustDescribe([]string{full.InstanceId, free.InstanceId}, nil, "").TagResources.TagResource
	if len(got) != 20 || got[0] != tagPair(full.InstanceId, "key01", "changed") {
		t.Errorf("after the refusals: %d pairs starting %+v; want the 20 keys of the full instance, key01=changed, and none on the other", len(got), got[:min(1, len(got))])
	}

	var many []ddoscoo.CreateTagResourcesTags
	for i := 1; i <= 21; i++ {
		many = append(many, tagKV(fmt.Sprintf("m%02d", i), "v"))
	}
	v1Error(t, g.create([]string{free.InstanceId}, many...), 400, "InvalidParameter")
	v1Error(t, g.create([]string{free.InstanceId}, tagKV("dup", "1"), tagKV("dup", "2")), 400, "InvalidParameter")

	long := strings.Repeat("k", 128)
	for _, bad := range []ddoscoo.CreateTagResourcesTags{
		tagKV("aliyun-owner", "v"), tagKV("Aliyun", "v"), tagKV("acs:cost", "v"), tagKV(long+"k", "v"),
		tagKV("site", "http://example.com"), tagKV("site", "see https://x"), tagKV("v", long+"v"), tagKV("", "value-without-key"),
	} {
		v1Error(t, g.create([]string{free.InstanceId}, bad), 400, "InvalidParameter")
	}
	wantTags(t, "after bad keys", g.mustDescribe([]string{free.InstanceId}, nil, ""))
	g.mustCreate([]string{free.InstanceId}, tagKV(long, long), tagKV("高防", "値"))
	wantTags(t, "128-character and multibyte tags", g.mustDescribe([]string{free.InstanceId}, nil, ""),
		tagPair(free.InstanceId, long, long), tagPair(free.InstanceId, "高防", "値"))
}

// TestTagCallsValidation pins the tag calls' parameter errors: RegionId is
// required (400 MissingRegionId through the generated v3 client, which
// sends none, even when the endpoint host names a region), an unknown
// region is InvalidRegionId, ResourceType and ResourceIds are required
// (MissingResourceType, MissingResourceIds) and ResourceType must be
// INSTANCE, CreateTagResources needs Tags (MissingTags.1.Key),
// DeleteTagResources needs TagKey.N or All=true, DescribeTagResources
// needs ResourceIds or Tags and a NextToken it issued; an unknown ID, a
// Premium ID in cn-hangzhou and a ResourceGroupId the instance is not in
// are 404 InstanceNotFound.
func TestTagCallsValidation(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1"})
	v1 := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	g := tagger{t, v1, ""}

	for _, c := range []*ddoscoov3.Client{
		SDKv3(t, s, testKeyID, testKeySecret),
		SDKv3At(t, s, "ddoscoo.ap-southeast-1.aliyuncs.com", testKeyID, testKeySecret),
	} {
		_, err := c.CreateTagResources(&ddoscoov3.CreateTagResourcesRequest{
			ResourceType: tea.String("INSTANCE"), ResourceIds: []*string{tea.String(a.InstanceId)},
			Tags: []*ddoscoov3.CreateTagResourcesRequestTags{{Key: tea.String("k"), Value: tea.String("v")}},
		})
		teaError(t, err, 400, "MissingRegionId")
		_, err = c.DeleteTagResources(&ddoscoov3.DeleteTagResourcesRequest{
			ResourceType: tea.String("INSTANCE"), ResourceIds: []*string{tea.String(a.InstanceId)}, All: tea.Bool(true),
		})
		teaError(t, err, 400, "MissingRegionId")
		_, err = c.DescribeTagResources(&ddoscoov3.DescribeTagResourcesRequest{
			ResourceType: tea.String("INSTANCE"), ResourceIds: []*string{tea.String(a.InstanceId)},
		})
		teaError(t, err, 400, "MissingRegionId")
		_, err = c.DescribeTagKeys(&ddoscoov3.DescribeTagKeysRequest{ResourceType: tea.String("INSTANCE")})
		teaError(t, err, 400, "MissingRegionId")
	}
	v3 := SDKv3(t, s, testKeyID, testKeySecret)
	created, err := v3.CreateTagResources(&ddoscoov3.CreateTagResourcesRequest{
		RegionId: tea.String("cn-hangzhou"), ResourceType: tea.String("INSTANCE"), ResourceIds: []*string{tea.String(a.InstanceId)},
		Tags: []*ddoscoov3.CreateTagResourcesRequestTags{{Key: tea.String("via"), Value: tea.String("v3")}},
	})
	if err != nil {
		t.Fatalf("v3 CreateTagResources with RegionId: %v", err)
	}
	if tea.StringValue(created.Body.RequestId) == "" {
		t.Errorf("v3 CreateTagResources: no RequestId")
	}
	listed, err := v3.DescribeTagResources(&ddoscoov3.DescribeTagResourcesRequest{
		RegionId: tea.String("cn-hangzhou"), ResourceType: tea.String("INSTANCE"), ResourceIds: []*string{tea.String(a.InstanceId)},
	})
	if err != nil {
		t.Fatalf("v3 DescribeTagResources: %v", err)
	}
	if l := listed.Body.TagResources.TagResource; len(l) != 1 || tea.StringValue(l[0].TagKey) != "via" || tea.StringValue(l[0].TagValue) != "v3" || tea.StringValue(l[0].ResourceId) != a.InstanceId {
		t.Errorf("v3 DescribeTagResources = %v, want the one tag via=v3", l)
	}
	_, err = v3.DescribeTagKeys(&ddoscoov3.DescribeTagKeysRequest{RegionId: tea.String("cn-beijing"), ResourceType: tea.String("INSTANCE")})
	teaError(t, err, 400, "InvalidRegionId")

	type raw = ddoscoo.CreateTagResourcesRequest
	create := func(set func(*raw)) error {
		req := ddoscoo.CreateCreateTagResourcesRequest()
		req.ResourceType, req.ResourceIds = "INSTANCE", &[]string{a.InstanceId}
		req.Tags = &[]ddoscoo.CreateTagResourcesTags{tagKV("k", "v")}
		set(req)
		_, err := v1.CreateTagResources(req)
		return err
	}
	v1Error(t, create(func(r *raw) { r.ResourceType = "" }), 400, "MissingResourceType")
	v1Error(t, create(func(r *raw) { r.ResourceType = "DOMAIN" }), 400, "InvalidParameter")
	v1Error(t, create(func(r *raw) { r.ResourceIds = nil }), 400, "MissingResourceIds")
	v1Error(t, create(func(r *raw) { r.Tags = nil }), 400, "MissingTags.1.Key")
	v1Error(t, create(func(r *raw) { r.ResourceIds = &[]string{ghostID(a.InstanceId)} }), 404, "InstanceNotFound")
	v1Error(t, create(func(r *raw) { r.ResourceIds = &[]string{a.InstanceId, p.InstanceId} }), 404, "InstanceNotFound")
	v1Error(t, create(func(r *raw) { r.ResourceGroupId = "rg-acfmnosuchgroup" }), 404, "InstanceNotFound")
	wantTags(t, "after the refused creates", g.mustDescribe([]string{a.InstanceId}, nil, ""), tagPair(a.InstanceId, "via", "v3"))

	del := ddoscoo.CreateDeleteTagResourcesRequest()
	del.ResourceIds = &[]string{a.InstanceId}
	del.All = "true"
	_, err = v1.DeleteTagResources(del)
	v1Error(t, err, 400, "MissingResourceType")
	v1Error(t, g.delete([]string{a.InstanceId}, nil, ""), 400, "InvalidParameter")
	v1Error(t, g.delete([]string{a.InstanceId}, nil, "false"), 400, "InvalidParameter")
	v1Error(t, g.delete([]string{a.InstanceId}, nil, "yes"), 400, "InvalidParameter")
	v1Error(t, g.delete([]string{ghostID(a.InstanceId)}, nil, "true"), 404, "InstanceNotFound")
	v1Error(t, g.delete([]string{p.InstanceId}, nil, "true"), 404, "InstanceNotFound")
	v1Error(t, g.delete(nil, []string{"via"}, ""), 400, "MissingResourceIds")

	_, err = g.describe(nil, nil, "")
	v1Error(t, err, 400, "InvalidParameter")
	_, err = g.describe([]string{a.InstanceId}, nil, "not-a-token")
	v1Error(t, err, 400, "InvalidParameter")
	_, err = g.describe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("", "v")}, "")
	v1Error(t, err, 400, "InvalidParameter")
	dr := ddoscoo.CreateDescribeTagResourcesRequest()
	dr.ResourceIds = &[]string{a.InstanceId}
	_, err = v1.DescribeTagResources(dr)
	v1Error(t, err, 400, "MissingResourceType")
	kr := ddoscoo.CreateDescribeTagKeysRequest()
	_, err = v1.DescribeTagKeys(kr)
	v1Error(t, err, 400, "MissingResourceType")
	kr.ResourceType = "instance"
	_, err = v1.DescribeTagKeys(kr)
	v1Error(t, err, 400, "InvalidParameter")
}

// TestTagResourcesOtherAccount pins that another account's instance in
// ResourceIds gets exactly what a never-existing ID gets: CreateTagResources
// and DeleteTagResources answer the same 404 InstanceNotFound (message
// included, once the ID is substituted) and change nothing;
// DescribeTagResources lists nothing for either; DescribeTagKeys counts
// only the caller's own keys.
func TestTagResourcesOtherAccount(t *testing.T) {
	s := StartServer(t)
	x := createSingle(t, s, admin.InstancesRequest{Tags: []admin.TagItem{{Key: "owner", Value: "a"}}})
	const acct, key, secret = "1000000000000041", "LTAItagsaccountb00000041", "tags-account-b-secret-0000041"
	s.CreateAccount(t, acct, key, secret)
	mine := createSingle(t, s, admin.InstancesRequest{AccessKeyId: key})
	b := tagger{t, SDKv1(t, s, "cn-hangzhou", key, secret), ""}
	ghost := ghostID(x.InstanceId)

	sameAsGhost(t, "CreateTagResources", b.create([]string{mine.InstanceId, x.InstanceId}, tagKV("owner", "b")),
		b.create([]string{mine.InstanceId, ghost}, tagKV("owner", "b")), x.InstanceId, ghost)
	sameAsGhost(t, "DeleteTagResources", b.delete([]string{x.InstanceId}, nil, "true"),
		b.delete([]string{ghost}, nil, "true"), x.InstanceId, ghost)
	for _, id := range []string{x.InstanceId, ghost} {
		wantTags(t, "account B describes "+id, b.mustDescribe([]string{id}, nil, ""))
	}
	wantTags(t, "account B by tag", b.mustDescribe(nil, []ddoscoo.DescribeTagResourcesTags{tagFilterKV("owner", "")}, ""))
	keys, err := b.keys("", "")
	if err != nil {
		t.Fatalf("DescribeTagKeys: %v", err)
	}
	if keys.TotalCount != 0 || len(keys.TagKeys) != 0 {
		t.Errorf("account B's DescribeTagKeys = %d %+v, want nothing", keys.TotalCount, keys.TagKeys)
	}
	a := tagger{t, SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret), ""}
	wantTags(t, "account A's instance afterwards", a.mustDescribe([]string{x.InstanceId, mine.InstanceId}, nil, ""), tagPair(x.InstanceId, "owner", "a"))
}

// TestDescribeInstancesTagAndGroupFilters pins DescribeInstances' Tag.N
// filter over tags set with CreateTagResources: a key alone matches any
// value, a key with a value only that value, two tags are ANDed, and a
// removed tag stops matching; and its ResourceGroupId filter: a group the
// account does not have matches nothing (the admin API cannot yet place
// instances in a chosen group, and no API reveals the default group).
func TestDescribeInstancesTagAndGroupFilters(t *testing.T) {
	s := StartServer(t)
	list := s.CreateInstances(t, admin.InstancesRequest{Count: 4})
	a, b, c, d := list[0].InstanceId, list[1].InstanceId, list[2].InstanceId, list[3].InstanceId
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	g := tagger{t, cn, ""}
	g.mustCreate([]string{a, b}, tagKV("env", "prod"))
	g.mustCreate([]string{c}, tagKV("env", "dev"))
	g.mustCreate([]string{a, c}, tagKV("team", "web"))

	type req = ddoscoo.DescribeInstancesRequest
	filter := func(tags ...ddoscoo.DescribeInstancesTag) func(*req) {
		return func(r *req) { r.Tag = &tags }
	}
	tg := func(k, v string) ddoscoo.DescribeInstancesTag { return ddoscoo.DescribeInstancesTag{Key: k, Value: v} }
	wantIDSet(t, "env", v1List(t, cn, filter(tg("env", ""))), a, b, c)
	wantIDSet(t, "env=prod", v1List(t, cn, filter(tg("env", "prod"))), a, b)
	wantIDSet(t, "env=dev", v1List(t, cn, filter(tg("env", "dev"))), c)
	wantIDSet(t, "env=prod and team", v1List(t, cn, filter(tg("env", "prod"), tg("team", ""))), a)
	wantIDSet(t, "env=dev and team=web", v1List(t, cn, filter(tg("env", "dev"), tg("team", "web"))), c)
	wantIDSet(t, "env=qa", v1List(t, cn, filter(tg("env", "qa"))))
	wantIDSet(t, "no filter", v1List(t, cn, nil), a, b, c, d)

	if err := g.delete([]string{a}, []string{"env"}, ""); err != nil {
		t.Fatalf("DeleteTagResources: %v", err)
	}
	wantIDSet(t, "env=prod after untagging a", v1List(t, cn, filter(tg("env", "prod"))), b)
	wantIDSet(t, "env and team after untagging a", v1List(t, cn, filter(tg("env", ""), tg("team", ""))), c)

	wantIDSet(t, "made-up ResourceGroupId", v1List(t, cn, func(r *req) { r.ResourceGroupId = "rg-acfmnosuchgroup1" }))
	wantIDSet(t, "made-up ResourceGroupId with a tag", v1List(t, cn, func(r *req) {
		r.ResourceGroupId, r.Tag = "rg-acfmnosuchgroup1", &[]ddoscoo.DescribeInstancesTag{tg("team", "")}
	}))
}
