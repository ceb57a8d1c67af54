package ddoscoo

import (
	"context"
	"strconv"
	"strings"

	"moat/internal/acs"
	"moat/internal/moat"
)

// AssociateWebCertRequest is AssociateWebCert's parameters: the website
// (Domain) and its certificate, either one uploaded before (CertId, or
// CertIdentifier "<id>-<region>") or a new upload (CertName, Cert and Key,
// PEM).
type AssociateWebCertRequest struct {
	Domain         string `acs:"Domain,required,domain"`
	CertId         *int64 `acs:"CertId"`
	CertIdentifier string `acs:"CertIdentifier"`
	// CertRegion is the region of the certificate's store; moat keeps an
	// account's certificates in one store, so it only has to be a region.
	CertRegion string `acs:"CertRegion"`
	CertName   string `acs:"CertName"`
	Cert       string `acs:"Cert"`
	Key        string `acs:"Key"`
	// ResourceGroupId is accepted: websites belong to no resource group.
	ResourceGroupId string `acs:"ResourceGroupId"`
}

// AssociateWebCertResponse is AssociateWebCert's body.
type AssociateWebCertResponse struct {
	acs.Response
}

// AssociateWebCert sets the certificate a website serves over HTTPS.
func (h *handlers) AssociateWebCert(ctx context.Context, call *acs.Call, req *AssociateWebCertRequest) (*AssociateWebCertResponse, error) {
	region, err := call.Region()
	if err != nil {
		return nil, err
	}
	nc, err := newCertOf(req)
	if err != nil {
		return nil, err
	}
	if err := h.svc.AssociateWebCert(ctx, call.Caller, region, req.Domain, nc, call.RequestID); err != nil {
		return nil, err
	}
	return &AssociateWebCertResponse{}, nil
}

// newCertOf reads the certificate parameters: CertId or CertIdentifier
// (which must agree when both are given) names an uploaded certificate;
// without either, CertName, Cert and Key are an upload.
func newCertOf(req *AssociateWebCertRequest) (moat.NewCert, error) {
	if req.CertRegion != "" {
		if _, err := moat.ParseRegion(req.CertRegion); err != nil {
			return moat.NewCert{}, moat.InvalidParamValue("CertRegion", req.CertRegion, "cn-hangzhou or ap-southeast-1")
		}
	}
	var id int64
	if req.CertId != nil {
		if *req.CertId < 1 {
			return moat.NewCert{}, moat.InvalidParam("CertId", "a certificate ID is a positive integer")
		}
		id = *req.CertId
	}
	if req.CertIdentifier != "" {
		num, reg, ok := strings.Cut(req.CertIdentifier, "-")
		n, err := strconv.ParseInt(num, 10, 64)
		if _, rerr := moat.ParseRegion(reg); !ok || err != nil || n < 1 || strconv.FormatInt(n, 10) != num || rerr != nil {
			return moat.NewCert{}, moat.InvalidParamValue("CertIdentifier", req.CertIdentifier, "the certificate ID and its region, such as 123-cn-hangzhou")
		}
		if id != 0 && id != n {
			return moat.NewCert{}, moat.InvalidParam("CertIdentifier", "it names another certificate than CertId")
		}
		id = n
	}
	if id != 0 {
		return moat.NewCert{ID: id}, nil
	}
	return moat.NewCert{Name: req.CertName, CertPEM: req.Cert, KeyPEM: req.Key}, nil
}
