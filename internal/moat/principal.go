package moat

import (
	"net/netip"
	"strings"
	"time"
)

// PrincipalType is who signed a request: the account itself (its own
// AccessKeys, which may do everything), one of its RAM users, or a RAM
// user's temporary STS credentials.
type PrincipalType string

const (
	PrincipalAccount PrincipalType = "Account"
	PrincipalRAMUser PrincipalType = "SubUser"
	PrincipalSTS     PrincipalType = "AssumedRoleUser"
)

// User is a RAM user of an account.
type User struct {
	AccountID string
	Name      string
	ID        string // a 16-digit number, like RAM's UserId
	CreatedAt time.Time
}

// KeyStatus is an AccessKey's state.
type KeyStatus string

const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// UserPolicy is a named policy document attached to a RAM user.
type UserPolicy struct {
	AccountID string
	UserName  string
	Name      string
	Document  string
	UpdatedAt time.Time
}

// Access is what authorization allows a caller in a listing: everything,
// or the instances Permit accepts (tags are loaded for it when NeedTags).
type Access struct {
	Permit   func(in *Instance, tags map[string]string) bool
	NeedTags bool
}

// Env is what a request carries for policy conditions.
type Env struct {
	SourceIP        netip.Addr
	SecureTransport bool
}

// AccessRequest is one authorization question, in RAM's terms.
type AccessRequest struct {
	Action          string // yundun-ddoscoo:ReleaseInstance, bss:CreateInstance
	Resource        string // an ARN, or "*"
	SourceIP        netip.Addr
	SecureTransport bool
	CurrentTime     time.Time
	ResourceTags    map[string]string
}

// Decision is a policy evaluation's outcome.
type Decision uint8

const (
	DecisionNoMatch Decision = iota // implicit deny
	DecisionAllow
	DecisionDeny // explicit deny
)

// Policy is a compiled RAM policy document.
type Policy interface {
	Evaluate(r AccessRequest) Decision
	// UsesResourceTags reports whether any condition reads
	// acs:ResourceTag/…, so callers load tags only when needed.
	UsesResourceTags() bool
}

// PolicyCompiler parses a policy document (internal/ram implements it; a
// document that does not parse is a MalformedPolicyDocument error with the
// position of the problem).
type PolicyCompiler func(doc []byte) (Policy, error)

// AuditRecord is one authenticated call.
type AuditRecord struct {
	Seq       int64
	Time      time.Time // server time when answered
	AccountID string
	Principal string // "root", "user/<name>", "sts/<name>"
	SourceIP  string
	Action    string   // Product:Action, e.g. ddoscoo:ReleaseInstance
	Resources []string // the first AuditMaxResources the call named
	// ResourceCount is how many instance IDs the call named, also those
	// past the first AuditMaxResources that the record keeps.
	ResourceCount int
	Code          string // "OK" on success, else the error code
	RequestID     string
}

// AuditFilter selects audit records; zero fields match anything.
type AuditFilter struct {
	AccountID  string
	Action     string // the Action part alone or Product:Action
	InstanceID string
	AfterSeq   int64
	Limit      int
}

// ARN is the resource name of an instance, or of a website named by
// DomainResource, in RAM policies.
func ARN(region Region, accountID, resource string) string {
	if strings.HasPrefix(resource, domainPrefix) {
		return "acs:yundun-ddoscoo:" + string(region) + ":" + accountID + ":" + resource
	}
	return "acs:yundun-ddoscoo:" + string(region) + ":" + accountID + ":instance/" + resource
}

const domainPrefix = "domain/"

// DomainResource is how a call's resources name a website (instance IDs
// never contain a slash): domain/<name in lower case>.
func DomainResource(domain string) string { return domainPrefix + strings.ToLower(domain) }
