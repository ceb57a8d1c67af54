package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moat/internal/admin"
)

// rawCall signs a v1 request (POST, everything in the query, like sdk-go
// v1) for the bootstrap key and sends it with hc. It returns the answer,
// or an error when no answer arrived, and the signed query (which can be
// replayed to another endpoint: v1 does not sign the host).
func rawCall(hc *http.Client, endpoint, action string, business map[string]string) (rawResponse, string, error) {
	business["Format"] = "JSON"
	p := rawV1Params(action, business)
	rawSignV1("POST", testKeySecret, p)
	query := rawEncodeParams(p, true)
	resp, err := rawPost(hc, endpoint, query)
	return resp, query, err
}

// rawPost POSTs a query with an empty body.
func rawPost(hc *http.Client, endpoint, query string) (rawResponse, error) {
	req, err := http.NewRequest("POST", endpoint+"/?"+query, nil)
	if err != nil {
		return rawResponse{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResponse{}, err
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b, RequestID: resp.Header.Get("x-acs-request-id")}, nil
}

// rawDescribeByIDs lists the given instances (DescribeInstances with
// InstanceIds.N, 50 per page) and returns id → remark.
func rawDescribeByIDs(t *testing.T, s *Server, list []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for chunk := range slices.Chunk(list, 50) {
		q := map[string]string{"PageNumber": "1", "PageSize": "50"}
		for i, id := range chunk {
			q["InstanceIds."+strconv.Itoa(i+1)] = id
		}
		p := rawV1Params("DescribeInstances", q)
		p["Format"] = "JSON"
		rawSignV1("GET", testKeySecret, p)
		var d rawDescribe
		rawOKJSON(t, rawSend(t, s.Endpoint, rawV1Request("GET", p, nil, false)), &d)
		for _, in := range d.Instances {
			out[in.InstanceId] = in.Remark
		}
	}
	return out
}

// rawInstanceStatus is DescribeInstanceStatus' InstanceStatus for a mainland
// instance.
func rawInstanceStatus(t *testing.T, s *Server, id string) int {
	t.Helper()
	p := rawV1Params("DescribeInstanceStatus", map[string]string{"InstanceId": id, "ProductType": "1", "Format": "JSON"})
	rawSignV1("GET", testKeySecret, p)
	var st struct {
		InstanceId     string
		InstanceStatus int
	}
	rawOKJSON(t, rawSend(t, s.Endpoint, rawV1Request("GET", p, nil, false)), &st)
	return st.InstanceStatus
}

// worker state: what it owns and what the server acknowledged.
type durabilityWorker struct {
	normal  []string // instances whose remark it modifies
	expired []string // instances it releases, in order

	remarkAcked    map[string]string // instance → last acknowledged remark
	remarkInFlight map[string]string // instance → remark sent, no answer
	released       []string          // acknowledged releases
	releaseFlight  string            // release sent, no answer
	lastAcked      string            // signed query of the last acknowledged call
	created        []string          // instances from acknowledged admin creations
	createdRemarks []string          // remarks of every creation sent
	errs           []string          // unexpected answers
	lost           error             // the transport error that ended it
}

// TestKill9KeepsAcknowledgedWrites pins durability and atomicity under
// kill -9: eight workers modify remarks, release expired instances and
// create instances until a fixed number of writes are acknowledged; the
// server is then SIGKILLed with requests in flight and restarted on the
// same database. Every acknowledged write is there (remarks read back,
// released instances unlisted with status 4, created instances listed),
// and nothing is half-done (one released event per released instance,
// no listed instance with a released event).
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	const (
		workers         = 8
		normalPer       = 3
		expiredPer      = 25
		ackedBeforeKill = 480
	)
	s := StartServer(t)
	normal := s.CreateInstances(t, admin.InstancesRequest{Count: workers * normalPer, ExpireIn: "720h", Remark: "initial"})
	expired := s.CreateInstances(t, admin.InstancesRequest{Count: workers * expiredPer, ExpireIn: "-1h", Remark: "expired"})

	ws := make([]*durabilityWorker, workers)
	for i := range ws {
		ws[i] = &durabilityWorker{
			normal:         adminIDs(normal[i*normalPer : (i+1)*normalPer]),
			expired:        adminIDs(expired[i*expiredPer : (i+1)*expiredPer]),
			remarkAcked:    map[string]string{},
			remarkInFlight: map[string]string{},
		}
	}
	var acked atomic.Int64
	enough := make(chan struct{})
	var once sync.Once
	ack := func() {
		if acked.Add(1) == ackedBeforeKill {
			once.Do(func() { close(enough) })
		}
	}
	endpoint := s.Endpoint
	adminClient := &admin.Client{Endpoint: endpoint, Token: adminToken, HTTP: &http.Client{Timeout: time.Minute}}
	hc := &http.Client{Timeout: time.Minute}

	var wg sync.WaitGroup
	for wi, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				switch {
				case n%4 == 3:
					// An admin creation, told apart by its remark.
					remark := fmt.Sprintf("created-w%d-%d", wi, n)
					w.createdRemarks = append(w.createdRemarks, remark)
					out, err := adminClient.CreateInstances(context.Background(), admin.InstancesRequest{ExpireIn: "720h", Remark: remark})
					if err != nil {
						var answer *admin.Error
						if errors.As(err, &answer) {
							w.errs = append(w.errs, "create: "+err.Error())
							continue
						}
						w.lost = err
						return
					}
					if len(out) != 1 {
						w.errs = append(w.errs, fmt.Sprintf("create answered %d instances", len(out)))
						continue
					}
					w.created = append(w.created, out[0].InstanceId)
					ack()
				case n%2 == 1 && len(w.released) < len(w.expired):
					id := w.expired[len(w.released)]
					w.releaseFlight = id
					r, query, err := rawCall(hc, endpoint, "ReleaseInstance", map[string]string{"InstanceId": id})
					if err != nil {
						w.lost = err
						return
					}
					w.releaseFlight = ""
					if r.Status != http.StatusOK {
						w.errs = append(w.errs, fmt.Sprintf("release %s: %d %s", id, r.Status, r.Body))
						return
					}
					w.released = append(w.released, id)
					w.lastAcked = query
					ack()
				default:
					id := w.normal[n%len(w.normal)]
					remark := fmt.Sprintf("w%d n%d * remark", wi, n)
					w.remarkInFlight[id] = remark
					r, query, err := rawCall(hc, endpoint, "ModifyInstanceRemark", map[string]string{"InstanceId": id, "Remark": remark})
					if err != nil {
						w.lost = err
						return
					}
					delete(w.remarkInFlight, id)
					if r.Status != http.StatusOK {
						w.errs = append(w.errs, fmt.Sprintf("modify %s: %d %s", id, r.Status, r.Body))
						return
					}
					w.remarkAcked[id] = remark
					w.lastAcked = query
					ack()
				}
			}
		}()
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-enough:
	case <-workersDone:
	}
	s.Kill()
	<-workersDone
	t.Logf("%d writes acknowledged before kill -9", acked.Load())

	lostInFlight := 0
	for i, w := range ws {
		for _, e := range w.errs {
			t.Errorf("worker %d: unexpected answer: %s", i, e)
		}
		if w.lost == nil {
			t.Errorf("worker %d ended without losing its connection", i)
		} else if !strings.Contains(w.lost.Error(), "connection refused") {
			lostInFlight++
		}
	}
	if acked.Load() < ackedBeforeKill {
		t.Fatalf("only %d writes acknowledged, want %d before the kill", acked.Load(), ackedBeforeKill)
	}
	t.Logf("%d workers had a request in flight at the kill", lostInFlight)

	s.Restart()

	releasedEvents := map[string]int{}
	for _, e := range s.Events(t, "", "released") {
		releasedEvents[e.InstanceId]++
	}
	for i, w := range ws {
		// Remarks: the last acknowledged one, or the one in flight.
		listed := rawDescribeByIDs(t, s, w.normal)
		for _, id := range w.normal {
			got, ok := listed[id]
			want := []string{"initial"}
			if a, ok := w.remarkAcked[id]; ok {
				want = []string{a}
			}
			if f, ok := w.remarkInFlight[id]; ok {
				want = append(want, f)
			}
			if !ok || !slices.Contains(want, got) {
				t.Errorf("worker %d: instance %s listed=%v remark %q, want one of %q", i, id, ok, got, want)
			}
		}
		// Releases: acknowledged ones are gone; none is half-done.
		listed = rawDescribeByIDs(t, s, w.expired)
		for _, id := range w.expired {
			_, isListed := listed[id]
			n := releasedEvents[id]
			switch {
			case slices.Contains(w.released, id):
				if isListed || n != 1 {
					t.Errorf("worker %d: acknowledged release of %s: listed=%v, %d released events; want unlisted and 1", i, id, isListed, n)
				}
				if st := rawInstanceStatus(t, s, id); st != 4 {
					t.Errorf("worker %d: released %s has InstanceStatus %d, want 4", i, id, st)
				}
			case isListed && n != 0, !isListed && n != 1:
				t.Errorf("worker %d: %s (in flight: %v) is half-done: listed=%v with %d released events", i, id, id == w.releaseFlight, isListed, n)
			case !isListed && id != w.releaseFlight:
				t.Errorf("worker %d: %s was released though never acknowledged nor in flight", i, id)
			}
		}
		// Creations: acknowledged ones are listed.
		listed = rawDescribeByIDs(t, s, w.created)
		for _, id := range w.created {
			if _, ok := listed[id]; !ok {
				t.Errorf("worker %d: acknowledged creation %s is not listed after the restart", i, id)
			}
		}
	}
	for id, n := range releasedEvents {
		if n != 1 {
			t.Errorf("instance %s has %d released events, want 1", id, n)
		}
	}
	// Nonces are durable before the answer: each worker's last
	// acknowledged call, replayed, is refused.
	for i, w := range ws {
		if w.lastAcked == "" {
			continue
		}
		r, err := rawPost(hc, s.Endpoint, w.lastAcked)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if e := rawCheckError(t, r); r.Status != 400 || e.Code != "SignatureNonceUsed" {
			t.Errorf("worker %d: replay of its last acknowledged call after kill -9: %d %s, want 400 SignatureNonceUsed", i, r.Status, e.Code)
		}
	}
}

// TestSIGTERMStopsCleanly pins the clean shutdown: after SIGTERM the
// server exits with status 0 and logs "moat stopped", and a restart on the
// same database sees what was written.
func TestSIGTERMStopsCleanly(t *testing.T) {
	s := StartServer(t)
	id := s.CreateInstances(t, admin.InstancesRequest{ExpireIn: "24h"})[0].InstanceId
	r, _, err := rawCall(&http.Client{Timeout: time.Minute}, s.Endpoint, "ModifyInstanceRemark", map[string]string{"InstanceId": id, "Remark": "before stop"})
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("ModifyInstanceRemark: %v %d %s", err, r.Status, r.Body)
	}
	s.Stop()
	if code := s.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0\n%s", code, s.Logs())
	}
	var stopped int
	for _, line := range strings.Split(s.Logs(), "\n") {
		if parseSlogLine(line)["msg"] == "moat stopped" {
			stopped++
		}
	}
	if stopped != 1 {
		t.Errorf("%d \"moat stopped\" log lines, want 1:\n%s", stopped, s.Logs())
	}
	s.Restart()
	if got := rawDescribeByIDs(t, s, []string{id}); got[id] != "before stop" {
		t.Errorf("after restart remark = %q, want %q", got[id], "before stop")
	}
}
