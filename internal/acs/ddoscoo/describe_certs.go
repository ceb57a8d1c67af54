package ddoscoo

import (
	"context"
	"fmt"

	"moat/internal/acs"
	"moat/internal/moat"
)

// DescribeCertsRequest is DescribeCerts' parameters.
type DescribeCertsRequest struct {
	// Domain marks the certificate that website serves (DomainRelated).
	Domain string `acs:"Domain,domain"`
	// ResourceGroupId is accepted: certificates belong to no resource
	// group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// CertItem is a certificate as DescribeCerts shows it: dates are
// "2006-01-02" (UTC), CertIdentifier is "<Id>-<region>".
type CertItem struct {
	Id             int64
	Name           string
	Common         string
	Issuer         string
	StartDate      string
	EndDate        string
	DomainRelated  bool
	CertIdentifier string
}

// DescribeCertsResponse is DescribeCerts' body.
type DescribeCertsResponse struct {
	acs.Response
	Certs []CertItem
}

// DescribeCerts lists the caller's certificates.
func (h *handlers) DescribeCerts(ctx context.Context, call *acs.Call, req *DescribeCertsRequest) (*DescribeCertsResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	certs, err := h.svc.Certs(ctx, call.Caller, region, req.Domain)
	if err != nil {
		return nil, err
	}
	resp := &DescribeCertsResponse{Certs: make([]CertItem, 0, len(certs))}
	for _, c := range certs {
		resp.Certs = append(resp.Certs, certItemOf(c))
	}
	return resp, nil
}

func certItemOf(c moat.CertView) CertItem {
	const day = "2006-01-02"
	return CertItem{
		Id: c.ID, Name: c.Name, Common: c.Common, Issuer: c.Issuer,
		StartDate: c.NotBefore.UTC().Format(day), EndDate: c.NotAfter.UTC().Format(day),
		DomainRelated: c.DomainRelated, CertIdentifier: fmt.Sprintf("%d-%s", c.ID, c.Region),
	}
}
