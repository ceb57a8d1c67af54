package moat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an error by what the caller can do about it. Each surface
// (the Alibaba RPC gateway, the admin API) maps a Kind to its own status code
// in exactly one place.
type Kind uint8

const (
	// KindInternal is a fault of the server; the caller can only retry.
	KindInternal Kind = iota
	// KindInvalid is a malformed or out-of-range request.
	KindInvalid
	// KindUnauthenticated is a request whose credentials or signature failed.
	KindUnauthenticated
	// KindNotFound is a missing resource (or one the caller may not see).
	KindNotFound
	// KindConflict is a request that the resource's current state forbids.
	KindConflict
	// KindForbidden is an authenticated caller without permission.
	KindForbidden
	// KindThrottled is a caller over its rate limit.
	KindThrottled
	// KindUnavailable is a dependency (the store) that is down for now.
	KindUnavailable
)

var kindNames = [...]string{"internal", "invalid", "unauthenticated", "not_found", "conflict", "forbidden", "throttled", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Code is a public Alibaba error code, as it appears in the "Code" field of an
// error response. The fixed codes are typed constants in the catalogue below;
// the parameterised families (Missing{Param}, Invalid{Param}) are built by
// MissingParam and InvalidParam.
type Code string

// The catalogue. Gateway codes follow the common error table of the Alibaba
// RPC gateway (its published error code table); business codes are the
// ones the API reference pages list and the Terraform provider and SDK
// callers test for.
const (
	CodeInternalError      Code = "InternalError"
	CodeServiceUnavailable Code = "ServiceUnavailable"

	CodeIncompleteSignature      Code = "IncompleteSignature"
	CodeSignatureDoesNotMatch    Code = "SignatureDoesNotMatch"
	CodeInvalidAccessKeyNotFound Code = "InvalidAccessKeyId.NotFound"
	CodeInvalidAccessKeyInactive Code = "InvalidAccessKeyId.Inactive"
	CodeInvalidTimeStampFormat   Code = "InvalidTimeStamp.Format"
	CodeInvalidTimeStampExpired  Code = "InvalidTimeStamp.Expired"
	CodeSignatureNonceUsed       Code = "SignatureNonceUsed"
	CodeInvalidActionNotFound    Code = "InvalidAction.NotFound"
	CodeInvalidAPINotFound       Code = "InvalidApi.NotFound"
	CodeInvalidVersion           Code = "InvalidVersion"
	CodeInvalidParameterFormat   Code = "InvalidParameter.Format"
	CodeInvalidParameter         Code = "InvalidParameter"
	CodeMissingParameter         Code = "MissingParameter"
	CodeInvalidRegionID          Code = "InvalidRegionId"
	CodeUnsupportedHTTPMethod    Code = "UnsupportedHTTPMethod"

	CodeInstanceNotFound  Code = "InstanceNotFound"
	CodeInstanceNotExpire Code = "InstanceNotExpire"
	CodeIPPoolExhausted   Code = "IpPoolExhausted"

	// Billing and tags.
	CodeIdempotentParameterMismatch Code = "IdempotentParameterMismatch"
	CodeInstanceNotRenewable        Code = "InstanceNotRenewable"
	CodeInstanceExpired             Code = "InstanceExpired"
	CodeTagQuotaExceeded            Code = "QuotaExceed.TagsPerResource"

	// Authentication and authorization.
	CodeForbiddenRAM                  Code = "Forbidden.RAM"
	CodeInvalidSecurityTokenExpired   Code = "InvalidSecurityToken.Expired"
	CodeInvalidSecurityTokenMalformed Code = "InvalidSecurityToken.MalformedToken"
	CodeMalformedPolicyDocument       Code = "MalformedPolicyDocument"
	CodeThrottlingUser                Code = "Throttling.User"
	CodeThrottling                    Code = "Throttling"
	CodeRequestTooLarge               Code = "RequestEntityTooLarge"

	// Admin API codes (moat's own surface, not Alibaba's).
	CodeUserNotFound       Code = "UserNotFound"
	CodeUserConflict       Code = "UserAlreadyExists"
	CodePolicyNotFound     Code = "PolicyNotFound"
	CodeDurationInvalid    Code = "InvalidDuration"
	CodeUnauthorized       Code = "Unauthorized"
	CodeAccessKeyConflict  Code = "AccessKeyConflict"
	CodeAccountNotFound    Code = "AccountNotFound"
	CodeAccessKeyNotFound  Code = "AccessKeyNotFound"
	CodeInvalidAdminClock  Code = "InvalidClock"
	CodeAdminRouteNotFound Code = "NotFound"
	CodeWebhookNotFound    Code = "WebhookNotFound"
	CodeWebhookQuota       Code = "QuotaExceed.Webhooks"

	// Forwarding configuration (rules.go), as the ddoscoo error centre
	// names them; all are HTTP 400 there.
	CodeNetworkRuleExist       Code = "NetworkRuleExist"
	CodeNetworkRuleNotExist    Code = "NetworkRuleNotExist"
	CodeNetworkRuleConflict    Code = "NetworkRuleConflict"
	CodeExceedNetworkRuleLimit Code = "ExceedNetworkRuleLimit"
	CodeExceedWebRuleLimit     Code = "ExceedWebRuleLimit"
	CodeDomainExist            Code = "DomainExist"
	CodeDomainNotExist         Code = "DomainNotExist"
	CodeInvalidDomain          Code = "InvalidDomain"
	CodeInvalidIP              Code = "InvalidIp"
	CodeJSONError              Code = "InvalidParameter.JSONError"
	CodeInvalidWebRule         Code = "InvalidWebRule"
	CodeCertNameRepeat         Code = "CAS.NameRepeat"
	CodeCertFormatError        Code = "CertFormatError"
	CodeCertKeyNotMatch        Code = "CertKeyNotMatch"
	CodeCertNotExist           Code = "CertNotExist"
	CodeDomainDoesNotMatchCert Code = "DomainDoesNotMatchCert"
	CodeExceedListLimit        Code = "ExceedFuncSpec"
)

// catalogue maps every fixed code to its Kind; Errorf consults it so a code
// and its Kind never disagree between call sites.
var catalogue = map[Code]Kind{
	CodeInternalError:      KindInternal,
	CodeServiceUnavailable: KindUnavailable,

	CodeIncompleteSignature:      KindUnauthenticated,
	CodeSignatureDoesNotMatch:    KindUnauthenticated,
	CodeInvalidAccessKeyNotFound: KindNotFound,
	CodeInvalidAccessKeyInactive: KindUnauthenticated,
	CodeInvalidTimeStampFormat:   KindUnauthenticated,
	CodeInvalidTimeStampExpired:  KindUnauthenticated,
	CodeSignatureNonceUsed:       KindUnauthenticated,
	CodeInvalidActionNotFound:    KindNotFound,
	CodeInvalidAPINotFound:       KindNotFound,
	CodeInvalidVersion:           KindInvalid,
	CodeInvalidParameterFormat:   KindInvalid,
	CodeInvalidParameter:         KindInvalid,
	CodeMissingParameter:         KindInvalid,
	CodeInvalidRegionID:          KindInvalid,
	CodeUnsupportedHTTPMethod:    KindInvalid,

	CodeInstanceNotFound:  KindNotFound,
	CodeInstanceNotExpire: KindConflict,
	CodeIPPoolExhausted:   KindConflict,

	CodeIdempotentParameterMismatch: KindConflict,
	CodeInstanceNotRenewable:        KindConflict,
	CodeInstanceExpired:             KindConflict,
	CodeTagQuotaExceeded:            KindConflict,

	CodeForbiddenRAM:                  KindForbidden,
	CodeInvalidSecurityTokenExpired:   KindUnauthenticated,
	CodeInvalidSecurityTokenMalformed: KindUnauthenticated,
	CodeMalformedPolicyDocument:       KindInvalid,
	CodeThrottlingUser:                KindThrottled,
	CodeThrottling:                    KindThrottled,
	CodeRequestTooLarge:               KindInvalid,

	CodeUserNotFound:    KindNotFound,
	CodeUserConflict:    KindConflict,
	CodePolicyNotFound:  KindNotFound,
	CodeDurationInvalid: KindInvalid,

	CodeUnauthorized:       KindUnauthenticated,
	CodeAccessKeyConflict:  KindConflict,
	CodeAccountNotFound:    KindNotFound,
	CodeAccessKeyNotFound:  KindNotFound,
	CodeInvalidAdminClock:  KindInvalid,
	CodeAdminRouteNotFound: KindNotFound,
	CodeWebhookNotFound:    KindNotFound,
	CodeWebhookQuota:       KindConflict,

	CodeNetworkRuleExist:       KindConflict,
	CodeNetworkRuleNotExist:    KindConflict,
	CodeNetworkRuleConflict:    KindConflict,
	CodeExceedNetworkRuleLimit: KindConflict,
	CodeExceedWebRuleLimit:     KindConflict,
	CodeDomainExist:            KindConflict,
	CodeDomainNotExist:         KindConflict,
	CodeInvalidDomain:          KindInvalid,
	CodeInvalidIP:              KindInvalid,
	CodeJSONError:              KindInvalid,
	CodeInvalidWebRule:         KindInvalid,
	CodeCertNameRepeat:         KindConflict,
	CodeCertFormatError:        KindInvalid,
	CodeCertKeyNotMatch:        KindInvalid,
	CodeCertNotExist:           KindConflict,
	CodeDomainDoesNotMatchCert: KindInvalid,
	CodeExceedListLimit:        KindConflict,
}

// Codes lists the fixed catalogue, for tests that walk every code.
func Codes() []Code {
	out := make([]Code, 0, len(catalogue))
	for c := range catalogue {
		out = append(out, c)
	}
	return out
}

// KindOf reports the Kind registered for a fixed code, and whether it is one.
func KindOf(c Code) (Kind, bool) {
	k, ok := catalogue[c]
	return k, ok
}

// Error is the one error type of moat's domain.
type Error struct {
	Kind    Kind
	Code    Code
	Message string // safe to show to the caller
	Op      string // the operation that failed, for logs
	Err     error  // the cause, for logs; never sent to a caller
	// AccessDenied details a Forbidden.RAM refusal, as the real gateway
	// sends it.
	AccessDenied *AccessDeniedDetail
	// RetryAfter is a Throttling error's wait, for the rate-limit header.
	RetryAfter time.Duration
	// Param is the input a Missing{Param} or InvalidParameter error is
	// about, named as the layer that built it names it, and why is what
	// InvalidParam said of it: Rename rebuilds the error under another
	// name.
	Param string
	why   string
	// value is the value InvalidParamValue quoted, if it quoted one.
	value    string
	hasValue bool
}

// AccessDeniedDetail is the AccessDeniedDetail object of a Forbidden.RAM
// answer.
type AccessDeniedDetail struct {
	AuthAction               string
	AuthPrincipalType        string
	AuthPrincipalOwnerId     string //nolint:revive // wire spelling
	AuthPrincipalDisplayName string
	NoPermissionType         string // ImplicitDeny or ExplicitDeny
	PolicyType               string // AccountLevelIdentityBasedPolicy or SessionPolicy
	EncodedDiagnosticMessage string
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an error for a fixed code; its Kind comes from the catalogue.
// A code missing from the catalogue is a programming error and becomes
// KindInternal so that it can never leak as a client error by accident.
func Errorf(code Code, format string, args ...any) *Error {
	k, ok := catalogue[code]
	if !ok {
		k = KindInternal
	}
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// MissingParam is the gateway's Missing{Param} family.
func MissingParam(name string) *Error {
	return &Error{Kind: KindInvalid, Code: Code("Missing" + name), Message: name + " is mandatory for this action.", Param: name}
}

// InvalidParam reports a parameter whose value is malformed or out of range.
// The code is the generic InvalidParameter; the message names the parameter
// and says what is accepted, so a person can fix the call.
func InvalidParam(name, why string) *Error {
	msg := "The specified parameter " + name + " value is not valid"
	if why != "" {
		msg += ": " + why
	}
	return &Error{Kind: KindInvalid, Code: CodeInvalidParameter, Message: msg + ".", Param: name, why: why}
}

// InvalidParamValue is InvalidParam quoting the value that was given, for
// a parameter whose name alone does not show which item was wrong.
func InvalidParamValue(name, value, why string) *Error {
	shown := fmt.Sprintf("%q", value)
	if len(value) > maxEchoedValue {
		// A long value is cut: an answer never grows with the input.
		shown = fmt.Sprintf("%q… (%d bytes)", strings.ToValidUTF8(value[:maxEchoedValue], ""), len(value))
	}
	msg := fmt.Sprintf("The specified parameter %s value %s is not valid", name, shown)
	if why != "" {
		msg += ": " + why
	}
	return &Error{Kind: KindInvalid, Code: CodeInvalidParameter, Message: msg + ".", Param: name, why: why, value: value, hasValue: true}
}

// maxEchoedValue is how much of an invalid value a message repeats.
const maxEchoedValue = 64

// Rename returns err with the parameter it is about renamed as names maps
// it, and any other error as it is. The domain names the inputs of an
// operation after its own fields (DescribeQuery.IDs); each wire names them
// after its parameters (ddoscoo's InstanceIds, BSS's InstanceIDs), so the
// handler that decoded the request maps one to the other and the client
// reads the name it sent.
func Rename(err error, names map[string]string) error {
	var e *Error
	if !errors.As(err, &e) || e.Param == "" {
		return err
	}
	wire, ok := names[e.Param]
	if !ok {
		return err
	}
	if e.Code == CodeInvalidParameter {
		if e.hasValue {
			return InvalidParamValue(wire, e.value, e.why)
		}
		return InvalidParam(wire, e.why)
	}
	return MissingParam(wire)
}

// Internal wraps an unexpected failure. The message is generic; the cause is
// kept for the log line.
func Internal(op string, err error) *Error {
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	return &Error{Kind: KindInternal, Code: CodeInternalError, Op: op, Message: "The request processing has failed due to some unknown error.", Err: err}
}

// Unavailable wraps a failure of a dependency that is expected to come back.
func Unavailable(op string, err error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeServiceUnavailable, Op: op, Message: "The request has failed due to a temporary failure of the server.", Err: err}
}

// AsError returns err as a *Error, converting anything that is not one into
// an internal error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	return Internal("", err)
}

// ErrorCode returns the public code of err, or "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}

// ErrorKind returns the Kind of err.
func ErrorKind(err error) Kind {
	return AsError(err).Kind
}

// ErrNotFound is returned by stores for a missing row; the domain turns it
// into the caller-facing code that fits the operation.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a unique constraint would break.
var ErrConflict = errors.New("conflict")
