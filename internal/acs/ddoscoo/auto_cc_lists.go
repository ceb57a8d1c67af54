package ddoscoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"moat/internal/acs"
	"moat/internal/moat"
)

// sourceListJSON parses a Blacklist or Whitelist parameter,
// [{"src":"198.51.100.7"},…], into its addresses. It reads item by item
// and stops past moat.MaxSourceEntries, so a long value builds no long
// list. The addresses themselves are checked by the service.
func sourceListJSON(param, raw string) ([]string, error) {
	bad := func() error {
		return moat.Errorf(moat.CodeJSONError, `%s must be a JSON array of {"src":"<IPv4 address>"}, such as [{"src":"198.51.100.7"}].`, param)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, bad()
	}
	var ips []string
	for dec.More() {
		if len(ips) == moat.MaxSourceEntries {
			return nil, moat.InvalidParam(param, fmt.Sprintf("a call names at most %d addresses", moat.MaxSourceEntries))
		}
		var item struct {
			Src *string `json:"src"`
		}
		if err := dec.Decode(&item); err != nil || item.Src == nil {
			return nil, bad()
		}
		ips = append(ips, *item.Src)
	}
	if err := arrayEnd(dec); err != nil {
		return nil, bad()
	}
	return ips, nil
}

// udpReflectJSON parses ConfigUdpReflect's Config, {"UdpSports":[17,19]},
// into its source ports. It stops past moat.MaxUDPReflectPorts; the ports
// themselves are checked by the service.
func udpReflectJSON(raw string) ([]int, error) {
	bad := func() error {
		return moat.Errorf(moat.CodeJSONError, `Config must be a JSON object {"UdpSports":[<source port>,…]} of integer ports, such as {"UdpSports":[17,19]}.`)
	}
	var cfg struct {
		UdpSports json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(&cfg); err != nil || valueEnd(dec) != nil || cfg.UdpSports == nil {
		return nil, bad()
	}
	dec = json.NewDecoder(bytes.NewReader(cfg.UdpSports))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, bad()
	}
	ports := []int{}
	for dec.More() {
		if len(ports) == moat.MaxUDPReflectPorts {
			return nil, moat.InvalidParam("Config.UdpSports", fmt.Sprintf("at most %d source ports", moat.MaxUDPReflectPorts))
		}
		var p int
		if err := dec.Decode(&p); err != nil {
			return nil, bad()
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// arrayEnd reads the closing bracket of an array whose items dec has
// read, and checks that nothing follows it.
func arrayEnd(dec *json.Decoder) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return errors.New("unterminated array")
	}
	return valueEnd(dec)
}

// valueEnd checks that dec holds nothing after the value it has read.
func valueEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the value")
	}
	return nil
}

// blacklistTTL converts AddAutoCcBlacklist's ExpireTime, in seconds (an
// int32 on the wire), to a duration; the service judges its range.
func blacklistTTL(seconds int) (time.Duration, error) {
	if seconds < math.MinInt32 || seconds > math.MaxInt32 {
		return 0, moat.InvalidParamValue("ExpireTime", strconv.Itoa(seconds), "a blacklist entry lasts 300 to 604800 seconds")
	}
	return time.Duration(seconds) * time.Second, nil
}

// AutoCcEntry is an item of DescribeAutoCcBlacklist's AutoCcBlacklist and
// DescribeAutoCcWhitelist's AutoCcWhitelist lists: a source address, the
// instance IP it is kept for, when it expires (UNIX seconds, 0 never) and
// whether it was added by hand (manual) or by protection (auto).
type AutoCcEntry struct {
	SourceIp string
	DestIp   string
	EndTime  int64
	Type     string
}

// sourceEntriesOf converts a page of a list to the wire; destIP is the
// instance's service IP.
func sourceEntriesOf(entries []moat.SourceEntry, destIP string) []AutoCcEntry {
	out := make([]AutoCcEntry, 0, len(entries))
	for _, e := range entries {
		var end int64
		if !e.Expires.IsZero() {
			end = e.Expires.Unix()
		}
		out = append(out, AutoCcEntry{SourceIp: e.IP, DestIp: destIP, EndTime: end, Type: e.Type})
	}
	return out
}

// describeSourceList serves DescribeAutoCcBlacklist and
// DescribeAutoCcWhitelist: one page of the list, and the instance's IP as
// every entry's DestIp (read only when the page has entries).
func (h *handlers) describeSourceList(ctx context.Context, call *acs.Call, id string, list moat.SourceListKind, q moat.SourceQuery) ([]AutoCcEntry, int64, error) {
	region, err := call.Region()
	if err != nil {
		return nil, 0, err
	}
	entries, total, err := h.svc.SourceEntries(ctx, call.Caller, region, id, list, q)
	if err != nil {
		return nil, 0, err
	}
	var ip string
	if len(entries) > 0 {
		views, err := h.svc.Instances(ctx, call.Caller, region, []string{id})
		if err != nil {
			return nil, 0, moat.Rename(err, instanceParams)
		}
		if len(views) == 1 {
			ip = views[0].IP
		}
	}
	return sourceEntriesOf(entries, ip), total, nil
}
