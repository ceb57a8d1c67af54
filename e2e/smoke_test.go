package e2e

import (
	"errors"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ddoscoo"

	"moat/internal/admin"
)

// TestSDKv1ReleaseLifecycle pins the core story with sdk-go v1: an
// instance is listed, cannot be released before expiry, can be after, and
// is gone afterwards.
func TestSDKv1ReleaseLifecycle(t *testing.T) {
	s := StartServer(t)
	created := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h", Remark: "smoke"})
	id := created[0].InstanceId
	c := SDKv1(t, s, "cn-hangzhou", testKeyID, testKeySecret)

	req := ddoscoo.CreateDescribeInstancesRequest()
	req.PageNumber, req.PageSize = "1", "10"
	resp, err := c.DescribeInstances(req)
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if resp.TotalCount != 1 || len(resp.Instances) != 1 || resp.Instances[0].InstanceId != id || resp.Instances[0].Status != 1 {
		t.Fatalf("DescribeInstances = %+v, want the one normal instance %s", resp, id)
	}

	rel := ddoscoo.CreateReleaseInstanceRequest()
	rel.InstanceId = id
	_, err = c.ReleaseInstance(rel)
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "InstanceNotExpire" || se.HttpStatus() != 400 {
		t.Fatalf("ReleaseInstance before expiry: err = %v, want 400 InstanceNotExpire", err)
	}
	s.Advance(t, "25h")
	if _, err := c.ReleaseInstance(rel); err != nil {
		t.Fatalf("ReleaseInstance after expiry: %v", err)
	}
	_, err = c.ReleaseInstance(rel)
	if !errors.As(err, &se) || se.ErrorCode() != "InstanceNotFound" || se.HttpStatus() != 404 {
		t.Fatalf("second ReleaseInstance: err = %v, want 404 InstanceNotFound", err)
	}
}
