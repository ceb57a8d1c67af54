package bss

import (
	"context"

	"moat/internal/moat"
)

// Service is what the BSS handlers need of moat: the billing part alone.
// A handler test can give a fake.
type Service interface {
	BuyInstance(ctx context.Context, c moat.Caller, r moat.BuyRequest) (moat.Order, error)
	RenewInstance(ctx context.Context, c moat.Caller, r moat.RenewRequest) (moat.Order, error)
	ModifyInstanceSpec(ctx context.Context, c moat.Caller, r moat.ModifyRequest) (moat.Order, error)
	SetRenewal(ctx context.Context, c moat.Caller, p moat.ProductType, ids []string, status moat.RenewalStatus, renewPeriod int) error
	QueryInstances(ctx context.Context, c moat.Caller, q moat.BillingQuery) (moat.Page, error)
}

var _ Service = (*moat.BillingService)(nil)

// queryParams names the QueryAvailableInstances parameters that
// moat.BillingQuery's fields come from, for moat.Rename.
var queryParams = map[string]string{"IDs": "InstanceIDs"}

// renewalParams names the SetRenewal parameters that the domain's inputs
// come from, for moat.Rename: the IDs, and the auto-renewal length in
// months (RenewalPeriod, read in RenewalPeriodUnit).
var renewalParams = map[string]string{"IDs": "InstanceIDs", "RenewPeriod": "RenewalPeriod"}
