package moat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ClientTokenWindow is how long a ClientToken makes a billing call
// idempotent (the BSS documentation: the same token within 24 hours).
const ClientTokenWindow = 24 * time.Hour

// MaxClientTokenLength bounds a ClientToken (BSS: at most 64 ASCII
// characters).
const MaxClientTokenLength = 64

// ClientToken remembers the outcome of a billing call made with a token.
type ClientToken struct {
	AccountID  string
	Action     string
	Token      string
	ParamsHash string // the call's parameters; a reuse with others is refused
	InstanceID string
	OrderID    string
	CreatedAt  time.Time
}

// Order is the result of a billing call.
type Order struct {
	OrderID    string
	InstanceID string
}

// BuyRequest is BSS CreateInstance.
type BuyRequest struct {
	ProductType   ProductType
	Period        int // months
	RenewalStatus RenewalStatus
	RenewPeriod   int // months; auto-renewal length (default: Period)
	Params        []Param
	ClientToken   string
	RequestID     string
}

func paramsHash(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func validClientToken(t string) error {
	if len(t) > MaxClientTokenLength {
		return InvalidParam("ClientToken", fmt.Sprintf("at most %d characters", MaxClientTokenLength))
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return InvalidParam("ClientToken", "printable ASCII only")
		}
	}
	return nil
}

// idempotent runs do once per (account, action, token) within the window:
// a repeat with the same parameters gets the first call's order, one with
// other parameters IdempotentParameterMismatch. It runs inside tx, so
// concurrent repeats are serialised by the store.
func (s *BillingService) idempotent(tx Tx, c Caller, action, token, hash string, now time.Time, do func() (Order, error)) (Order, error) {
	if token != "" {
		rec, err := tx.ClientToken(c.AccountID, action, token)
		switch {
		case err == nil && now.Sub(rec.CreatedAt) < ClientTokenWindow:
			if rec.ParamsHash != hash {
				return Order{}, Errorf(CodeIdempotentParameterMismatch, "ClientToken %q was used within the last 24 hours for a %s call with other parameters.", token, action)
			}
			return Order{OrderID: rec.OrderID, InstanceID: rec.InstanceID}, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return Order{}, err
		}
	}
	o, err := do()
	if err != nil || token == "" {
		return o, err
	}
	return o, tx.PutClientToken(ClientToken{AccountID: c.AccountID, Action: action, Token: token, ParamsHash: hash,
		InstanceID: o.InstanceID, OrderID: o.OrderID, CreatedAt: now})
}

// BuyInstance creates an instance as BSS CreateInstance does: for Period
// months, with the specification of its parameters, an IP from the
// region's pool and a new order.
func (s *BillingService) BuyInstance(ctx context.Context, c Caller, r BuyRequest) (Order, error) {
	if _, err := ParseProductType(string(r.ProductType)); err != nil {
		return Order{}, err
	}
	if r.RenewalStatus == "" {
		r.RenewalStatus = RenewalManual
	}
	if _, err := ParseRenewalStatus("RenewalStatus", string(r.RenewalStatus)); err != nil {
		return Order{}, err
	}
	if err := ValidPeriod("Period", r.Period); err != nil {
		return Order{}, err
	}
	if r.RenewPeriod == 0 {
		r.RenewPeriod = r.Period
	}
	if err := ValidPeriod("RenewPeriod", r.RenewPeriod); err != nil {
		return Order{}, err
	}
	if err := validClientToken(r.ClientToken); err != nil {
		return Order{}, err
	}
	spec := DefaultSpec(r.ProductType)
	if err := ApplyParams(&spec, r.ProductType, r.Params); err != nil {
		return Order{}, err
	}
	if err := spec.Validate(r.ProductType); err != nil {
		return Order{}, err
	}
	region := r.ProductType.Region()
	pool, ok := s.pools[region]
	if !ok {
		return Order{}, Errorf(CodeInvalidRegionID, "No IP pool is configured for region %s.", region)
	}
	sorted := slices.Clone(r.Params)
	slices.SortFunc(sorted, func(a, b Param) int { return strings.Compare(a.Code, b.Code) })
	hash := paramsHash(r.ProductType, r.Period, r.RenewalStatus, r.RenewPeriod, sorted)
	var order Order
	err := s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		var err error
		order, err = s.idempotent(tx, c, "CreateInstance", r.ClientToken, hash, now, func() (Order, error) {
			acct, err := tx.Account(c.AccountID)
			if err != nil {
				return Order{}, err
			}
			in := Instance{
				AccountID: c.AccountID, Region: region, Edition: editionOf(r.ProductType, spec),
				ResourceGroupID: acct.ResourceGroupID,
				CreateTime:      now.Truncate(time.Millisecond),
				ExpireTime:      AddMonths(now, r.Period).Truncate(time.Millisecond),
				ProductType:     r.ProductType, Spec: spec,
				RenewalStatus: r.RenewalStatus, RenewPeriod: r.RenewPeriod,
			}
			in.Phase = noticePhase(in.ExpireTime, now)
			if err := s.insertInstance(tx, &in, pool); err != nil {
				return Order{}, err
			}
			o := Order{OrderID: NewOrderID(), InstanceID: in.ID}
			ev := Event{Time: now, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region,
				Type: EventCreated, RequestID: r.RequestID, Reason: "CreateInstance order " + o.OrderID}
			return o, tx.AppendEvent(&ev)
		})
		return err
	})
	return order, err
}

// editionOf is the DescribeInstances edition of a purchase: Pro is the
// Profession edition; Premium's follows its ProductPlan.
func editionOf(p ProductType, s Spec) int {
	if p == ProductDdosDip {
		return s.ProductPlan
	}
	return EditionProfession
}

// RenewRequest is BSS RenewInstance.
type RenewRequest struct {
	InstanceID  string
	ProductType ProductType
	RenewPeriod int // months
	ClientToken string
	RequestID   string
}

// RenewInstance extends an instance by RenewPeriod months from its current
// expiry. It is allowed before expiry and up to RenewalGrace (30 days)
// after it: seven days after expiry forwarding stops, and renewal restores
// it until the thirtieth day; a renewed expired instance is normal again
// at once: it forwards and mitigates, and its next expiry will be
// announced anew.
func (s *BillingService) RenewInstance(ctx context.Context, c Caller, r RenewRequest) (Order, error) {
	if err := ValidPeriod("RenewPeriod", r.RenewPeriod); err != nil {
		return Order{}, err
	}
	if err := validClientToken(r.ClientToken); err != nil {
		return Order{}, err
	}
	hash := paramsHash(r.InstanceID, r.ProductType, r.RenewPeriod)
	var order Order
	err := s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		var err error
		order, err = s.idempotent(tx, c, "RenewInstance", r.ClientToken, hash, now, func() (Order, error) {
			in, err := tx.Instance(r.InstanceID)
			if in, err = ownProduct(in, err, c, r.ProductType, r.InstanceID); err != nil {
				return Order{}, err
			}
			if !now.Before(in.ExpireTime.Add(RenewalGrace)) {
				return Order{}, Errorf(CodeInstanceNotRenewable, "The instance %q expired at %s, 30 days or more ago; it can no longer be renewed.", in.ID, in.ExpireTime.UTC().Format(time.RFC3339))
			}
			// Announce what fell due before the renewal, so the history
			// reads expired, renewed.
			if err := s.applyTransitions(tx, &in, now, now); err != nil {
				return Order{}, err
			}
			in.ExpireTime = AddMonths(in.ExpireTime, r.RenewPeriod)
			in.Phase = noticePhase(in.ExpireTime, now)
			if err := tx.UpdateInstance(&in); err != nil {
				return Order{}, err
			}
			o := Order{OrderID: NewOrderID(), InstanceID: in.ID}
			ev := Event{Time: now, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventRenewed,
				RequestID: r.RequestID, Reason: fmt.Sprintf("RenewInstance order %s: %d months, now expires %s", o.OrderID, r.RenewPeriod, in.ExpireTime.UTC().Format(time.RFC3339))}
			if err := tx.AppendEvent(&ev); err != nil {
				return Order{}, err
			}
			n := instanceNotice(&in, NoticeRenewed, now)
			n.RequestId = r.RequestID
			return o, notify(tx, &n)
		})
		return err
	})
	return order, err
}

// ownProduct narrows ownInstance to instances bought as product p (in its
// region): an Anti-DDoS Pro instance of the China site is not addressed as
// ddoscoo_intl, nor the reverse.
func ownProduct(in Instance, err error, c Caller, p ProductType, id string) (Instance, error) {
	in, err = ownInstance(in, err, c, p.Region(), id)
	if err == nil && in.ProductType != p {
		return Instance{}, instanceNotFound(id)
	}
	return in, err
}

// ModifyRequest is BSS ModifyInstance, or ddoscoo's own ModifyInstance.
type ModifyRequest struct {
	InstanceID  string
	ProductType ProductType
	ModifyType  ModifyType
	Params      []Param
	ClientToken string
	RequestID   string
}

// ModifyInstanceSpec upgrades or downgrades an instance's specification.
// An expired instance cannot be modified (renew it first).
func (s *BillingService) ModifyInstanceSpec(ctx context.Context, c Caller, r ModifyRequest) (Order, error) {
	if err := validClientToken(r.ClientToken); err != nil {
		return Order{}, err
	}
	sorted := slices.Clone(r.Params)
	slices.SortFunc(sorted, func(a, b Param) int { return strings.Compare(a.Code, b.Code) })
	hash := paramsHash(r.InstanceID, r.ProductType, r.ModifyType, sorted)
	var order Order
	err := s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		var err error
		order, err = s.idempotent(tx, c, "ModifyInstance", r.ClientToken, hash, now, func() (Order, error) {
			in, err := tx.Instance(r.InstanceID)
			if in, err = ownProduct(in, err, c, r.ProductType, r.InstanceID); err != nil {
				return Order{}, err
			}
			if in.Status(now) != StatusNormal {
				return Order{}, Errorf(CodeInstanceExpired, "The instance %q has expired; renew it before changing its specification.", in.ID)
			}
			next, err := in.Spec.Modify(r.ModifyType, r.Params, in.ProductType)
			if err != nil {
				return Order{}, err
			}
			in.Spec = next
			in.Edition = editionOf(in.ProductType, next)
			if in.ProductType != ProductDdosDip {
				in.Edition = EditionProfession
			}
			if err := tx.UpdateInstance(&in); err != nil {
				return Order{}, err
			}
			o := Order{OrderID: NewOrderID(), InstanceID: in.ID}
			var changed []string
			for _, p := range sorted {
				changed = append(changed, p.Code+"="+p.Value)
			}
			ev := Event{Time: now, RecordedAt: now, InstanceID: in.ID, AccountID: in.AccountID, Region: in.Region, Type: EventModified,
				RequestID: r.RequestID, Reason: fmt.Sprintf("%s order %s: %s", r.ModifyType, o.OrderID, strings.Join(changed, ", "))}
			return o, tx.AppendEvent(&ev)
		})
		return err
	})
	return order, err
}

// MaxRenewalIDs bounds SetRenewal's and BillingQuery's IDs.
const MaxRenewalIDs = 100

// SetRenewal sets the renewal status (and the auto-renewal length,
// renewPeriod months, as Instance.RenewPeriod) of instances of one
// product. Its errors name the inputs IDs and RenewPeriod.
func (s *BillingService) SetRenewal(ctx context.Context, c Caller, p ProductType, ids []string, status RenewalStatus, renewPeriod int) error {
	if len(ids) == 0 {
		return MissingParam("IDs")
	}
	if len(ids) > MaxRenewalIDs {
		return InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxRenewalIDs))
	}
	if status == RenewalAuto || renewPeriod != 0 {
		if err := ValidPeriod("RenewPeriod", renewPeriod); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			in, err := tx.Instance(id)
			if in, err = ownProduct(in, err, c, p, id); err != nil {
				return err
			}
			in.RenewalStatus = status
			if renewPeriod > 0 {
				in.RenewPeriod = renewPeriod
			}
			if err := tx.UpdateInstance(&in); err != nil {
				return err
			}
		}
		return nil
	})
}

// BillingQuery is BSS QueryAvailableInstances.
type BillingQuery struct {
	ProductType ProductType // "" any
	Region      Region      // "" any
	IDs         []string
	RenewStatus RenewalStatus
	PageNum     int
	PageSize    int
	CreateFrom  *time.Time
	CreateTo    *time.Time // inclusive, to the end of its second
	EndFrom     *time.Time
	EndTo       *time.Time // inclusive, to the end of its second
}

// MaxBillingPageSize bounds QueryAvailableInstances' PageSize.
const MaxBillingPageSize = 300

// QueryInstances lists the caller's instances as BSS sees them.
func (s *BillingService) QueryInstances(ctx context.Context, c Caller, q BillingQuery) (Page, error) {
	if q.PageNum == 0 {
		q.PageNum = 1
	}
	if q.PageSize == 0 {
		q.PageSize = 20
	}
	if q.PageNum < 1 {
		return Page{}, InvalidParam("PageNum", "a positive integer")
	}
	if q.PageSize < 1 || q.PageSize > MaxBillingPageSize {
		return Page{}, InvalidParam("PageSize", fmt.Sprintf("between 1 and %d", MaxBillingPageSize))
	}
	if len(q.IDs) > MaxRenewalIDs {
		return Page{}, InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxRenewalIDs))
	}
	if q.ProductType != "" {
		if q.Region != "" && q.Region != q.ProductType.Region() {
			return Page{Instances: []InstanceView{}}, nil
		}
	}
	f := InstanceFilter{AccountID: c.AccountID, Region: q.Region, RenewalStatus: q.RenewStatus, ProductType: q.ProductType}
	if len(q.IDs) > 0 {
		f.IDs = q.IDs
	}
	if q.CreateFrom != nil {
		t := *q.CreateFrom
		f.CreateFrom = &t
	}
	// BSS times are whole seconds: an end bound includes its whole second.
	if q.CreateTo != nil {
		t := q.CreateTo.Truncate(time.Second).Add(time.Second)
		f.CreateBefore = &t
	}
	narrowExpire(&f, q.EndFrom, nil)
	if q.EndTo != nil {
		t := q.EndTo.Truncate(time.Second).Add(time.Second)
		narrowExpire(&f, nil, &t)
	}
	if q.PageNum-1 > maxOffset/q.PageSize {
		return s.pastTheEnd(ctx, &c, f)
	}
	f.Offset, f.Limit = (q.PageNum-1)*q.PageSize, q.PageSize
	list, total, err := s.visible(ctx, &c, f)
	if err != nil {
		return Page{}, err
	}
	now := s.clock.Now()
	page := Page{Total: total, Instances: make([]InstanceView, 0, len(list))}
	for _, in := range list {
		page.Instances = append(page.Instances, view(in, now))
	}
	return page, nil
}

// Instances returns the caller's instances with the given IDs in a region,
// in the order asked, for the ddoscoo calls that take a list of IDs and
// answer per instance (specs, details, statistics). An ID that is not the
// caller's in the region is InstanceNotFound. Its errors name the input
// IDs (IDs.1 for the first, when none is given).
func (s *BillingService) Instances(ctx context.Context, c Caller, region Region, ids []string) ([]InstanceView, error) {
	if len(ids) == 0 {
		return nil, MissingParam("IDs.1")
	}
	if len(ids) > MaxListIDs {
		return nil, InvalidParam("IDs", fmt.Sprintf("at most %d IDs", MaxListIDs))
	}
	list, err := s.store.Instances(ctx, InstanceFilter{AccountID: c.AccountID, Region: region, IDs: ids})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Instance, len(list))
	for _, in := range list {
		byID[in.ID] = in
	}
	now := s.clock.Now()
	out := make([]InstanceView, 0, len(ids))
	for _, id := range ids {
		in, ok := byID[id]
		if !ok {
			return nil, instanceNotFound(id)
		}
		out = append(out, view(in, now))
	}
	return out, nil
}

// InstancesPage lists the caller's instances in a region, for
// DescribeInstanceExt (an InstanceId narrows it to one).
func (s *BillingService) InstancesPage(ctx context.Context, c Caller, region Region, id string, pageNumber, pageSize int) (Page, error) {
	if pageNumber == 0 {
		pageNumber = 1
	}
	if pageSize == 0 {
		pageSize = 10
	}
	if pageNumber < 1 {
		return Page{}, InvalidParam("PageNumber", "a positive integer")
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return Page{}, InvalidParam("PageSize", fmt.Sprintf("between 1 and %d", MaxPageSize))
	}
	f := InstanceFilter{AccountID: c.AccountID, Region: region}
	if id != "" {
		f.IDs = []string{id}
	}
	if pageNumber-1 > maxOffset/pageSize {
		return s.pastTheEnd(ctx, &c, f)
	}
	f.Offset, f.Limit = (pageNumber-1)*pageSize, pageSize
	list, total, err := s.visible(ctx, &c, f)
	if err != nil {
		return Page{}, err
	}
	now := s.clock.Now()
	page := Page{Total: total, Instances: make([]InstanceView, 0, len(list))}
	for _, in := range list {
		page.Instances = append(page.Instances, view(in, now))
	}
	return page, nil
}

// pastTheEnd answers a page beyond any possible count: no instances, and
// the TotalCount of what the caller may see (for a RAM principal whose
// policies admit instance by instance, not the whole account's).
func (s *BillingService) pastTheEnd(ctx context.Context, c *Caller, f InstanceFilter) (Page, error) {
	var n int64
	var err error
	if c.Access == nil {
		n, err = s.store.CountInstances(ctx, f)
	} else {
		f.Offset, f.Limit = maxOffset+1, 0
		_, n, err = s.visible(ctx, c, f)
	}
	return Page{Total: n, Instances: []InstanceView{}}, err
}
