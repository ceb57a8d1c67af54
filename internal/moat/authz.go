package moat

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RAM action names: the service prefix of each product in policies.
const (
	RAMServiceDdoscoo = "yundun-ddoscoo"
	RAMServiceBSS     = "bss"
)

// policyCacheTTL is how long a user's compiled policies are reused. Changes
// made through this process apply at once; those of another process
// sharing the store within the TTL.
const policyCacheTTL = time.Second

type authzCache struct {
	mu       sync.Mutex
	users    map[string]cachedPolicies // account/user
	sessions map[string]Policy         // STS key id -> compiled session policy
}

type cachedPolicies struct {
	list []Policy
	at   time.Time
}

func (a *authzCache) forget(account, user string) {
	a.mu.Lock()
	delete(a.users, account+"/"+user)
	a.mu.Unlock()
}

// compile parses a policy document with the configured compiler.
func (s *core) compile(doc string) (Policy, error) {
	if s.compiler == nil {
		return nil, Internal("compile policy", fmt.Errorf("no policy compiler configured"))
	}
	return s.compiler([]byte(doc))
}

// userPolicies returns a RAM user's compiled policies.
func (s *core) userPolicies(ctx context.Context, account, user string) ([]Policy, error) {
	key := account + "/" + user
	now := s.clock.Real()
	s.authz.mu.Lock()
	if c, ok := s.authz.users[key]; ok && now.Sub(c.at) < policyCacheTTL && !now.Before(c.at) {
		s.authz.mu.Unlock()
		return c.list, nil
	}
	s.authz.mu.Unlock()
	docs, err := s.store.UserPolicies(ctx, account, user)
	if err != nil {
		return nil, err
	}
	list := make([]Policy, 0, len(docs))
	for _, d := range docs {
		p, err := s.compile(d.Document)
		if err != nil {
			// Stored documents were validated when attached; one that no
			// longer compiles denies nothing and allows nothing.
			continue
		}
		list = append(list, p)
	}
	s.authz.mu.Lock()
	if s.authz.users == nil || len(s.authz.users) > 1<<14 {
		s.authz.users = map[string]cachedPolicies{}
	}
	s.authz.users[key] = cachedPolicies{list: list, at: now}
	s.authz.mu.Unlock()
	return list, nil
}

func (s *core) sessionPolicy(c *Caller) (Policy, error) {
	if c.SessionPolicy == "" {
		return nil, nil
	}
	s.authz.mu.Lock()
	p, ok := s.authz.sessions[c.AccessKeyID]
	s.authz.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := s.compile(c.SessionPolicy)
	if err != nil {
		return nil, err
	}
	s.authz.mu.Lock()
	if s.authz.sessions == nil || len(s.authz.sessions) > 1<<14 {
		s.authz.sessions = map[string]Policy{}
	}
	s.authz.sessions[c.AccessKeyID] = p
	s.authz.mu.Unlock()
	return p, nil
}

// principal holds what an authorization needs of a caller.
type principal struct {
	c        *Caller
	user     []Policy
	session  Policy
	needTags bool
}

func (s *core) principalOf(ctx context.Context, c *Caller) (*principal, error) {
	user, err := s.userPolicies(ctx, c.AccountID, c.UserName)
	if err != nil {
		return nil, err
	}
	sess, err := s.sessionPolicy(c)
	if err != nil {
		return nil, err
	}
	p := &principal{c: c, user: user, session: sess}
	for _, pol := range user {
		p.needTags = p.needTags || pol.UsesResourceTags()
	}
	if sess != nil {
		p.needTags = p.needTags || sess.UsesResourceTags()
	}
	return p, nil
}

// decide evaluates one request: explicit deny anywhere wins; the user's
// policies must allow; an STS session policy must allow too.
func (p *principal) decide(r AccessRequest) (bool, *AccessDeniedDetail) {
	allowed := false
	for _, pol := range p.user {
		switch pol.Evaluate(r) {
		case DecisionDeny:
			return false, p.denied(r, "ExplicitDeny", "AccountLevelIdentityBasedPolicy")
		case DecisionAllow:
			allowed = true
		}
	}
	if p.session != nil {
		switch p.session.Evaluate(r) {
		case DecisionDeny:
			return false, p.denied(r, "ExplicitDeny", "SessionPolicy")
		case DecisionNoMatch:
			if allowed {
				return false, p.denied(r, "ImplicitDeny", "SessionPolicy")
			}
		}
	}
	if !allowed {
		return false, p.denied(r, "ImplicitDeny", "AccountLevelIdentityBasedPolicy")
	}
	return true, nil
}

func (p *principal) denied(r AccessRequest, kind, policyType string) *AccessDeniedDetail {
	return &AccessDeniedDetail{
		AuthAction: r.Action, AuthPrincipalType: string(p.c.Type), AuthPrincipalOwnerId: p.c.AccountID,
		AuthPrincipalDisplayName: p.c.UserName, NoPermissionType: kind, PolicyType: policyType,
	}
}

func forbidden(d *AccessDeniedDetail) error {
	e := Errorf(CodeForbiddenRAM, "User not authorized to operate on the specified resource, or this API doesn't support RAM.")
	e.AccessDenied = d
	return e
}

func (s *core) request(c *Caller, action, resource string, tags map[string]string) AccessRequest {
	return AccessRequest{Action: action, Resource: resource, SourceIP: c.Env.SourceIP, SecureTransport: c.Env.SecureTransport,
		CurrentTime: s.clock.Real(), ResourceTags: tags}
}

// Authorize decides whether the caller may perform action (a RAM action
// name) on the given instances of a region, or, with none, on "*". The
// account's own keys may do everything. Instances are named by their ARN
// in the caller's account whether or not they exist, so an ID of another
// account is judged exactly like an unknown one.
func (s *IdentityService) Authorize(ctx context.Context, c *Caller, action string, region Region, ids []string) error {
	if c.Type == PrincipalAccount || c.Type == "" {
		return nil
	}
	p, err := s.principalOf(ctx, c)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		if ok, d := p.decide(s.request(c, action, "*", nil)); !ok {
			return forbidden(d)
		}
		return nil
	}
	tags := map[string][]Tag{}
	if p.needTags {
		if tags, err = s.ownedTags(ctx, c, region, ids); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if ok, d := p.decide(s.request(c, action, ARN(region, c.AccountID, id), tagMap(tags[id]))); !ok {
			return forbidden(d)
		}
	}
	return nil
}

// ownedTags loads the tags of those of ids that are the caller's instances
// in the region (others have none, as if they did not exist).
func (s *core) ownedTags(ctx context.Context, c *Caller, region Region, ids []string) (map[string][]Tag, error) {
	list, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IDs: ids})
	if err != nil {
		return nil, err
	}
	own := make([]string, len(list))
	for i, in := range list {
		own[i] = in.ID
	}
	return s.store.TagsOf(ctx, own)
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// uniformPolicy is implemented by compiled policies that can tell whether
// their decision on an action is the same for every resource under an ARN
// prefix (no per-resource pattern or tag condition applies).
type uniformPolicy interface {
	Uniform(action, prefix string) bool
}

// ListAccess decides what a listing shows the caller: for the account's
// keys, or a principal whose policies decide the same for every instance
// of the region, nil (everything) or Forbidden.RAM; otherwise an Access
// that admits instance by instance. An empty region is a listing across
// every region (BSS QueryAvailableInstances without one): no ARN has an
// empty region, so each region is judged with its own ARNs, and a
// principal allowed in some regions only sees those regions' instances.
func (s *IdentityService) ListAccess(ctx context.Context, c *Caller, action string, region Region) (*Access, error) {
	if c.Type == PrincipalAccount || c.Type == "" {
		return nil, nil
	}
	p, err := s.principalOf(ctx, c)
	if err != nil {
		return nil, err
	}
	regions := []Region{region}
	if region == "" {
		regions = Regions
	}
	pols := p.user
	if p.session != nil {
		pols = append(pols[:len(pols):len(pols)], p.session)
	}
	// When every policy decides the same for all instances of each region,
	// one evaluation per region stands for all of its instances.
	uniform := true
	permitted := make(map[Region]bool, len(regions))
	var refusal *AccessDeniedDetail
	for _, r := range regions {
		prefix := ARN(r, c.AccountID, "")
		for _, pol := range pols {
			u, ok := pol.(uniformPolicy)
			uniform = uniform && ok && u.Uniform(action, prefix)
		}
		if !uniform {
			break
		}
		ok, d := p.decide(s.request(c, action, prefix+"*", nil))
		permitted[r] = ok
		if !ok && refusal == nil {
			refusal = d
		}
	}
	if uniform {
		allowedSome := false
		for _, ok := range permitted {
			allowedSome = allowedSome || ok
		}
		switch {
		case refusal == nil:
			return nil, nil
		case !allowedSome:
			return nil, forbidden(refusal)
		}
		return &Access{Permit: func(in *Instance, _ map[string]string) bool { return permitted[in.Region] }}, nil
	}
	now := s.clock.Real()
	return &Access{
		NeedTags: p.needTags,
		Permit: func(in *Instance, tags map[string]string) bool {
			// Always the instance's own region and account: never the
			// listing's, which may be empty.
			r := AccessRequest{Action: action, Resource: ARN(in.Region, in.AccountID, in.ID), SourceIP: c.Env.SourceIP,
				SecureTransport: c.Env.SecureTransport, CurrentTime: now, ResourceTags: tags}
			ok, _ := p.decide(r)
			return ok
		},
	}, nil
}

// scanBatch is how many instances a per-instance listing reads and judges
// at a time.
const scanBatch = 1000

// visible is the store's page of f, narrowed to what the caller's Access
// admits: every match is read and judged (a RAM user whose policies admit
// instance by instance costs a read of every match), in batches, keeping
// only the page, so memory does not grow with the account.
func (s *core) visible(ctx context.Context, c *Caller, f InstanceFilter) ([]Instance, int64, error) {
	if c.Access == nil {
		return s.store.InstancePage(ctx, f)
	}
	offset, limit := int64(f.Offset), f.Limit
	var total int64
	page := []Instance{}
	err := s.eachVisible(ctx, c, f, func(batch []Instance) error {
		for _, in := range batch {
			if total >= offset && (limit <= 0 || len(page) < limit) {
				page = append(page, in)
			}
			total++
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return page, total, nil
}

// eachVisible calls fn with the matches of f the caller's Access admits,
// in listing order and in batches.
func (s *core) eachVisible(ctx context.Context, c *Caller, f InstanceFilter, fn func([]Instance) error) error {
	return s.scan(ctx, c.AccountID, f, func(batch []Instance) error {
		kept, err := s.admit(ctx, c, batch)
		if err != nil || len(kept) == 0 {
			return err
		}
		return fn(kept)
	})
}

// admit keeps the instances the caller's Access permits.
func (s *core) admit(ctx context.Context, c *Caller, list []Instance) ([]Instance, error) {
	if c.Access == nil {
		return list, nil
	}
	var tags map[string][]Tag
	if c.Access.NeedTags && len(list) > 0 {
		ids := make([]string, len(list))
		for i, in := range list {
			ids[i] = in.ID
		}
		var err error
		if tags, err = s.store.TagsOf(ctx, ids); err != nil {
			return nil, err
		}
	}
	kept := list[:0:0]
	for i := range list {
		if c.Access.Permit(&list[i], tagMap(tags[list[i].ID])) {
			kept = append(kept, list[i])
		}
	}
	return kept, nil
}
