package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/admin"
	"moat/internal/moat"
)

// stormOp is one request of a storm and what came of it.
type stormOp struct {
	create  bool   // BSS CreateInstance; else ddoscoo ReleaseInstance
	token   string // the create's ClientToken
	id      string // the released instance; the created one once known
	replica string
	ans     Answer
	err     error // no answer: the request may or may not have taken effect
}

// TestKillReplicaDuringStorm runs concurrent clients against three
// replicas, buying instances (BSS CreateInstance, a unique ClientToken
// each) and releasing pre-created expired ones (ReleaseInstance), and
// kills one replica with SIGKILL in the middle. Afterwards:
//
//   - every acknowledged purchase exists once: its token, retried on a
//     survivor, answers the same InstanceId and OrderId; the instance is
//     listed with its IP and has exactly one created event;
//   - every acknowledged release is done: DescribeInstanceStatus 4, exactly
//     one released event, carrying that request's RequestId;
//   - a request in flight to the killed replica took effect entirely or not
//     at all: a purchase retried with its token answers 200 and the
//     instance is whole; a release retried answers 200 or InstanceNotFound
//     and leaves exactly one released event;
//   - nothing is half-done anywhere: every live instance has an IP (all
//     distinct) and one created event, every released one is gone with one
//     released event, TotalCount equals the listing, and the event counts
//     add up.
func TestKillReplicaDuringStorm(t *testing.T) {
	dsn := newDatabase(t, baseDSN())
	rs := startReplicas(t, dsn, 3, 8)
	survivors, victim := rs[:2], rs[2]
	const preCreated = 5000
	pre := rs[0].createInstances(t, admin.InstancesRequest{Count: preCreated, ExpireIn: "-1h"})
	var nextRelease atomic.Int64

	// The storm: 8 clients per replica. The kill comes after killAfter
	// acknowledged operations, the end after as many more.
	const perReplica, killAfter = 8, 600
	var (
		mu       sync.Mutex
		ops      []stormOp
		early    []error // the victim failing before it was killed
		acked    atomic.Int64
		killBase atomic.Int64
		killing  atomic.Bool // set just before SIGKILL
		killOnce sync.Once
		endOnce  sync.Once
		killed   = make(chan struct{})
		end      = make(chan struct{}) // closed when killAfter more acks came after the kill
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	onAck := func() {
		n := acked.Add(1)
		if n >= killAfter {
			killOnce.Do(func() {
				wg.Go(func() {
					killing.Store(true)
					victim.Kill()
					killBase.Store(acked.Load())
					close(killed)
				})
			})
		}
		select {
		case <-killed:
			if n >= killBase.Load()+killAfter {
				endOnce.Do(func() { close(end) })
			}
		default:
		}
	}
	for w := range perReplica * len(rs) {
		wg.Go(func() {
			r := rs[w%len(rs)]
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				o := stormOp{create: k%2 == 0, replica: r.Name}
				var params map[string]string
				if !o.create {
					if i := nextRelease.Add(1) - 1; i < int64(len(pre)) {
						o.id = pre[i].InstanceId
						params = ddoscooParams("ReleaseInstance", "InstanceId", o.id)
					} else {
						o.create = true
					}
				}
				if o.create {
					o.token = fmt.Sprintf("storm-%d-%d", w, k)
					params = buyParams(o.token)
				}
				o.ans, o.err = r.call(context.Background(), params)
				mu.Lock()
				ops = append(ops, o)
				mu.Unlock()
				if o.err == nil && o.ans.Status == http.StatusOK {
					onAck()
				}
				if o.err != nil {
					if r != victim {
						return // reported below: a survivor must always answer
					}
					if !killing.Load() {
						mu.Lock()
						early = append(early, o.err)
						mu.Unlock()
						return
					}
					r = survivors[w%len(survivors)] // the client fails over
				}
			}
		})
	}
	// The kill and the end follow progress, not wall-clock time.
	select {
	case <-end:
	case <-time.After(2 * time.Minute):
		t.Error("the storm did not reach its acknowledgements within 2 minutes")
	}
	close(stop)
	wg.Wait()
	if len(early) > 0 {
		t.Fatalf("replica %s failed before it was killed: %v", victim.Name, early)
	}

	// Classify.
	var (
		ackCreates      = map[string]stormOp{} // by token
		ackReleases     = map[string]stormOp{} // by instance
		unknownCreates  []stormOp
		unknownReleases []stormOp
		onVictim        int
	)
	for _, o := range ops {
		if o.replica == victim.Name {
			onVictim++
		}
		switch {
		case o.err != nil && o.replica != victim.Name:
			t.Fatalf("replica %s (not killed) gave no answer: %v", o.replica, o.err)
		case o.err != nil && o.create:
			unknownCreates = append(unknownCreates, o)
		case o.err != nil:
			unknownReleases = append(unknownReleases, o)
		case o.ans.Status != http.StatusOK:
			t.Fatalf("%s on %s (token %q, instance %q) = %v, want success", map[bool]string{true: "CreateInstance", false: "ReleaseInstance"}[o.create],
				o.replica, o.token, o.id, o.ans)
		case o.create:
			var d BuyData
			ok(t, "CreateInstance", o.ans, &d)
			o.id = d.Data.InstanceId
			ackCreates[o.token] = o
		default:
			ackReleases[o.id] = o
		}
	}
	select {
	case <-killed:
	default:
		t.Fatal("the storm ended before the kill")
	}
	judge := survivors[0]

	// Acknowledged purchases: the token gives the same order again.
	created := map[string]string{} // instance → token
	for token, o := range ackCreates {
		var d BuyData
		ok(t, "CreateInstance retried", survivors[len(created)%2].mustCall(t, buyParams(token)), &d)
		var first BuyData
		ok(t, "CreateInstance", o.ans, &first)
		if d.Data != first.Data {
			t.Fatalf("token %s: acknowledged %+v, retried %+v", token, first.Data, d.Data)
		}
		created[d.Data.InstanceId] = token
	}
	// Purchases in flight to the victim: the retry completes them (or
	// finds them complete) and a second retry agrees.
	inflightCommitted := 0
	for _, o := range unknownCreates {
		var d, again BuyData
		a := judge.mustCall(t, buyParams(o.token))
		ok(t, "CreateInstance retried after the kill", a, &d)
		ok(t, "CreateInstance retried twice", survivors[1].mustCall(t, buyParams(o.token)), &again)
		if d.Data != again.Data {
			t.Fatalf("token %s: retries answered %+v and %+v", o.token, d.Data, again.Data)
		}
		if evs := judge.events(t, d.Data.InstanceId, "created"); len(evs) == 1 && evs[0].RequestId != a.RequestID {
			inflightCommitted++ // created by the original request, before the kill
		}
		created[d.Data.InstanceId] = o.token
	}
	// Releases in flight to the victim: done once, whichever way.
	inflightReleased := 0
	released := map[string]bool{}
	for id := range ackReleases {
		released[id] = true
	}
	for _, o := range unknownReleases {
		a := judge.mustCall(t, ddoscooParams("ReleaseInstance", "InstanceId", o.id))
		switch {
		case a.Status == http.StatusOK:
		case a.Status == http.StatusNotFound && a.Code == string(moat.CodeInstanceNotFound):
			inflightReleased++
		default:
			t.Fatalf("ReleaseInstance(%s) retried after the kill = %v, want 200 or InstanceNotFound", o.id, a)
		}
		released[o.id] = true
	}

	// The whole picture, from the survivors.
	events := judge.allEvents(t, "", 20000)
	byInstance := map[string][]admin.Event{}
	for _, e := range events {
		byInstance[e.InstanceId] = append(byInstance[e.InstanceId], e)
	}
	count := func(id, typ string) (n int, last admin.Event) {
		for _, e := range byInstance[id] {
			if e.Type == typ {
				n++
				last = e
			}
		}
		return n, last
	}
	for id := range released {
		if n, e := count(id, "released"); n != 1 {
			t.Fatalf("instance %s: %d released events, want 1", id, n)
		} else if o, ok := ackReleases[id]; ok && e.RequestId != o.ans.RequestID {
			t.Fatalf("instance %s: released event has RequestId %s, the acknowledged release %s", id, e.RequestId, o.ans.RequestID)
		}
		if st := survivors[len(id)%2].status(t, id); st != moat.StatusReleased {
			t.Fatalf("released instance %s: DescribeInstanceStatus %d, want 4", id, st)
		}
	}
	wantLive := map[string]bool{}
	for _, in := range pre {
		if !released[in.InstanceId] {
			wantLive[in.InstanceId] = true
		}
	}
	for id := range created {
		if n, _ := count(id, "created"); n != 1 {
			t.Fatalf("bought instance %s (token %s): %d created events, want 1", id, created[id], n)
		}
		wantLive[id] = true
	}
	live := judge.liveIDs(t)
	if len(live) != len(wantLive) {
		t.Fatalf("%d live instances, want %d (%d pre-created - %d released + %d bought)", len(live), len(wantLive), preCreated, len(released), len(created))
	}
	details := survivors[1].describeAll(t, live)
	ips := map[string]string{}
	for _, id := range live {
		in, found := details[id]
		switch {
		case !wantLive[id]:
			t.Fatalf("instance %s is live but was neither pre-created and kept nor bought", id)
		case !found || in.Ip == "":
			t.Fatalf("live instance %s has no IP (%+v, listed %v)", id, in, found)
		case ips[in.Ip] != "":
			t.Fatalf("instances %s and %s share IP %s", ips[in.Ip], id, in.Ip)
		}
		ips[in.Ip] = id
		if n, _ := count(id, "created"); n != 1 {
			t.Fatalf("live instance %s has %d created events, want 1", id, n)
		}
		if n, _ := count(id, "released"); n != 0 {
			t.Fatalf("live instance %s has a released event", id)
		}
	}
	if n := judge.totalCount(t); n != int64(len(live)) {
		t.Fatalf("DescribeInstances TotalCount = %d, the listing has %d", n, len(live))
	}
	types := map[string]int{}
	for _, e := range events {
		types[e.Type]++
	}
	if types["created"] != preCreated+len(created) || types["released"] != len(released) || types["expired"] != preCreated {
		t.Fatalf("event counts %v, want created %d, expired %d, released %d", types, preCreated+len(created), preCreated, len(released))
	}
	var kinds []string
	for k, v := range types {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	t.Logf("storm: %d requests (%d to the killed replica), %d acknowledged purchases, %d acknowledged releases; in flight at the kill: %d purchases (%d had committed), %d releases (%d had committed); events: %s",
		len(ops), onVictim, len(ackCreates), len(ackReleases), len(unknownCreates), inflightCommitted, len(unknownReleases), inflightReleased, strings.Join(kinds, ", "))
}
