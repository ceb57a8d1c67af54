package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"moat/internal/moat"
)

// The admin routes that read history: the lifecycle events and the audit
// log, both streamed a chunk at a time (stream.go).

// Event is one recorded transition.
type Event struct {
	Seq          int64
	Time         string
	RecordedTime string
	InstanceId   string
	Type         string
	AccountId    string
	RegionId     string
	RequestId    string
	Reason       string
	// Periods is how many renewal terms an auto_renewed event covers
	// (absent for other events).
	Periods int `json:",omitempty"`
	// Subject is what a rule or list event is about: port/<protocol>/<port>,
	// domain/<domain>, blacklist, whitelist or udp_reflect (absent for an
	// instance's own events).
	Subject string `json:",omitempty"`
}

// EventsResponse lists events in the order they were recorded.
type EventsResponse struct {
	Events []Event
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := moat.EventFilter{InstanceID: q.Get("InstanceId"), Type: moat.EventType(q.Get("Type"))}
	after, limit, err := page(q)
	if err != nil {
		writeError(w, err)
		return
	}
	f.AfterSeq = after
	// Stream the answer a chunk at a time, so a large page costs the server
	// a chunk of memory, not the whole page.
	streamList(w, s.log, "Events", limit, eventChunk, f.AfterSeq,
		func(after int64, n int) ([]moat.Event, error) {
			f.AfterSeq, f.Limit = after, n
			return s.svc.Events(r.Context(), f)
		},
		func(e moat.Event) int64 { return e.Seq },
		func(e moat.Event) any {
			return Event{
				Seq: e.Seq, Time: e.Time.UTC().Format(timeLayout), RecordedTime: e.RecordedAt.UTC().Format(timeLayout),
				InstanceId: e.InstanceID, Type: string(e.Type), AccountId: e.AccountID, RegionId: string(e.Region),
				RequestId: e.RequestID, Reason: e.Reason, Periods: e.Periods, Subject: e.Subject,
			}
		})
}

const (
	maxEvents  = 100000
	eventChunk = 1000
)

type AuditRecord struct {
	Seq       int64
	Time      string
	AccountId string
	Principal string
	SourceIp  string
	Action    string
	Resources []string // the first 20 the call named, each cut to 128 bytes
	// ResourceCount is how many instance IDs the call named.
	ResourceCount int
	Code          string
	RequestId     string
}

// page reads the After and Limit of a Seq-ordered listing: records after
// Seq After, at most Limit (1 to maxEvents, default maxEvents, so a long log
// is never answered, or held, at once).
func page(q url.Values) (after int64, limit int, err error) {
	limit = maxEvents
	if v := q.Get("After"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return 0, 0, moat.InvalidParam("After", "a Seq number from an earlier answer")
		}
	}
	if v := q.Get("Limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxEvents {
			return 0, 0, moat.InvalidParam("Limit", fmt.Sprintf("between 1 and %d", maxEvents))
		}
	}
	return after, limit, nil
}

// AuditResponse lists audit records, newest last.
type AuditResponse struct {
	Records []AuditRecord
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// At most maxEvents records per answer (page on with After), streamed
	// a chunk at a time, so a long log costs the server a chunk of
	// records in memory (each record is capped when it is queued), never
	// the whole answer.
	f := moat.AuditFilter{AccountID: q.Get("AccountId"), Action: q.Get("Action"), InstanceID: q.Get("InstanceId")}
	after, limit, err := page(q)
	if err != nil {
		writeError(w, err)
		return
	}
	// Records of calls answered just now may still be queued.
	if err := s.svc.FlushAudit(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	streamList(w, s.log, "Records", limit, AuditChunk, after,
		func(after int64, n int) ([]moat.AuditRecord, error) {
			f.AfterSeq, f.Limit = after, n
			return s.svc.Audit(r.Context(), f)
		},
		func(a moat.AuditRecord) int64 { return a.Seq },
		func(a moat.AuditRecord) any {
			res := a.Resources
			if res == nil {
				res = []string{}
			}
			return AuditRecord{Seq: a.Seq, Time: a.Time.UTC().Format(timeLayout), AccountId: a.AccountID,
				Principal: a.Principal, SourceIp: a.SourceIP, Action: a.Action, Resources: res,
				ResourceCount: max(a.ResourceCount, len(res)), Code: a.Code, RequestId: a.RequestID}
		})
}

// AuditChunk is how many audit records the listing reads from the store at
// a time: the records one answer holds in memory.
const AuditChunk = 500
