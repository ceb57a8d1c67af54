package moat

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// RuleService holds the forwarding configuration of instances: port rules
// with their protection settings and health checks (rules_ports.go),
// websites and their certificates (rules_web.go), source lists and the
// UDP reflection filter (rules_lists.go).
//
// Rules of the product, for all of them: the caller's instance in the
// call's region only (another account's or region's is not found); rules
// survive expiry and the seven days after, and renewal keeps them; while
// an instance's forwarding is stopped (seven days after expiry, Enabled 0)
// its configuration can be read and deleted but not created or changed
// (InstanceExpired); releasing an instance deletes all of it in the same
// transaction. Every change is an event naming its Subject.
type RuleService struct {
	*core
	sealer Sealer
	// health reports the origins' health; nil reports every origin
	// normal (see HealthStatuses).
	health HealthSource
}

// HealthSource reports what health checks observed of a rule's origins;
// the data plane implements it.
type HealthSource interface {
	OriginHealth(k PortKey, origins []string) []OriginStatus
}

// SetHealthSource installs the data plane's health observations.
func (s *RuleService) SetHealthSource(h HealthSource) { s.health = h }

// Page bounds of the rule listings.
const (
	DefaultRulePageSize = 10
	MaxRulePageSize     = 100
)

// rulePage turns a page number and size (0: defaults) into an offset and
// limit, refusing sizes above MaxRulePageSize.
func rulePage(number, size int) (offset, limit int, err error) {
	if number == 0 {
		number = 1
	}
	if size == 0 {
		size = DefaultRulePageSize
	}
	if number < 1 {
		return 0, 0, InvalidParam("PageNumber", "a positive integer")
	}
	if size < 1 || size > MaxRulePageSize {
		return 0, 0, InvalidParamValue("PageSize", fmt.Sprint(size), fmt.Sprintf("a page holds 1 to %d entries", MaxRulePageSize))
	}
	if number > (1<<31)/size {
		return 0, 0, InvalidParamValue("PageNumber", fmt.Sprint(number), "the page is beyond any listing")
	}
	return (number - 1) * size, size, nil
}

// changeable loads the caller's instance for a change of its forwarding
// configuration: refused while its forwarding is stopped.
func (s *RuleService) changeable(tx Tx, c Caller, region Region, id string, now time.Time) (Instance, error) {
	in, err := tx.Instance(id)
	if in, err = ownInstance(in, err, c, region, id); err != nil {
		return Instance{}, err
	}
	if !in.Forwarding(now) {
		return Instance{}, Errorf(CodeInstanceExpired, "The instance %q stopped forwarding at %s, seven days after it expired; renew it before changing its forwarding configuration (reading and deleting it is allowed).",
			id, in.ExpireTime.Add(ForwardingGrace).UTC().Format(time.RFC3339))
	}
	return in, nil
}

// owned loads the caller's instance, whatever its state.
func (s *RuleService) owned(tx Tx, c Caller, region Region, id string) (Instance, error) {
	in, err := tx.Instance(id)
	return ownInstance(in, err, c, region, id)
}

// ownedRead checks, outside a transaction, that id is the caller's
// instance in region.
func (s *RuleService) ownedRead(ctx context.Context, c Caller, region Region, id string) (Instance, error) {
	in, err := s.store.Instance(ctx, id)
	return ownInstance(in, err, c, region, id)
}

func (s *RuleService) event(tx Tx, in Instance, now time.Time, typ EventType, subject, requestID, reason string) error {
	ev := Event{Time: now, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: typ, RequestID: requestID, Subject: subject, Reason: reason}
	return tx.AppendEvent(&ev)
}

// checkPortRule checks a new rule's fields and returns it canonical.
func checkPortRule(r PortRule) (PortRule, error) {
	var err error
	if r.InstanceID == "" {
		return r, MissingParam("InstanceId")
	}
	if r.Protocol, err = CheckProtocol("Protocol", r.Protocol); err != nil {
		return r, err
	}
	if err = CheckPort("FrontendPort", r.FrontendPort); err != nil {
		return r, err
	}
	if err = CheckPort("BackendPort", r.BackendPort); err != nil {
		return r, err
	}
	if r.RealServers, err = CheckOrigins("RealServers", r.RealServers); err != nil {
		return r, err
	}
	return r, nil
}

func ruleExists(k PortKey) error {
	return Errorf(CodeNetworkRuleExist, "The instance %q already has a %s rule for port %d; modify that rule or delete it first.", k.InstanceID, k.Protocol, k.FrontendPort)
}

func ruleNotExist(k PortKey) error {
	return Errorf(CodeNetworkRuleNotExist, "The instance %q has no %s rule for port %d.", k.InstanceID, k.Protocol, k.FrontendPort)
}

// CreatePortRules adds port rules, all or none (CreatePort adds one,
// CreateNetworkRules several). Each instance keeps within its PortCount,
// a (protocol, port) is unique on an instance, and a TCP port that one of
// the instance's websites listens on cannot also be a port rule.
func (s *RuleService) CreatePortRules(ctx context.Context, c Caller, region Region, rules []PortRule, requestID string) error {
	if len(rules) == 0 {
		return MissingParam("NetworkRules")
	}
	seen := map[PortKey]bool{}
	byInstance := map[string][]PortRule{}
	var order []string
	for i := range rules {
		r, err := checkPortRule(rules[i])
		if err != nil {
			return err
		}
		if seen[r.PortKey] {
			return InvalidParam("NetworkRules", fmt.Sprintf("the %s rule for port %d of instance %q is given twice", r.Protocol, r.FrontendPort, r.InstanceID))
		}
		seen[r.PortKey] = true
		if byInstance[r.InstanceID] == nil {
			order = append(order, r.InstanceID)
		}
		byInstance[r.InstanceID] = append(byInstance[r.InstanceID], r)
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		for _, id := range order {
			in, err := s.changeable(tx, c, region, id, now)
			if err != nil {
				return err
			}
			add := byInstance[id]
			n, err := tx.RuleCount(id)
			if err != nil {
				return err
			}
			if n.Ports+len(add) > in.Spec.PortCount {
				return Errorf(CodeExceedNetworkRuleLimit, "The instance %q has %d of the %d port rules its specification allows, so %d more do not fit; delete rules or raise PortCount.", id, n.Ports, in.Spec.PortCount, len(add))
			}
			webPorts, err := s.websitePorts(tx, id)
			if err != nil {
				return err
			}
			for i := range add {
				r := &add[i]
				if r.Protocol == ProtocolTCP && webPorts[r.FrontendPort] != "" {
					return Errorf(CodeNetworkRuleConflict, "Port %d of instance %q serves the website %q; a TCP port rule cannot use it too.", r.FrontendPort, id, webPorts[r.FrontendPort])
				}
				r.Config = DefaultRuleConfig()
				r.Created, r.Updated = now, now
				if err := tx.InsertPortRule(r); err != nil {
					if errors.Is(err, ErrConflict) {
						return ruleExists(r.PortKey)
					}
					return err
				}
				if err := s.event(tx, in, now, EventRuleCreated, PortSubject(r.PortKey), requestID, ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// websitePorts maps the TCP ports the websites on an instance listen on
// to one of those websites.
func (s *RuleService) websitePorts(tx Tx, instanceID string) (map[int]string, error) {
	webs, err := tx.WebRulesOf(instanceID)
	if err != nil {
		return nil, err
	}
	ports := map[int]string{}
	for _, w := range webs {
		for _, p := range w.ProxyTypes {
			for _, port := range p.Ports {
				ports[port] = w.Domain
			}
		}
	}
	return ports, nil
}

// PortChange is a new backend port and origin list for a port rule.
// BackendPort 0 keeps the rule's.
type PortChange struct {
	PortKey
	BackendPort int
	RealServers []string
}

// ModifyPortRules changes rules' origins (and backend ports), all or none
// (ModifyPort changes one, ConfigNetworkRules several).
func (s *RuleService) ModifyPortRules(ctx context.Context, c Caller, region Region, changes []PortChange, requestID string) error {
	if len(changes) == 0 {
		return MissingParam("NetworkRules")
	}
	seen := map[PortKey]bool{}
	for i := range changes {
		ch := &changes[i]
		var err error
		if ch.InstanceID == "" {
			return MissingParam("InstanceId")
		}
		if ch.Protocol, err = CheckProtocol("Protocol", ch.Protocol); err != nil {
			return err
		}
		if err = CheckPort("FrontendPort", ch.FrontendPort); err != nil {
			return err
		}
		if ch.BackendPort != 0 {
			if err = CheckPort("BackendPort", ch.BackendPort); err != nil {
				return err
			}
		}
		if ch.RealServers, err = CheckOrigins("RealServers", ch.RealServers); err != nil {
			return err
		}
		if seen[ch.PortKey] {
			return InvalidParam("NetworkRules", fmt.Sprintf("the %s rule for port %d of instance %q is given twice", ch.Protocol, ch.FrontendPort, ch.InstanceID))
		}
		seen[ch.PortKey] = true
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		ins := map[string]Instance{}
		for _, ch := range changes {
			in, ok := ins[ch.InstanceID]
			if !ok {
				var err error
				if in, err = s.changeable(tx, c, region, ch.InstanceID, now); err != nil {
					return err
				}
				ins[ch.InstanceID] = in
			}
			r, err := tx.PortRule(ch.PortKey)
			if errors.Is(err, ErrNotFound) {
				return ruleNotExist(ch.PortKey)
			}
			if err != nil {
				return err
			}
			if ch.BackendPort != 0 {
				r.BackendPort = ch.BackendPort
			}
			r.RealServers = ch.RealServers
			r.Updated = now
			if err := tx.UpdatePortRule(&r); err != nil {
				return err
			}
			if err := s.event(tx, in, now, EventRuleModified, PortSubject(r.PortKey), requestID, "origins"); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeletePortRules deletes port rules, all or none (DeletePort deletes one,
// DeleteNetworkRule several). Allowed whatever the instance's state.
func (s *RuleService) DeletePortRules(ctx context.Context, c Caller, region Region, keys []PortKey, requestID string) error {
	if len(keys) == 0 {
		return MissingParam("NetworkRule")
	}
	for i := range keys {
		k := &keys[i]
		var err error
		if k.InstanceID == "" {
			return MissingParam("InstanceId")
		}
		if k.Protocol, err = CheckProtocol("Protocol", k.Protocol); err != nil {
			return err
		}
		if err = CheckPort("FrontendPort", k.FrontendPort); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		ins := map[string]Instance{}
		for _, k := range keys {
			in, ok := ins[k.InstanceID]
			if !ok {
				var err error
				if in, err = s.owned(tx, c, region, k.InstanceID); err != nil {
					return err
				}
				ins[k.InstanceID] = in
			}
			if err := tx.DeletePortRule(k); err != nil {
				if errors.Is(err, ErrNotFound) {
					return ruleNotExist(k)
				}
				return err
			}
			if err := s.event(tx, in, now, EventRuleDeleted, PortSubject(k), requestID, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// PortRules pages through an instance's port rules (DescribePort,
// DescribeNetworkRules).
func (s *RuleService) PortRules(ctx context.Context, c Caller, region Region, q PortQuery) (PortPage, error) {
	offset, limit, err := rulePage(q.PageNumber, q.PageSize)
	if err != nil {
		return PortPage{}, err
	}
	f := PortRuleFilter{InstanceID: q.InstanceID, FrontendPort: q.FrontendPort, Offset: offset, Limit: limit}
	if q.Protocol != "" {
		if f.Protocol, err = CheckProtocol("Protocol", q.Protocol); err != nil {
			return PortPage{}, err
		}
	}
	if q.FrontendPort != 0 {
		if err := CheckPort("FrontendPort", q.FrontendPort); err != nil {
			return PortPage{}, err
		}
	}
	if q.InstanceID == "" {
		return PortPage{}, MissingParam("InstanceId")
	}
	in, err := s.ownedRead(ctx, c, region, q.InstanceID)
	if err != nil {
		return PortPage{}, err
	}
	rules, total, err := s.store.PortRulePage(ctx, f)
	if err != nil {
		return PortPage{}, err
	}
	return PortPage{Rules: rules, Total: total, Forwarding: in.Forwarding(s.clock.Now())}, nil
}

// MaxRuleLookups is how many rules one lookup (NetworkRules JSON) names.
const MaxRuleLookups = 200

// LookupPortRules returns the rules among keys that exist on the caller's
// instances in region, in the order of keys; the others (no such rule, or
// an instance that is not the caller's) are left out, as the lookups of
// the real service answer with fewer entries.
func (s *RuleService) LookupPortRules(ctx context.Context, c Caller, region Region, keys []PortKey) ([]PortRule, error) {
	if len(keys) == 0 {
		return nil, MissingParam("NetworkRules")
	}
	if len(keys) > MaxRuleLookups {
		return nil, InvalidParam("NetworkRules", fmt.Sprintf("a lookup names at most %d rules, not %d", MaxRuleLookups, len(keys)))
	}
	want := make([]PortKey, 0, len(keys))
	for _, k := range keys {
		p, err := CheckProtocol("Protocol", k.Protocol)
		if err != nil {
			return nil, err
		}
		if err := CheckPort("FrontendPort", k.FrontendPort); err != nil {
			return nil, err
		}
		if k.InstanceID == "" {
			return nil, MissingParam("InstanceId")
		}
		k.Protocol = p
		want = append(want, k)
	}
	ids := make([]string, 0, len(want))
	seen := map[string]bool{}
	for _, k := range want {
		if !seen[k.InstanceID] {
			seen[k.InstanceID] = true
			ids = append(ids, k.InstanceID)
		}
	}
	mine, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IDs: ids})
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, in := range mine {
		own[in.ID] = true
	}
	kept := want[:0]
	for _, k := range want {
		if own[k.InstanceID] {
			kept = append(kept, k)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	return s.store.PortRulesByKey(ctx, kept)
}

// ModifyRuleConfig merges a patch into a rule's protection settings
// (ModifyNetworkRuleAttribute): fields the patch leaves out keep their
// value.
func (s *RuleService) ModifyRuleConfig(ctx context.Context, c Caller, region Region, k PortKey, p RuleConfigPatch, requestID string) error {
	// Check the patch once before the transaction, so that bad input
	// costs no write.
	probe := DefaultRuleConfig()
	if err := probe.Apply(p); err != nil {
		return err
	}
	return s.changeRule(ctx, c, region, k, requestID, "protection settings", func(r *PortRule) error { return r.Config.Apply(p) })
}

// ModifyHealthCheck replaces a rule's health check
// (ModifyHealthCheckConfig); Type "" turns it off.
func (s *RuleService) ModifyHealthCheck(ctx context.Context, c Caller, region Region, k PortKey, h HealthCheck, requestID string) error {
	p, err := CheckProtocol("Protocol", k.Protocol)
	if err != nil {
		return err
	}
	if _, err := CheckHealthCheck(p, h); err != nil {
		return err
	}
	return s.changeRule(ctx, c, region, k, requestID, "health check", func(r *PortRule) (err error) {
		r.HealthCheck, err = CheckHealthCheck(r.Protocol, h)
		return err
	})
}

// changeRule applies change to an existing rule of a changeable instance
// and records a rule_modified event saying what changed.
func (s *RuleService) changeRule(ctx context.Context, c Caller, region Region, k PortKey, requestID, what string, change func(r *PortRule) error) error {
	var err error
	if k.Protocol, err = CheckProtocol("Protocol", k.Protocol); err != nil {
		return err
	}
	if err := CheckPort("FrontendPort", k.FrontendPort); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		in, err := s.changeable(tx, c, region, k.InstanceID, now)
		if err != nil {
			return err
		}
		r, err := tx.PortRule(k)
		if errors.Is(err, ErrNotFound) {
			return ruleNotExist(k)
		}
		if err != nil {
			return err
		}
		if err := change(&r); err != nil {
			return err
		}
		r.Updated = now
		if err := tx.UpdatePortRule(&r); err != nil {
			return err
		}
		return s.event(tx, in, now, EventRuleModified, PortSubject(k), requestID, what)
	})
}

// HealthStatuses reports the health of the rules among keys
// (DescribeHealthCheckStatus), as LookupPortRules finds them. A rule is
// abnormal when any of its origins is. Without a data plane reporting
// observations every origin is normal: nothing has been seen to fail.
func (s *RuleService) HealthStatuses(ctx context.Context, c Caller, region Region, keys []PortKey) ([]HealthStatus, error) {
	rules, err := s.LookupPortRules(ctx, c, region, keys)
	if err != nil {
		return nil, err
	}
	out := make([]HealthStatus, 0, len(rules))
	for _, r := range rules {
		var origins []OriginStatus
		if s.health != nil {
			origins = s.health.OriginHealth(r.PortKey, r.RealServers)
		} else {
			for _, a := range r.RealServers {
				origins = append(origins, OriginStatus{Address: a, Status: HealthNormal})
			}
		}
		st := HealthNormal
		for _, o := range origins {
			if o.Status != HealthNormal {
				st = HealthAbnormal
			}
		}
		out = append(out, HealthStatus{PortKey: r.PortKey, Status: st, RealServers: origins})
	}
	return out, nil
}

// RuleUsage counts the port rules, websites and sites of the caller's
// instances among ids in region (DescribeInstanceStatistics' PortUsage,
// DomainUsage and SiteUsage); others are absent.
func (s *RuleService) RuleUsage(ctx context.Context, c Caller, region Region, ids []string) (map[string]RuleCount, error) {
	if len(ids) == 0 {
		return map[string]RuleCount{}, nil
	}
	mine, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IDs: ids})
	if err != nil {
		return nil, err
	}
	own := make([]string, 0, len(mine))
	for _, in := range mine {
		own = append(own, in.ID)
	}
	sort.Strings(own)
	if len(own) == 0 {
		return map[string]RuleCount{}, nil
	}
	counts, err := s.store.RuleCounts(ctx, own)
	if err != nil {
		return nil, err
	}
	for id, n := range counts {
		if n.Domains == 0 {
			continue
		}
		domains, err := s.Domains(ctx, c, region, []string{id})
		if err != nil {
			return nil, err
		}
		sites := map[string]bool{}
		for _, d := range domains {
			sites[PrimaryDomain(d)] = true
		}
		n.Sites = len(sites)
		counts[id] = n
	}
	return counts, nil
}

// PrimaryDomain is the registrable domain a website belongs to: its
// public suffix and one label more (www.example.co.uk: example.co.uk),
// from the Public Suffix List.
func PrimaryDomain(domain string) string {
	d := strings.TrimPrefix(domain, "*.")
	if p, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return p
	}
	return d
}
