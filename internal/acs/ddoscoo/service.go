package ddoscoo

import (
	"context"
	"time"

	"moat/internal/moat"
)

// Service is what the ddoscoo handlers need of moat: the instance
// operations, and the billing views and specification change that the
// ddoscoo API shares with BSS. A handler test can give a fake.
type Service interface {
	DescribeInstances(ctx context.Context, c moat.Caller, q moat.DescribeQuery) (moat.Page, error)
	DescribeInstanceIDs(ctx context.Context, c moat.Caller, region moat.Region, edition *int, ids []string, resourceGroup string, fn func([]moat.Instance) error) error
	InstanceStatus(ctx context.Context, c moat.Caller, region moat.Region, id string) (int, error)
	ModifyInstanceRemark(ctx context.Context, c moat.Caller, region moat.Region, id, remark string) error
	ReleaseInstance(ctx context.Context, c moat.Caller, region moat.Region, id, requestID string) error

	TagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, tags []moat.Tag, resourceGroup string) error
	UntagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, keys []string, all bool, resourceGroup string) error
	ListTagResources(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, ids []string, filters []moat.TagFilter, nextToken, resourceGroup string) ([]moat.ResourceTag, string, error)
	TagKeys(ctx context.Context, c moat.Caller, region moat.Region, resourceType string, pageNumber, pageSize int, resourceGroup string) ([]moat.TagKeyCount, int64, error)

	Instances(ctx context.Context, c moat.Caller, region moat.Region, ids []string) ([]moat.InstanceView, error)
	InstancesPage(ctx context.Context, c moat.Caller, region moat.Region, id string, pageNumber, pageSize int) (moat.Page, error)
	ModifyInstanceSpec(ctx context.Context, c moat.Caller, r moat.ModifyRequest) (moat.Order, error)

	Rules
	Traffic
}

// Traffic is what the statistics handlers need of moat: the figures the
// data plane recorded for the caller's instances and websites.
type Traffic interface {
	PortFlow(ctx context.Context, c moat.Caller, region moat.Region, q moat.StatsQuery) ([]moat.FlowPoint, error)
	PortConns(ctx context.Context, c moat.Caller, region moat.Region, q moat.StatsQuery) ([]moat.ConnsPoint, error)
	PortConnsCount(ctx context.Context, c moat.Caller, region moat.Region, q moat.StatsQuery) (moat.ConnsSummary, error)
	PortMaxConns(ctx context.Context, c moat.Caller, region moat.Region, q moat.StatsQuery) ([]moat.PortPeak, error)
	AttackEvents(ctx context.Context, c moat.Caller, region moat.Region, q moat.EventQuery) ([]moat.EventView, int64, error)

	DomainQPS(ctx context.Context, c moat.Caller, region moat.Region, q moat.WebStatsQuery) ([]moat.WebQPSPoint, error)
	DomainStatusCodes(ctx context.Context, c moat.Caller, region moat.Region, q moat.WebStatsQuery) ([]moat.WebStatusPoint, error)
	DomainTopAttacks(ctx context.Context, c moat.Caller, region moat.Region, start, end time.Time) ([]moat.WebAttackTop, error)
	DomainAttackEvents(ctx context.Context, c moat.Caller, region moat.Region, q moat.WebEventQuery) ([]moat.WebAttackView, int64, error)
}

// Rules is what the forwarding-rule handlers need of moat: port rules with
// their protection settings and health checks, websites and certificates,
// source lists and the UDP reflection filter.
type Rules interface {
	CreatePortRules(ctx context.Context, c moat.Caller, region moat.Region, rules []moat.PortRule, requestID string) error
	ModifyPortRules(ctx context.Context, c moat.Caller, region moat.Region, changes []moat.PortChange, requestID string) error
	DeletePortRules(ctx context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey, requestID string) error
	PortRules(ctx context.Context, c moat.Caller, region moat.Region, q moat.PortQuery) (moat.PortPage, error)
	LookupPortRules(ctx context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey) ([]moat.PortRule, error)
	ModifyRuleConfig(ctx context.Context, c moat.Caller, region moat.Region, k moat.PortKey, p moat.RuleConfigPatch, requestID string) error
	ModifyHealthCheck(ctx context.Context, c moat.Caller, region moat.Region, k moat.PortKey, h moat.HealthCheck, requestID string) error
	HealthStatuses(ctx context.Context, c moat.Caller, region moat.Region, keys []moat.PortKey) ([]moat.HealthStatus, error)
	RuleUsage(ctx context.Context, c moat.Caller, region moat.Region, ids []string) (map[string]moat.RuleCount, error)

	CreateWebRule(ctx context.Context, c moat.Caller, region moat.Region, w moat.WebRule, requestID string) error
	ModifyWebRule(ctx context.Context, c moat.Caller, region moat.Region, w moat.WebRule, keepHTTPSExt bool, requestID string) error
	DeleteWebRule(ctx context.Context, c moat.Caller, region moat.Region, domain, requestID string) error
	WebRules(ctx context.Context, c moat.Caller, region moat.Region, q moat.WebQuery) ([]moat.WebRuleView, int64, error)
	Domains(ctx context.Context, c moat.Caller, region moat.Region, instanceIDs []string) ([]string, error)
	AssociateWebCert(ctx context.Context, c moat.Caller, region moat.Region, domain string, nc moat.NewCert, requestID string) error
	Certs(ctx context.Context, c moat.Caller, region moat.Region, domain string) ([]moat.CertView, error)

	SetWebCC(ctx context.Context, c moat.Caller, region moat.Region, domain string, on bool, requestID string) error
	SetWebCCMode(ctx context.Context, c moat.Caller, region moat.Region, domain, mode, requestID string) error
	PutWebCCRules(ctx context.Context, c moat.Caller, region moat.Region, domain string, rules []moat.CCRule, period int64, requestID string) error
	DeleteWebCCRules(ctx context.Context, c moat.Caller, region moat.Region, domain string, names []string, requestID string) error
	SetWebIPSets(ctx context.Context, c moat.Caller, region moat.Region, domain string, black, white []string, requestID string) error
	PutPreciseRules(ctx context.Context, c moat.Caller, region moat.Region, domain string, rules []moat.PreciseRule, period int64, requestID string) error
	DeletePreciseRules(ctx context.Context, c moat.Caller, region moat.Region, domain string, names []string, requestID string) error
	WebProtection(ctx context.Context, c moat.Caller, region moat.Region, domain string) (moat.WebProtection, error)
	WebProtections(ctx context.Context, c moat.Caller, region moat.Region, domains []string) (map[string]moat.WebProtection, error)
	SetWebPolicy(ctx context.Context, c moat.Caller, region moat.Region, domain, mode string, weights []moat.OriginWeight, requestID string) error
	WebPolicy(ctx context.Context, c moat.Caller, region moat.Region, domain string, only []string) (moat.WebPolicyView, error)

	AddSourceEntries(ctx context.Context, c moat.Caller, region moat.Region, id string, list moat.SourceListKind, ips []string, ttl time.Duration, requestID string) error
	DeleteSourceEntries(ctx context.Context, c moat.Caller, region moat.Region, id string, list moat.SourceListKind, ips []string, requestID string) error
	EmptySourceList(ctx context.Context, c moat.Caller, region moat.Region, id string, list moat.SourceListKind, requestID string) error
	SourceEntries(ctx context.Context, c moat.Caller, region moat.Region, id string, list moat.SourceListKind, q moat.SourceQuery) ([]moat.SourceEntry, int64, error)
	SourceCounts(ctx context.Context, c moat.Caller, region moat.Region, id, typ string) (black, white int, err error)
	SetUDPReflect(ctx context.Context, c moat.Caller, region moat.Region, id string, ports []int, requestID string) error
	UDPReflect(ctx context.Context, c moat.Caller, region moat.Region, id string) ([]int, error)
}

var _ Service = (*moat.Service)(nil)

// instanceParams names the ddoscoo parameters that the instance listings'
// domain inputs come from, for moat.Rename.
var instanceParams = map[string]string{
	"IDs":      "InstanceIds",
	"IDs.1":    "InstanceIds.1",
	"Statuses": "Status",
	"Tags":     "Tag",
}

// tagParams names the parameters of the tag calls that their domain
// inputs come from, for moat.Rename: the instance IDs, the keys to remove
// and DescribeTagResources' tag filters. Tags (Tags.N.Key, Tags.N.Value),
// ResourceType and NextToken are the domain's names too.
var tagParams = map[string]string{
	"IDs":     "ResourceIds",
	"IDs.1":   "ResourceIds.1",
	"Keys":    "TagKey",
	"Filters": "Tags",
}
