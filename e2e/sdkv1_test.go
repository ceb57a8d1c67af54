package e2e

import (
	"net"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// sdkRequestIDRE is the shape of an Alibaba RequestId (a UUID).
var sdkRequestIDRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

func wantRequestID(t testing.TB, what, id string) {
	t.Helper()
	if !sdkRequestIDRE.MatchString(id) {
		t.Fatalf("%s: RequestId = %q, want a UUID", what, id)
	}
}

// wantIDSet checks that a DescribeInstances answer holds exactly the
// instances want (in any order) and that TotalCount counts them.
func wantIDSet(t testing.TB, label string, resp *ddoscoo.DescribeInstancesResponse, want ...string) {
	t.Helper()
	got := instanceIDsOf(resp.Instances)
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) || resp.TotalCount != int64(len(want)) {
		t.Errorf("%s: got TotalCount %d, ids %v; want TotalCount %d, ids %v", label, resp.TotalCount, got, len(w), w)
	}
}

// TestSDKv1DescribeInstancesFields pins every field of DescribeInstances as
// sdk-go v1 decodes it: Status/Enabled for the three lifecycle phases,
// ExpireTime/CreateTime in UNIX ms as created, the IPv4 service IP, the
// edition per region and the fixed IpMode/IpVersion/DebtStatus.
func TestSDKv1DescribeInstancesFields(t *testing.T) {
	s := StartServer(t)
	normal := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h", Remark: "fields"})
	expired := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h"})
	stopped := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-200h"})
	premium := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "720h", Edition: editionPtr(2)})

	clock, err := s.Admin.Clock(t.Context())
	if err != nil {
		t.Fatalf("clock: %v", err)
	}
	now, err := time.Parse(time.RFC3339Nano, clock.Now)
	if err != nil {
		t.Fatalf("clock Now %q: %v", clock.Now, err)
	}

	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	resp := v1List(t, c, nil)
	wantRequestID(t, "DescribeInstances", resp.RequestId)
	wantIDSet(t, "cn-hangzhou", resp, normal.InstanceId, expired.InstanceId, stopped.InstanceId)
	byID := map[string]ddoscoo.Instance{}
	for _, in := range resp.Instances {
		byID[in.InstanceId] = in
	}

	cases := []struct {
		created         admin.Instance
		status, enabled int
		remark          string
	}{
		{normal, 1, 1, "fields"},
		{expired, 2, 1, ""},
		{stopped, 2, 0, ""},
	}
	for _, tc := range cases {
		in := byID[tc.created.InstanceId]
		if in.Status != tc.status || in.Enabled != tc.enabled {
			t.Errorf("%s: Status %d Enabled %d, want %d %d", in.InstanceId, in.Status, in.Enabled, tc.status, tc.enabled)
		}
		if in.Remark != tc.remark || in.Edition != 9 || in.IpMode != "fnat" || in.IpVersion != "Ipv4" || in.DebtStatus != 0 {
			t.Errorf("%s: Remark %q Edition %d IpMode %q IpVersion %q DebtStatus %d, want %q 9 fnat Ipv4 0",
				in.InstanceId, in.Remark, in.Edition, in.IpMode, in.IpVersion, in.DebtStatus, tc.remark)
		}
		if in.ExpireTime != tc.created.ExpireTime || in.CreateTime != tc.created.CreateTime {
			t.Errorf("%s: ExpireTime %d CreateTime %d, want %d %d (as created)", in.InstanceId, in.ExpireTime, in.CreateTime, tc.created.ExpireTime, tc.created.CreateTime)
		}
		if d := now.UnixMilli() - in.CreateTime; d < 0 || d > time.Minute.Milliseconds() {
			t.Errorf("%s: CreateTime %d is not in ms just before server time %d", in.InstanceId, in.CreateTime, now.UnixMilli())
		}
		if ip := net.ParseIP(in.Ip); ip == nil || ip.To4() == nil || in.Ip != tc.created.Ip {
			t.Errorf("%s: Ip %q, want the IPv4 address %q it was created with", in.InstanceId, in.Ip, tc.created.Ip)
		}
	}
	if got := byID[normal.InstanceId]; got.ExpireTime-got.CreateTime != (720 * time.Hour).Milliseconds() {
		t.Errorf("ExpireTime-CreateTime = %d ms, want 720h = %d ms", got.ExpireTime-got.CreateTime, (720 * time.Hour).Milliseconds())
	}
	if len(map[string]bool{normal.Ip: true, expired.Ip: true, stopped.Ip: true}) != 3 {
		t.Errorf("live instances share an IP: %s %s %s", normal.Ip, expired.Ip, stopped.Ip)
	}

	p := v1List(t, SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret), nil)
	wantIDSet(t, "ap-southeast-1", p, premium.InstanceId)
	if len(p.Instances) == 1 {
		in := p.Instances[0]
		if in.Edition != 2 || in.Status != 1 || in.Enabled != 1 || in.Ip != premium.Ip || in.ExpireTime != premium.ExpireTime {
			t.Errorf("premium instance = %+v, want Edition 2, Status 1, Enabled 1, Ip %s, ExpireTime %d", in, premium.Ip, premium.ExpireTime)
		}
	}
}

func editionPtr(v int) *int { return &v }

// TestSDKv1DescribeInstancesFilters pins each DescribeInstances request
// filter of the DescribeInstances API reference through sdk-go v1
// (everything in the query):
// InstanceIds.N, Ip (exact), Remark (literal substring), Edition, Enabled,
// Status.N, ExpireStartTime/ExpireEndTime (ms, both ends inclusive) and
// Tag.N.Key/Value, alone and combined, plus paging with a stable order and
// a TotalCount that counts every match.
func TestSDKv1DescribeInstancesFilters(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h", Remark: "web-frontend", Tags: []admin.TagItem{{Key: "env", Value: "prod"}}})
	b := createSingle(t, s, admin.InstancesRequest{ExpireIn: "240h", Remark: "web-backend", Tags: []admin.TagItem{{Key: "env", Value: "dev"}, {Key: "team", Value: "web"}}})
	c := createSingle(t, s, admin.InstancesRequest{ExpireIn: "48h", Remark: "db 50%_off", Tags: []admin.TagItem{{Key: "team", Value: "db"}}})
	d := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h", Remark: "old-web"})
	e := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-200h", Remark: "ancient"})
	p0 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(0)})
	p1 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(1)})
	p2 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(2)})
	all := []string{a.InstanceId, b.InstanceId, c.InstanceId, d.InstanceId, e.InstanceId}

	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)
	ms := func(v int64) requests.Integer { return requests.Integer(strconv.FormatInt(v, 10)) }
	type req = ddoscoo.DescribeInstancesRequest

	cases := []struct {
		name   string
		client *ddoscoo.Client
		set    func(*req)
		want   []string
	}{
		{"no filter", cn, nil, all},
		{"InstanceIds", cn, func(r *req) {
			r.InstanceIds = &[]string{a.InstanceId, c.InstanceId, "ddoscoo-cn-nosuchinstance"}
		}, []string{a.InstanceId, c.InstanceId}},
		{"InstanceIds of another region", cn, func(r *req) { r.InstanceIds = &[]string{p0.InstanceId} }, nil},
		{"Ip exact", cn, func(r *req) { r.Ip = b.Ip }, []string{b.InstanceId}},
		{"Ip prefix is not a match", cn, func(r *req) { r.Ip = b.Ip[:strings.LastIndex(b.Ip, ".")] }, nil},
		{"Remark substring", cn, func(r *req) { r.Remark = "web" }, []string{a.InstanceId, b.InstanceId, d.InstanceId}},
		{"Remark infix", cn, func(r *req) { r.Remark = "front" }, []string{a.InstanceId}},
		{"Remark % is literal", cn, func(r *req) { r.Remark = "%" }, []string{c.InstanceId}},
		{"Remark _ is literal", cn, func(r *req) { r.Remark = "_" }, []string{c.InstanceId}},
		{"Remark no match", cn, func(r *req) { r.Remark = "web-frontend-x" }, nil},
		{"Edition 9 (Pro)", cn, func(r *req) { r.Edition = "9" }, all},
		{"Edition 1 in cn-hangzhou", cn, func(r *req) { r.Edition = "1" }, nil},
		{"Edition 0", ap, func(r *req) { r.Edition = "0" }, []string{p0.InstanceId}},
		{"Edition 1", ap, func(r *req) { r.Edition = "1" }, []string{p1.InstanceId}},
		{"Edition 2", ap, func(r *req) { r.Edition = "2" }, []string{p2.InstanceId}},
		{"ap-southeast-1 region", ap, nil, []string{p0.InstanceId, p1.InstanceId, p2.InstanceId}},
		{"Enabled 1", cn, func(r *req) { r.Enabled = "1" }, []string{a.InstanceId, b.InstanceId, c.InstanceId, d.InstanceId}},
		{"Enabled 0", cn, func(r *req) { r.Enabled = "0" }, []string{e.InstanceId}},
		{"Status 1", cn, func(r *req) { r.Status = &[]string{"1"} }, []string{a.InstanceId, b.InstanceId, c.InstanceId}},
		{"Status 2", cn, func(r *req) { r.Status = &[]string{"2"} }, []string{d.InstanceId, e.InstanceId}},
		{"Status 1 and 2", cn, func(r *req) { r.Status = &[]string{"1", "2"} }, all},
		{"Expire window, both ends inclusive", cn, func(r *req) {
			r.ExpireStartTime, r.ExpireEndTime = ms(b.ExpireTime), ms(a.ExpireTime)
		}, []string{a.InstanceId, b.InstanceId}},
		{"Expire window of one instant", cn, func(r *req) {
			r.ExpireStartTime, r.ExpireEndTime = ms(c.ExpireTime), ms(c.ExpireTime)
		}, []string{c.InstanceId}},
		{"Expire window excluding its ends", cn, func(r *req) {
			r.ExpireStartTime, r.ExpireEndTime = ms(c.ExpireTime+1), ms(b.ExpireTime-1)
		}, nil},
		{"ExpireStartTime alone", cn, func(r *req) { r.ExpireStartTime = ms(b.ExpireTime) }, []string{a.InstanceId, b.InstanceId}},
		{"ExpireEndTime alone", cn, func(r *req) { r.ExpireEndTime = ms(c.ExpireTime) }, []string{c.InstanceId, d.InstanceId, e.InstanceId}},
		{"Tag key and value", cn, func(r *req) {
			r.Tag = &[]ddoscoo.DescribeInstancesTag{{Key: "env", Value: "prod"}}
		}, []string{a.InstanceId}},
		{"Tag key only", cn, func(r *req) { r.Tag = &[]ddoscoo.DescribeInstancesTag{{Key: "env"}} }, []string{a.InstanceId, b.InstanceId}},
		{"Tag value mismatch", cn, func(r *req) {
			r.Tag = &[]ddoscoo.DescribeInstancesTag{{Key: "env", Value: "staging"}}
		}, nil},
		{"two Tags", cn, func(r *req) {
			r.Tag = &[]ddoscoo.DescribeInstancesTag{{Key: "env", Value: "dev"}, {Key: "team", Value: "web"}}
		}, []string{b.InstanceId}},
		{"Remark and Status", cn, func(r *req) { r.Remark, r.Status = "web", &[]string{"1"} }, []string{a.InstanceId, b.InstanceId}},
		{"Enabled 1 and Status 2", cn, func(r *req) { r.Enabled, r.Status = "1", &[]string{"2"} }, []string{d.InstanceId}},
	}
	for _, tc := range cases {
		wantIDSet(t, tc.name, v1List(t, tc.client, tc.set), tc.want...)
	}

	// Paging: every page reports the full TotalCount, the pages together
	// are the full listing in the same order, and asking again gives the
	// same order.
	full := instanceIDsOf(v1List(t, cn, nil).Instances)
	if again := instanceIDsOf(v1List(t, cn, nil).Instances); !slices.Equal(full, again) {
		t.Fatalf("order changed between two identical calls: %v then %v", full, again)
	}
	var paged []string
	for page, wantLen := range []int{2, 2, 1, 0} {
		resp := v1List(t, cn, func(r *req) { r.PageNumber, r.PageSize = strconv.Itoa(page+1), "2" })
		if resp.TotalCount != 5 || len(resp.Instances) != wantLen {
			t.Fatalf("page %d of size 2: TotalCount %d, %d instances; want 5, %d", page+1, resp.TotalCount, len(resp.Instances), wantLen)
		}
		paged = append(paged, instanceIDsOf(resp.Instances)...)
	}
	if !slices.Equal(paged, full) {
		t.Fatalf("pages of 2 = %v, want the full listing %v in the same order", paged, full)
	}
	var filtered []string
	for page, wantLen := range []int{2, 1} {
		resp := v1List(t, cn, func(r *req) {
			r.PageNumber, r.PageSize, r.Status = strconv.Itoa(page+1), "2", &[]string{"1"}
		})
		if resp.TotalCount != 3 || len(resp.Instances) != wantLen {
			t.Fatalf("Status 1, page %d of size 2: TotalCount %d, %d instances; want 3, %d", page+1, resp.TotalCount, len(resp.Instances), wantLen)
		}
		filtered = append(filtered, instanceIDsOf(resp.Instances)...)
	}
	if want := []string{a.InstanceId, b.InstanceId, c.InstanceId}; !slices.Equal(filtered, slices.DeleteFunc(slices.Clone(full), func(id string) bool { return !slices.Contains(want, id) })) {
		t.Fatalf("filtered pages = %v, not the full order %v restricted to %v", filtered, full, want)
	}
	for _, size := range []string{"1", "50"} {
		resp := v1List(t, cn, func(r *req) { r.PageSize = size })
		n, _ := strconv.Atoi(size)
		if resp.TotalCount != 5 || len(resp.Instances) != min(n, 5) {
			t.Errorf("PageSize %s: TotalCount %d, %d instances; want 5, %d", size, resp.TotalCount, len(resp.Instances), min(n, 5))
		}
	}
}

// TestSDKv1DescribeInstancesValidation pins DescribeInstances' parameter
// errors as sdk-go v1 reports them: PageSize outside 1–50 or not an integer
// and PageNumber below 1 are 400 InvalidParameter; a missing PageNumber or
// PageSize is 400 Missing{Param} with the gateway's message.
func TestSDKv1DescribeInstancesValidation(t *testing.T) {
	s := StartServer(t)
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	cases := []struct {
		name, number, size, code string
	}{
		{"PageSize 0", "1", "0", "InvalidParameter"},
		{"PageSize 51", "1", "51", "InvalidParameter"},
		{"PageSize not an integer", "1", "ten", "InvalidParameter"},
		{"PageSize fractional", "1", "1.5", "InvalidParameter"},
		{"PageNumber 0", "0", "10", "InvalidParameter"},
		{"PageNumber not an integer", "x", "10", "InvalidParameter"},
		{"missing PageNumber", "", "10", "MissingPageNumber"},
		{"missing PageSize", "1", "", "MissingPageSize"},
	}
	for _, tc := range cases {
		req := ddoscoo.CreateDescribeInstancesRequest()
		req.PageNumber, req.PageSize = tc.number, tc.size
		_, err := c.DescribeInstances(req)
		se := v1Error(t, err, 400, tc.code)
		if strings.HasPrefix(tc.code, "Missing") {
			param := strings.TrimPrefix(tc.code, "Missing")
			if want := param + " is mandatory for this action."; se.Message() != want {
				t.Errorf("%s: Message %q, want %q", tc.name, se.Message(), want)
			}
		}
	}
}

// TestSDKv1DescribeInstanceIds pins DescribeInstanceIds through sdk-go v1:
// the caller's live instances of the client's region with Edition, Remark,
// IpMode and IpVersion, narrowed by Edition and InstanceIds.N, without
// released instances or another region's.
func TestSDKv1DescribeInstanceIds(t *testing.T) {
	s := StartServer(t)
	x := createSingle(t, s, admin.InstancesRequest{Remark: "x-remark"})
	gone := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	p0 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(0)})
	p1 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(1), Remark: "one"})
	p3 := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", Edition: editionPtr(3)})
	cn := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	ap := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret)

	rel := ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId = gone.InstanceId
	if _, err := cn.ReleaseInstance(rel); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}

	list := func(c *ddoscoo.Client, edition string, ids ...string) []ddoscoo.Instance {
		t.Helper()
		req := ddoscoo.CreateDescribeInstanceIdsRequest()
		req.Edition = requests.Integer(edition)
		if ids != nil {
			req.InstanceIds = &ids
		}
		resp, err := c.DescribeInstanceIds(req)
		if err != nil {
			t.Fatalf("DescribeInstanceIds: %v", err)
		}
		wantRequestID(t, "DescribeInstanceIds", resp.RequestId)
		return resp.InstanceIds
	}
	sorted := func(list []ddoscoo.Instance) []string {
		ids := instanceIDsOf(list)
		slices.Sort(ids)
		return ids
	}
	want := func(ids ...string) []string {
		slices.Sort(ids)
		return ids
	}

	got := list(cn, "")
	if len(got) != 1 || got[0].InstanceId != x.InstanceId || got[0].Edition != 9 || got[0].Remark != "x-remark" || got[0].IpMode != "fnat" || got[0].IpVersion != "Ipv4" {
		t.Fatalf("cn-hangzhou DescribeInstanceIds = %+v, want only %s (Edition 9, Remark x-remark, fnat, Ipv4); the released %s must not appear", got, x.InstanceId, gone.InstanceId)
	}
	if ids, w := sorted(list(ap, "")), want(p0.InstanceId, p1.InstanceId, p3.InstanceId); !slices.Equal(ids, w) {
		t.Errorf("ap-southeast-1: %v, want %v", ids, w)
	}
	for _, tc := range []struct {
		edition string
		want    admin.Instance
	}{{"0", p0}, {"1", p1}, {"3", p3}} {
		got := list(ap, tc.edition)
		if len(got) != 1 || got[0].InstanceId != tc.want.InstanceId || strconv.Itoa(got[0].Edition) != tc.edition || got[0].Remark != tc.want.Remark {
			t.Errorf("Edition %s: %+v, want only %s", tc.edition, got, tc.want.InstanceId)
		}
	}
	if got := list(ap, "2"); len(got) != 0 {
		t.Errorf("Edition 2: %+v, want none", got)
	}
	if ids, w := sorted(list(ap, "", p0.InstanceId, p3.InstanceId)), want(p0.InstanceId, p3.InstanceId); !slices.Equal(ids, w) {
		t.Errorf("InstanceIds %v: got %v", w, ids)
	}
	if got := list(ap, "1", p0.InstanceId); len(got) != 0 {
		t.Errorf("InstanceIds [p0] with Edition 1: %+v, want none", got)
	}
	if got := list(ap, "", x.InstanceId); len(got) != 0 {
		t.Errorf("a cn-hangzhou instance asked for in ap-southeast-1: %+v, want none", got)
	}
	if got := list(cn, "", gone.InstanceId); len(got) != 0 {
		t.Errorf("a released instance asked for by ID: %+v, want none", got)
	}
}

// TestSDKv1DescribeInstanceStatus pins DescribeInstanceStatus through
// sdk-go v1: ProductType 1 (mainland) and 2 (outside) select the region,
// the status is 1 before expiry, 2 after it and 4 once released (in
// either region); the wrong ProductType or an unknown ID is 404
// InstanceNotFound, ProductType 3 is 400 InvalidParameter, and missing
// parameters are Missing{Param}.
func TestSDKv1DescribeInstanceStatus(t *testing.T) {
	s := StartServer(t)
	n := createSingle(t, s, admin.InstancesRequest{ExpireIn: "24h"})
	old := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	p := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "24h"})
	pOld := createSingle(t, s, admin.InstancesRequest{RegionId: "ap-southeast-1", ExpireIn: "-1h"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	call := func(id, productType string) (*ddoscoo.DescribeInstanceStatusResponse, error) {
		req := ddoscoo.CreateDescribeInstanceStatusRequest()
		req.InstanceId, req.ProductType = id, requests.Integer(productType)
		return c.DescribeInstanceStatus(req)
	}
	want := func(id, productType string, status int) {
		t.Helper()
		resp, err := call(id, productType)
		if err != nil {
			t.Fatalf("DescribeInstanceStatus(%s, ProductType %s): %v", id, productType, err)
		}
		wantRequestID(t, "DescribeInstanceStatus", resp.RequestId)
		if resp.InstanceId != id || resp.InstanceStatus != status {
			t.Fatalf("DescribeInstanceStatus(%s, ProductType %s) = %s status %d, want %s status %d", id, productType, resp.InstanceId, resp.InstanceStatus, id, status)
		}
	}
	want(n.InstanceId, "1", 1)
	want(p.InstanceId, "2", 1)
	want(old.InstanceId, "1", 2)

	_, err := call(n.InstanceId, "2")
	v1Error(t, err, 404, "InstanceNotFound")
	_, err = call(p.InstanceId, "1")
	v1Error(t, err, 404, "InstanceNotFound")
	_, err = call(n.InstanceId, "3")
	v1Error(t, err, 400, "InvalidParameter")
	_, err = call("ddoscoo-cn-neverexisted", "1")
	v1Error(t, err, 404, "InstanceNotFound")
	_, err = call(n.InstanceId, "")
	v1Error(t, err, 400, "MissingProductType")
	_, err = call("", "1")
	v1Error(t, err, 400, "MissingInstanceId")

	rel := ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId = old.InstanceId
	if _, err := c.ReleaseInstance(rel); err != nil {
		t.Fatalf("ReleaseInstance: %v", err)
	}
	want(old.InstanceId, "1", 4)
	_, err = call(old.InstanceId, "2")
	v1Error(t, err, 404, "InstanceNotFound")

	rel = ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId = pOld.InstanceId
	if _, err := SDKv1(t, s, "ap-southeast-1", testKeyID, testKeySecret).ReleaseInstance(rel); err != nil {
		t.Fatalf("ReleaseInstance(ap-southeast-1): %v", err)
	}
	want(pOld.InstanceId, "2", 4)
	_, err = call(pOld.InstanceId, "1")
	v1Error(t, err, 404, "InstanceNotFound")

	s.Advance(t, "25h")
	want(n.InstanceId, "1", 2)
	want(p.InstanceId, "2", 2)
}

// TestSDKv1ModifyInstanceRemark pins ModifyInstanceRemark through sdk-go
// v1: a 500-character remark with multibyte characters, spaces and the
// characters the signature encodes specially is stored exactly and shown by
// DescribeInstances (and found by its Remark filter); 501 characters is
// 400 InvalidParameter and changes nothing; no Remark is 400 MissingRemark;
// an unknown instance is 404 InstanceNotFound.
func TestSDKv1ModifyInstanceRemark(t *testing.T) {
	s := StartServer(t)
	m := createSingle(t, s, admin.InstancesRequest{Remark: "before"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	remark500 := strings.Repeat("高防", 200) + strings.Repeat("a b*~", 20)
	if n := utf8.RuneCountInString(remark500); n != 500 {
		t.Fatalf("test remark has %d characters", n)
	}
	modify := func(id, remark string) (*ddoscoo.ModifyInstanceRemarkResponse, error) {
		req := ddoscoo.CreateModifyInstanceRemarkRequest()
		req.InstanceId, req.Remark = id, remark
		return c.ModifyInstanceRemark(req)
	}
	remarkOf := func() string {
		t.Helper()
		resp := v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) { r.InstanceIds = &[]string{m.InstanceId} })
		if len(resp.Instances) != 1 {
			t.Fatalf("DescribeInstances(%s) = %d instances", m.InstanceId, len(resp.Instances))
		}
		return resp.Instances[0].Remark
	}

	resp, err := modify(m.InstanceId, remark500)
	if err != nil {
		t.Fatalf("ModifyInstanceRemark(500 characters): %v", err)
	}
	wantRequestID(t, "ModifyInstanceRemark", resp.RequestId)
	if got := remarkOf(); got != remark500 {
		t.Fatalf("Remark after modify = %q (%d characters), want the 500-character remark", got, utf8.RuneCountInString(got))
	}
	found := v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) { r.Remark = "防a b*~" })
	wantIDSet(t, "Remark filter on the new remark", found, m.InstanceId)

	_, err = modify(m.InstanceId, remark500+"字")
	v1Error(t, err, 400, "InvalidParameter")
	if got := remarkOf(); got != remark500 {
		t.Fatalf("a rejected 501-character remark changed the remark to %q", got)
	}
	_, err = modify(m.InstanceId, "")
	se := v1Error(t, err, 400, "MissingRemark")
	if se.Message() != "Remark is mandatory for this action." {
		t.Errorf("MissingRemark message = %q", se.Message())
	}
	_, err = modify("ddoscoo-cn-neverexisted", "x")
	v1Error(t, err, 404, "InstanceNotFound")
	_, err = modify("", "x")
	v1Error(t, err, 400, "MissingInstanceId")
}

// TestSDKv1ReleaseInstance pins ReleaseInstance through sdk-go v1: an
// instance before expiry is 400 InstanceNotExpire and stays; an expired one
// is released (200 with a RequestId), disappears from DescribeInstances and
// its TotalCount, reports status 4, and a second release is 404
// InstanceNotFound; no InstanceId is 400 MissingInstanceId.
func TestSDKv1ReleaseInstance(t *testing.T) {
	s := StartServer(t)
	live := createSingle(t, s, admin.InstancesRequest{ExpireIn: "24h"})
	exp := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-1h"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	release := func(id string) (*ddoscoo.ReleaseInstanceResponse, error) {
		req := ddoscoo.CreateReleaseInstanceRequest()
		req.InstanceId = id
		return c.ReleaseInstance(req)
	}

	_, err := release(live.InstanceId)
	v1Error(t, err, 400, "InstanceNotExpire")
	resp, err := release(exp.InstanceId)
	if err != nil {
		t.Fatalf("ReleaseInstance(expired): %v", err)
	}
	wantRequestID(t, "ReleaseInstance", resp.RequestId)
	if resp.GetHttpStatus() != 200 {
		t.Fatalf("ReleaseInstance HTTP status %d, want 200", resp.GetHttpStatus())
	}
	wantIDSet(t, "after release", v1List(t, c, nil), live.InstanceId)
	wantIDSet(t, "released instance by ID", v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
		r.InstanceIds = &[]string{exp.InstanceId}
	}))
	st := ddoscoo.CreateDescribeInstanceStatusRequest()
	st.InstanceId, st.ProductType = exp.InstanceId, "1"
	sresp, err := c.DescribeInstanceStatus(st)
	if err != nil {
		t.Fatalf("DescribeInstanceStatus(released): %v", err)
	}
	if sresp.InstanceStatus != 4 {
		t.Fatalf("released instance status %d, want 4", sresp.InstanceStatus)
	}
	_, err = release(exp.InstanceId)
	v1Error(t, err, 404, "InstanceNotFound")
	_, err = release("")
	v1Error(t, err, 400, "MissingInstanceId")
}

// TestSDKv1XMLResponses pins the XML encoding (Format=XML, the documented
// default) as sdk-go v1 decodes it with req.AcceptFormat = "XML": a
// DescribeInstances answer decodes to exactly the values of the JSON answer
// for lists of several, one and no instances (with XML-special and
// multibyte characters in a remark); ReleaseInstance's RequestId decodes;
// errors stay JSON and decode as ServerError.
func TestSDKv1XMLResponses(t *testing.T) {
	s := StartServer(t)
	a := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h", Remark: `<b>&"'高防</b>`})
	createSingle(t, s, admin.InstancesRequest{ExpireIn: "-24h"})
	z := createSingle(t, s, admin.InstancesRequest{ExpireIn: "-200h", Remark: "z"})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	both := func(label string, set func(*ddoscoo.DescribeInstancesRequest), wantN int) {
		t.Helper()
		j := v1List(t, c, set)
		x := v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
			if set != nil {
				set(r)
			}
			r.AcceptFormat = "XML"
		})
		body := x.GetHttpContentString()
		if !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, "<DescribeInstancesResponse>") {
			t.Fatalf("%s: XML request answered %.200q, want an XML document rooted at <DescribeInstancesResponse>", label, body)
		}
		if len(j.Instances) != wantN || j.TotalCount != int64(wantN) {
			t.Fatalf("%s: JSON answer has %d instances, TotalCount %d; want %d", label, len(j.Instances), j.TotalCount, wantN)
		}
		if x.TotalCount != j.TotalCount || !reflect.DeepEqual(x.Instances, j.Instances) && !(len(x.Instances) == 0 && len(j.Instances) == 0) {
			t.Fatalf("%s: XML decodes to TotalCount %d %+v\nJSON decodes to TotalCount %d %+v", label, x.TotalCount, x.Instances, j.TotalCount, j.Instances)
		}
		wantRequestID(t, label+" (XML)", x.RequestId)
	}
	both("all", nil, 3)
	both("one", func(r *ddoscoo.DescribeInstancesRequest) { r.InstanceIds = &[]string{a.InstanceId} }, 1)
	both("none", func(r *ddoscoo.DescribeInstancesRequest) { r.Ip = "203.0.113.7" }, 0)

	one := v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
		r.InstanceIds, r.AcceptFormat = &[]string{a.InstanceId}, "XML"
	})
	if len(one.Instances) != 1 || one.Instances[0].Remark != a.Remark || one.Instances[0].ExpireTime != a.ExpireTime || one.Instances[0].Ip != a.Ip || one.Instances[0].Status != 1 || one.Instances[0].Enabled != 1 {
		t.Fatalf("XML instance = %+v, want Remark %q ExpireTime %d Ip %s Status 1 Enabled 1", one.Instances, a.Remark, a.ExpireTime, a.Ip)
	}

	rel := ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId, rel.AcceptFormat = z.InstanceId, "XML"
	resp, err := c.ReleaseInstance(rel)
	if err != nil {
		t.Fatalf("ReleaseInstance (XML): %v", err)
	}
	wantRequestID(t, "ReleaseInstance (XML)", resp.RequestId)
	if !strings.Contains(resp.GetHttpContentString(), "<ReleaseInstanceResponse>") {
		t.Fatalf("ReleaseInstance (XML) body %q, want <ReleaseInstanceResponse>", resp.GetHttpContentString())
	}

	bad := ddoscoo.CreateDescribeInstancesRequest()
	bad.PageNumber, bad.PageSize, bad.AcceptFormat = "1", "0", "XML"
	_, err = c.DescribeInstances(bad)
	v1Error(t, err, 400, "InvalidParameter")
}

// TestSDKv1DescribeInstancesExtremeValues pins DescribeInstances at the
// edges of its integer parameters: a PageNumber past the last page, however
// large (as long as it is a valid integer), yields no instances and the
// full TotalCount (a server that refuses such a page may answer 400
// InvalidParameter instead, but must never return the first page); an
// ExpireEndTime of math.MaxInt64 bounds nothing, so every instance matches,
// and an ExpireStartTime of math.MinInt64 likewise.
func TestSDKv1DescribeInstancesExtremeValues(t *testing.T) {
	s := StartServer(t)
	created := s.CreateInstances(t, admin.InstancesRequest{Count: 3})
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)
	var all []string
	for _, in := range created {
		all = append(all, in.InstanceId)
	}

	for _, page := range []string{"2", "2147483648", "184467440737095517", "368934881474191033", "9223372036854775807"} {
		req := ddoscoo.CreateDescribeInstancesRequest()
		req.PageNumber, req.PageSize = page, "50"
		resp, err := c.DescribeInstances(req)
		if err != nil {
			v1Error(t, err, 400, "InvalidParameter")
			continue
		}
		if len(resp.Instances) != 0 || resp.TotalCount != 3 {
			t.Errorf("PageNumber %s, PageSize 50: TotalCount %d and %d instances %v; want TotalCount 3 and no instances (the only page is page 1)",
				page, resp.TotalCount, len(resp.Instances), instanceIDsOf(resp.Instances))
		}
	}

	wantIDSet(t, "ExpireEndTime math.MaxInt64", v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
		r.ExpireEndTime = "9223372036854775807"
	}), all...)
	wantIDSet(t, "ExpireStartTime math.MinInt64", v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
		r.ExpireStartTime = "-9223372036854775808"
	}), all...)
	wantIDSet(t, "ExpireStartTime 0 and ExpireEndTime math.MaxInt64", v1List(t, c, func(r *ddoscoo.DescribeInstancesRequest) {
		r.ExpireStartTime, r.ExpireEndTime = "0", "9223372036854775807"
	}), all...)
}
