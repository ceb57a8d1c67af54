package moat

import "time"

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
)

// EventTypes lists every type, for validating filters.
var EventTypes = []EventType{EventCreated, EventExpired, EventForwardingStopped, EventReleased, EventRenewed, EventAutoRenewed, EventModified}

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
}

// EventFilter selects events; zero fields match anything.
type EventFilter struct {
	InstanceID string
	Type       EventType
	AfterSeq   int64
	Limit      int
}
