package moat

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// The websites' statistics (DescribeDomainQPSList,
// DescribeDomainStatusCodeList, DescribeDomainTopAttackList,
// DescribeDomainAttackEvents), read from what the web proxy recorded
// (WebTrafficSample buckets and WebAttackEvents). A figure for a website
// is the sum over every data-plane process that counted. The span and
// interval follow the layer-4 statistics' rules (see frame and
// checkSpan).

// WebStatsQuery selects the figures of the caller's websites over
// [Start, End): one website, or (Domain empty) every website of the
// caller in the region.
type WebStatsQuery struct {
	Domain     string
	Start, End time.Time
	// Interval is the width of a series' points (series only).
	Interval time.Duration
}

// WebQPSPoint is one interval of DescribeDomainQPSList: the requests
// answered in the interval (Seconds long; the last may be cut by End), the
// attack requests among them, and the busiest bucket's counts.
type WebQPSPoint struct {
	Index          int64
	Time           time.Time
	Seconds        int64
	Requests       int64
	AttackRequests int64
	// Peaks over the interval's buckets (summed over websites and
	// processes bucket by bucket): all requests, attack requests, and
	// the others.
	PeakRequests, PeakAttacks, PeakNormal int64
}

// WebStatusPoint is one interval of DescribeDomainStatusCodeList: the
// answers by status class, and the codes of WebStatusCodes one by one.
type WebStatusPoint struct {
	Index                                      int64
	Time                                       time.Time
	Seconds                                    int64
	Status2xx, Status3xx, Status4xx, Status5xx int64
	Codes                                      [len(WebStatusCodes)]int64
}

// Code is the count of one of WebStatusCodes (0 for any other code).
func (p *WebStatusPoint) Code(code int) int64 {
	for i, c := range WebStatusCodes {
		if c == code {
			return p.Codes[i]
		}
	}
	return 0
}

// WebAttackTop is an item of DescribeDomainTopAttackList: a website that
// had attack requests in the span, with its busiest bucket's attack
// requests and all requests (each the highest of its own bucket).
type WebAttackTop struct {
	Domain       string
	PeakAttacks  int64
	PeakRequests int64
}

// WebEventQuery selects the attack events of the caller's websites (of
// one when Domain is set) that overlap [Start, End), a page of them.
type WebEventQuery struct {
	Domain               string
	Start, End           time.Time
	PageNumber, PageSize int
}

// WebAttackView is an attack on a website as DescribeDomainAttackEvents
// shows it: the events of all its sources, reasons and processes that
// overlap in time merged into one span, End set to server time while it
// lasts (Ongoing), and the highest requests per second one source reached.
type WebAttackView struct {
	Domain     string
	Start, End time.Time
	PeakQPS    int64
	Ongoing    bool
}

// DomainQPS is DescribeDomainQPSList: per interval, the requests the
// websites answered and the attack requests among them. Every interval
// that has begun by server time is reported, zeros included.
func (s *TrafficService) DomainQPS(ctx context.Context, c Caller, region Region, q WebStatsQuery) ([]WebQPSPoint, error) {
	sr, samples, err := s.webSeries(ctx, c, region, q)
	if err != nil {
		return nil, err
	}
	out := make([]WebQPSPoint, sr.n)
	for i := range out {
		out[i] = WebQPSPoint{Index: int64(i), Time: sr.start(i), Seconds: sr.seconds(i)}
	}
	for _, b := range sumWebBuckets(samples) {
		i, ok := sr.index(b.Bucket)
		if !ok {
			continue
		}
		p := &out[i]
		p.Requests += b.Requests
		p.AttackRequests += b.AttackRequests
		p.PeakRequests = max(p.PeakRequests, b.Requests)
		p.PeakAttacks = max(p.PeakAttacks, b.AttackRequests)
		p.PeakNormal = max(p.PeakNormal, b.Requests-b.AttackRequests)
	}
	return out, nil
}

// DomainStatusCodes is DescribeDomainStatusCodeList: per interval, the
// answers the websites' clients got, by status class and code. A zero End
// is the end of the bucket server time is in.
func (s *TrafficService) DomainStatusCodes(ctx context.Context, c Caller, region Region, q WebStatsQuery) ([]WebStatusPoint, error) {
	if q.End.IsZero() {
		q.End = s.clock.Now().UTC().Truncate(StatsBucket).Add(StatsBucket)
	}
	sr, samples, err := s.webSeries(ctx, c, region, q)
	if err != nil {
		return nil, err
	}
	out := make([]WebStatusPoint, sr.n)
	for i := range out {
		out[i] = WebStatusPoint{Index: int64(i), Time: sr.start(i), Seconds: sr.seconds(i)}
	}
	for _, smp := range samples {
		i, ok := sr.index(smp.Bucket)
		if !ok {
			continue
		}
		p := &out[i]
		p.Status2xx += smp.Status2xx
		p.Status3xx += smp.Status3xx
		p.Status4xx += smp.Status4xx
		p.Status5xx += smp.Status5xx
		for k := range p.Codes {
			p.Codes[k] += smp.Codes[k]
		}
	}
	return out, nil
}

// DomainTopAttacks is DescribeDomainTopAttackList: the caller's websites
// in the region that had attack requests in the span, the most attacked
// first.
func (s *TrafficService) DomainTopAttacks(ctx context.Context, c Caller, region Region, start, end time.Time) ([]WebAttackTop, error) {
	sr, samples, err := s.webSeries(ctx, c, region, WebStatsQuery{Start: start, End: end})
	if err != nil || sr.n == 0 {
		return []WebAttackTop{}, err
	}
	type domainBucket struct {
		domain string
		bucket int64
	}
	per := map[domainBucket]*WebTrafficSample{}
	for i := range samples {
		smp := &samples[i]
		k := domainBucket{smp.Domain, smp.Bucket.Unix()}
		if b := per[k]; b != nil {
			b.Requests += smp.Requests
			b.AttackRequests += smp.AttackRequests
		} else {
			per[k] = &WebTrafficSample{Requests: smp.Requests, AttackRequests: smp.AttackRequests}
		}
	}
	tops := map[string]*WebAttackTop{}
	for k, b := range per {
		t := tops[k.domain]
		if t == nil {
			t = &WebAttackTop{Domain: k.domain}
			tops[k.domain] = t
		}
		t.PeakAttacks = max(t.PeakAttacks, b.AttackRequests)
		t.PeakRequests = max(t.PeakRequests, b.Requests)
	}
	out := make([]WebAttackTop, 0, len(tops))
	for _, t := range tops {
		if t.PeakAttacks > 0 {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PeakAttacks != b.PeakAttacks {
			return a.PeakAttacks > b.PeakAttacks
		}
		if a.PeakRequests != b.PeakRequests {
			return a.PeakRequests > b.PeakRequests
		}
		return a.Domain < b.Domain
	})
	return out, nil
}

// DomainAttackEvents is DescribeDomainAttackEvents: a page of the attacks
// on the caller's websites that overlap the span, the latest first, and
// their count. The web proxy records one event per source, reason and
// process; the events of one website that overlap in time are one attack.
func (s *TrafficService) DomainAttackEvents(ctx context.Context, c Caller, region Region, q WebEventQuery) ([]WebAttackView, int64, error) {
	if err := checkSpan(q.Start, q.End); err != nil {
		return nil, 0, err
	}
	number, size := q.PageNumber, q.PageSize
	if number < 1 {
		return nil, 0, InvalidParam("PageNumber", "a positive integer")
	}
	if size < 1 || size > MaxPageSize {
		return nil, 0, InvalidParam("PageSize", fmt.Sprintf("between 1 and %d", MaxPageSize))
	}
	domains, err := s.webDomains(ctx, c, region, q.Domain)
	if err != nil {
		return nil, 0, err
	}
	if len(domains) == 0 {
		return []WebAttackView{}, 0, nil
	}
	f := WebAttackFilter{AccountID: c.AccountID, From: q.Start, To: q.End}
	if q.Domain != "" {
		f.Domain = domains[0]
	}
	evs, err := s.store.WebAttackEvents(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	mine := make(map[string]bool, len(domains))
	for _, d := range domains {
		mine[d] = true
	}
	now := s.clock.Now()
	byDomain := map[string][]WebAttackEvent{}
	for _, ev := range evs {
		if ev.AccountID != c.AccountID || !mine[ev.Domain] {
			continue
		}
		byDomain[ev.Domain] = append(byDomain[ev.Domain], ev)
	}
	var all []WebAttackView
	for d, list := range byDomain {
		all = append(all, mergeWebAttacks(d, list, now)...)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		return a.Domain < b.Domain
	})
	total := int64(len(all))
	from := int64(number-1) * int64(size)
	if from >= total {
		return []WebAttackView{}, total, nil
	}
	to := min(from+int64(size), total)
	return all[from:to], total, nil
}

// mergeWebAttacks joins one website's events that overlap in time (an
// open one lasting until now) into attacks, in Start order.
func mergeWebAttacks(domain string, evs []WebAttackEvent, now time.Time) []WebAttackView {
	sort.Slice(evs, func(i, j int) bool { return evs[i].Start.Before(evs[j].Start) })
	var out []WebAttackView
	for _, ev := range evs {
		end, ongoing := ev.End, false
		if end.IsZero() {
			end, ongoing = now, true
		}
		if n := len(out); n > 0 && !ev.Start.After(out[n-1].End) {
			last := &out[n-1]
			if end.After(last.End) {
				last.End = end
			}
			last.Ongoing = last.Ongoing || ongoing
			last.PeakQPS = max(last.PeakQPS, ev.Peak)
			continue
		}
		out = append(out, WebAttackView{Domain: domain, Start: ev.Start, End: end, PeakQPS: ev.Peak, Ongoing: ongoing})
	}
	return out
}

// webSeries checks q, resolves its websites (the one named, the caller's
// in the region, or DomainNotExist; else all of the caller's in the
// region) and reads their samples in the span.
func (s *TrafficService) webSeries(ctx context.Context, c Caller, region Region, q WebStatsQuery) (*series, []WebTrafficSample, error) {
	sr, err := s.frame(q.Start, q.End, q.Interval)
	if err != nil {
		return nil, nil, err
	}
	domains, err := s.webDomains(ctx, c, region, q.Domain)
	if err != nil {
		return nil, nil, err
	}
	if sr.n == 0 || len(domains) == 0 {
		return sr, nil, nil
	}
	samples, err := s.store.WebTraffic(ctx, WebTrafficFilter{AccountID: c.AccountID, Domains: domains, From: q.Start, To: q.End})
	if err != nil {
		return nil, nil, err
	}
	mine := make(map[string]bool, len(domains))
	for _, d := range domains {
		mine[d] = true
	}
	kept := samples[:0]
	for _, smp := range samples {
		if smp.AccountID != c.AccountID || !mine[smp.Domain] || smp.Bucket.Before(q.Start) || !smp.Bucket.Before(q.End) {
			continue
		}
		kept = append(kept, smp)
	}
	return sr, kept, nil
}

// webDomains are the websites a statistics query covers: the one named
// (DomainNotExist unless the caller has it in the region), or every
// website of the caller in the region.
func (s *TrafficService) webDomains(ctx context.Context, c Caller, region Region, domain string) ([]string, error) {
	if domain != "" {
		d, err := CheckDomain("Domain", domain)
		if err != nil {
			return nil, err
		}
		rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Domain: d, Exact: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(rules) == 0 {
			return nil, domainNotExist(d)
		}
		return []string{d}, nil
	}
	var out []string
	const batch = 1000
	for offset := 0; ; offset += batch {
		rules, _, err := s.store.WebRulePage(ctx, WebRuleFilter{AccountID: c.AccountID, Region: region, Offset: offset, Limit: batch})
		if err != nil {
			return nil, err
		}
		for _, w := range rules {
			out = append(out, w.Domain)
		}
		if len(rules) < batch {
			return out, nil
		}
	}
}

// sumWebBuckets adds samples up bucket by bucket (across websites and
// processes), in bucket order.
func sumWebBuckets(samples []WebTrafficSample) []WebTrafficSample {
	byBucket := map[int64]*WebTrafficSample{}
	for _, smp := range samples {
		k := smp.Bucket.Unix()
		b := byBucket[k]
		if b == nil {
			b = &WebTrafficSample{Bucket: smp.Bucket}
			byBucket[k] = b
		}
		b.Requests += smp.Requests
		b.AttackRequests += smp.AttackRequests
	}
	out := make([]WebTrafficSample, 0, len(byBucket))
	for _, b := range byBucket {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket.Before(out[j].Bucket) })
	return out
}
