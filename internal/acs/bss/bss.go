// Package bss serves the part of the billing API (BssOpenApi, version
// 2017-12-14) that buys, renews, resizes and lists Anti-DDoS Pro/Premium
// instances: CreateInstance, RenewInstance, ModifyInstance, SetRenewal and
// QueryAvailableInstances, for ProductCode ddos only. One file per action,
// each with its wire request and response structs (Alibaba's spelling, the
// field names and JSON types of sdk-go's services/bssopenapi) and a thin
// handler that converts to the domain, makes one service call and converts
// back. Errors take the gateway's envelope and status mapping, like every
// other product's.
package bss

import (
	"strconv"
	"strings"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// Version is the API version this package serves.
const Version = "2017-12-14"

// The only product and billing method moat sells (what the Terraform
// provider and the console send to BSS for Anti-DDoS).
const (
	ProductCode      = "ddos"
	SubscriptionType = "Subscription"
)

// Product returns the BssOpenApi action table.
func Product(svc Service) *acs.Product {
	h := &handlers{svc: svc}
	return &acs.Product{
		Name:       "BssOpenApi",
		Version:    Version,
		RAMService: moat.RAMServiceBSS,
		Label:      moat.RAMServiceBSS,
		// One line per action; its file's request struct says which
		// parameters name instances (",resource") and where its region
		// comes from (acs.Regioned: ProductType, so RAM judges a BSS call
		// in the region of the product it is about).
		Actions: map[string]acs.Action{
			"CreateInstance":          acs.Handle(h.CreateInstance),
			"RenewInstance":           acs.Handle(h.RenewInstance),
			"ModifyInstance":          acs.Handle(h.ModifyInstance),
			"SetRenewal":              acs.Handle(h.SetRenewal),
			"QueryAvailableInstances": acs.Listing(h.QueryAvailableInstances),
		},
	}
}

type handlers struct {
	svc Service
}

// Envelope leads every BSS answer: Code "Success", Message "Successful!"
// and Success true beside the RequestId (the documented examples; the
// Terraform provider checks Code == "Success", its BSS ModifyInstance path
// Success). The field order is the documented one: Code, Message,
// RequestId, Success, then Data. Errors never reach it: they take the
// gateway's error envelope and status.
type Envelope struct {
	Code    string
	Message string
	acs.Response
	Success bool
}

func success() Envelope {
	return Envelope{Code: "Success", Message: "Successful!", Success: true}
}

// Parameter is a Parameter.N.Code / Parameter.N.Value item of
// CreateInstance and ModifyInstance.
type Parameter struct {
	Code  string `acs:"Code"`
	Value string `acs:"Value"`
}

// MaxParameters bounds N in Parameter.N (BSS: N is 1 to 100).
const MaxParameters = 100

// domainParams converts Parameter items, refusing an N above MaxParameters.
// The decoder compacts the list, so N is read from the raw names.
func domainParams(raw map[string]string, items []Parameter) ([]moat.Param, error) {
	for name := range raw {
		rest, found := strings.CutPrefix(name, "Parameter.")
		if !found {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > MaxParameters {
			return nil, moat.InvalidParam("Parameter."+num, "N in Parameter.N is 1 to 100")
		}
	}
	out := make([]moat.Param, 0, len(items))
	for _, p := range items {
		out = append(out, moat.Param{Code: p.Code, Value: p.Value})
	}
	return out, nil
}

// checkProductCode refuses anything but ddos: moat sells nothing else, so
// another product is a misdirected call rather than a filter that happens
// to match nothing (also in QueryAvailableInstances).
func checkProductCode(code string) error {
	if code != ProductCode {
		return moat.InvalidParam("ProductCode", "moat sells only ddos (Anti-DDoS Pro/Premium)")
	}
	return nil
}

// checkSubscriptionType refuses anything but Subscription when given:
// Anti-DDoS Pro/Premium instances are prepaid only.
func checkSubscriptionType(s string) error {
	if s != "" && s != SubscriptionType {
		return moat.InvalidParam("SubscriptionType", "Anti-DDoS Pro/Premium instances are sold only as Subscription (prepaid)")
	}
	return nil
}

// splitIDs reads a comma-separated InstanceIDs (SetRenewal,
// QueryAvailableInstances) as RAM and the audit record read it
// (acs.CommaList: blanks around an ID are dropped), and refuses an empty
// item ("a,,b") rather than guess at it. The count limit is the domain's.
func splitIDs(name string, l acs.CommaList) ([]string, error) {
	ids, empty := l.Items()
	if empty {
		return nil, moat.InvalidParam(name, "instance IDs separated by commas, none of them empty")
	}
	return ids, nil
}

// isoTime is the BSS time format: ISO 8601 in UTC to the second,
// yyyy-MM-ddTHH:mm:ssZ.
const isoTime = "2006-01-02T15:04:05Z"

// formatTime renders a time as BSS does (UTC, whole seconds).
func formatTime(t time.Time) string {
	return t.UTC().Format(isoTime)
}

// parseTime reads an optional time filter. It accepts RFC 3339, of which
// the documented yyyy-MM-ddTHH:mm:ssZ is the UTC form; anything else is
// InvalidParameter naming the parameter.
func parseTime(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, moat.InvalidParam(name, "an ISO 8601 UTC time such as 2024-05-23T12:00:00Z")
	}
	return &t, nil
}
