package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	ddoscoov3 "github.com/alibabacloud-go/ddoscoo-20200101/v2/client"
	"github.com/alibabacloud-go/tea/tea"

	"moat/internal/admin"
	"moat/internal/moat"
)

// TestWebhookAttackNotice: a real mitigation event of the data plane
// reaches a webhook subscribed to attack notices. A port rule with
// Slimit Cps 5 is flooded from 127.70.9.4; the receiver gets one signed
// `attack` notice naming the instance, rule, source and limit. The data
// plane reports the event again as it grows and when it ends; once the
// end is recorded and the outbox is drained, the receiver has still had
// exactly one POST and the delivery log one entry.
func TestWebhookAttackNotice(t *testing.T) {
	s := dataplaneServer(t, "127.70.1.0/24")
	ctx := context.Background()
	origin := tcpEcho(t)
	in := createSingle(t, s, admin.InstancesRequest{ExpireIn: "720h"})
	c := SDKv3(t, s, testKeyID, testKeySecret)
	front := net.JoinHostPort(in.Ip, "8080")

	recv := newHookReceiver(t, "attack-secret")
	hook, err := s.Admin.CreateWebhook(ctx, in.AccountId, admin.WebhookRequest{Url: recv.URL + "/hook", Events: []string{"attack"}, Secret: "attack-secret"})
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}

	if _, err := c.CreatePort((&ddoscoov3.CreatePortRequest{}).SetInstanceId(in.InstanceId).SetFrontendProtocol("tcp").SetFrontendPort("8080").
		SetBackendPort(strconv.Itoa(origin.Port)).SetRealServers(tea.StringSlice([]string{"127.0.0.1"}))); err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	eventually(t, 3*time.Second, "the rule forwards", func() bool { return echoOnce("127.70.9.2", front) })
	if _, err := c.ModifyNetworkRuleAttribute((&ddoscoov3.ModifyNetworkRuleAttributeRequest{}).SetInstanceId(in.InstanceId).
		SetForwardProtocol("tcp").SetFrontendPort(8080).SetConfig(`{"Slimit":{"Cps":5,"CpsEnable":1}}`)); err != nil {
		t.Fatalf("ModifyNetworkRuleAttribute: %v", err)
	}
	// The flood: bursts of 20 connections from one source until the limit
	// cuts one.
	eventually(t, 5*time.Second, "a flood from 127.70.9.4 is cut to Slimit Cps", func() bool { return echoBurst("127.70.9.4", front, 20) < 20 })

	recv.waitFor(t, 1)
	recv.mu.Lock()
	var n moat.Notice
	for _, got := range recv.byID {
		n = got
	}
	recv.mu.Unlock()
	if n.Type != moat.NoticeAttack || n.AccountId != in.AccountId || n.InstanceId != in.InstanceId || n.RegionId != "cn-hangzhou" ||
		n.Protocol != "tcp" || n.FrontendPort != 8080 || n.Source != "127.70.9.4" || n.Limit != moat.LimitSlimitCps ||
		n.Node == "" || !strings.HasPrefix(n.EventId, "atk-") {
		t.Errorf("attack notice %+v", n)
	}
	if at, err := time.Parse(time.RFC3339Nano, n.Time); err != nil || at.Before(time.Now().Add(-time.Hour)) {
		t.Errorf("attack notice Time %q: %v", n.Time, err)
	}

	// The event ends once its source is quiet for a while (server time):
	// move the clock past that and wait until the end is recorded, which
	// means the data plane has reported the event again.
	s.Advance(t, "1m")
	eventually(t, 10*time.Second, "the mitigation event's end is recorded", func() bool {
		now := serverNow(t, s)
		r, err := c.DescribeDDosAllEventList((&ddoscoov3.DescribeDDosAllEventListRequest{}).SetEventType("defense").
			SetStartTime(now.Add(-time.Hour).Unix()).SetEndTime(now.Add(time.Minute).Unix()).SetPageNumber(1).SetPageSize(10))
		if err != nil {
			t.Fatalf("DescribeDDosAllEventList: %v", err)
		}
		for _, e := range r.Body.AttackEvents {
			if tea.StringValue(e.Port) == "8080" && tea.Int64Value(e.EndTime) >= tea.Int64Value(e.StartTime) && tea.Int64Value(e.EndTime) > 0 {
				return true
			}
		}
		return false
	})
	var log []admin.Delivery
	eventually(t, 10*time.Second, "the delivery log has nothing pending", func() bool {
		if log, err = s.Admin.Deliveries(ctx, hook.WebhookId, 0); err != nil {
			t.Fatalf("deliveries: %v", err)
		}
		for _, d := range log {
			if d.Status == "pending" {
				return false
			}
		}
		return true
	})
	if len(log) != 1 || log[0].Status != "delivered" || log[0].Attempts != 1 || log[0].EventId != n.EventId || log[0].Type != "attack" {
		t.Errorf("delivery log %+v; want one delivered attack notice %s", log, n.EventId)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.posts != 1 || len(recv.bad) > 0 {
		t.Errorf("the receiver had %d POSTs (want 1); problems: %v", recv.posts, recv.bad)
	}
}
