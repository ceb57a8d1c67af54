package moat

import (
	"strconv"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// EventType names a lifecycle transition or another recorded change.
type EventType string

const (
	EventCreated           EventType = "created"
	EventExpired           EventType = "expired"            // mitigation stops
	EventForwardingStopped EventType = "forwarding_stopped" // seven days after expiry
	EventReleased          EventType = "released"
	EventRenewed           EventType = "renewed"      // RenewInstance
	EventAutoRenewed       EventType = "auto_renewed" // the engine, at expiry
	EventModified          EventType = "modified"     // spec upgrade or downgrade

	// Changes of an instance's forwarding configuration; Subject names
	// what changed.
	EventRuleCreated  EventType = "rule_created"
	EventRuleModified EventType = "rule_modified"
	EventRuleDeleted  EventType = "rule_deleted"
	EventListChanged  EventType = "list_changed" // a source list or the UDP reflection filter
)

// Event subjects: what a rule or list event is about.
func PortSubject(k PortKey) string { return "port/" + k.Protocol + "/" + itoa(k.FrontendPort) }

// DomainSubject names a website in events.
func DomainSubject(domain string) string { return "domain/" + domain }

// ListSubject names a source list in events; SubjectUDPReflect the UDP
// reflection filter.
func ListSubject(l SourceListKind) string { return string(l) + "list" }

const SubjectUDPReflect = "udp_reflect"

// EventTypes lists every type, for validating filters.
var EventTypes = []EventType{EventCreated, EventExpired, EventForwardingStopped, EventReleased, EventRenewed, EventAutoRenewed, EventModified,
	EventRuleCreated, EventRuleModified, EventRuleDeleted, EventListChanged}

// Release reasons carried by a "released" event.
const (
	ReasonReleaseInstance = "ReleaseInstance"
	ReasonAutoRelease     = "auto-release"
)

// Event is one recorded transition of one instance.
type Event struct {
	Seq        int64     // assigned by the store; total order of recording
	Time       time.Time // when the transition took effect (its due time for lifecycle transitions)
	RecordedAt time.Time // server time when it was recorded
	InstanceID string
	AccountID  string
	Region     Region
	Type       EventType
	RequestID  string // the API call that caused it, if any
	Reason     string
	// Periods is how many renewal terms an auto_renewed event covers: the
	// engine renews an instance whose expiry the clock passed by several
	// terms in one step, so a large clock jump costs one event per
	// instance, not one per term. Zero for every other type.
	Periods int
	// Subject is what a rule or list event is about: port/<protocol>/<port>,
	// domain/<domain>, blacklist, whitelist or udp_reflect. "" for the
	// instance's own events.
	Subject string
}

// EventFilter selects events; zero fields match anything.
type EventFilter struct {
	InstanceID string
	Type       EventType
	AfterSeq   int64
	Limit      int
}
