package moat

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ---- Source lists ----

// checkSourceIPs checks a list of source addresses (1 to
// MaxSourceEntries) and returns them canonical, without repeats.
func checkSourceIPs(param string, ips []string) ([]string, error) {
	if len(ips) == 0 {
		return nil, MissingParam(param)
	}
	if len(ips) > MaxSourceEntries {
		return nil, InvalidParam(param, fmt.Sprintf("a call names at most %d addresses, not %d", MaxSourceEntries, len(ips)))
	}
	out := make([]string, 0, len(ips))
	seen := map[string]bool{}
	for _, s := range ips {
		a, err := CheckSourceIP(s)
		if err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

func listParam(l SourceListKind) string {
	if l == Whitelist {
		return "Whitelist"
	}
	return "Blacklist"
}

func checkList(l SourceListKind) error {
	if l != Blacklist && l != Whitelist {
		return InvalidParamValue("List", string(l), "black or white")
	}
	return nil
}

// AddSourceEntries puts addresses on an instance's blacklist (for ttl,
// 300 s to 7 days) or whitelist (for good: ttl is ignored). An address
// already on the list gets the new expiry. A list holds at most
// MaxSourceEntries manual entries.
func (s *RuleService) AddSourceEntries(ctx context.Context, c Caller, region Region, id string, list SourceListKind, ips []string, ttl time.Duration, requestID string) error {
	if err := checkList(list); err != nil {
		return err
	}
	ips, err := checkSourceIPs(listParam(list), ips)
	if err != nil {
		return err
	}
	if list == Blacklist && (ttl < MinBlacklistExpiry || ttl > MaxBlacklistExpiry) {
		return InvalidParamValue("ExpireTime", fmt.Sprint(int64(ttl/time.Second)), "a blacklist entry lasts 300 to 604800 seconds")
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		in, err := s.changeable(tx, c, region, id, now)
		if err != nil {
			return err
		}
		var expires time.Time
		if list == Blacklist {
			expires = now.Add(ttl)
		}
		entries := make([]SourceEntry, len(ips))
		for i, ip := range ips {
			entries[i] = SourceEntry{InstanceID: id, List: list, IP: ip, Type: SourceManual, Expires: expires, Created: now}
		}
		if err := tx.PutSourceEntries(entries); err != nil {
			return err
		}
		n, err := tx.CountSourceEntries(id, list, SourceManual, now)
		if err != nil {
			return err
		}
		if n > MaxSourceEntries {
			return Errorf(CodeExceedListLimit, "The %s of instance %q would hold %d addresses; it holds at most %d. Remove addresses first.", ListSubject(list), id, n, MaxSourceEntries)
		}
		return s.event(tx, in, now, EventListChanged, ListSubject(list), requestID, fmt.Sprintf("added %d", len(ips)))
	})
}

// DeleteSourceEntries removes addresses from an instance's list;
// addresses not on it are ignored.
func (s *RuleService) DeleteSourceEntries(ctx context.Context, c Caller, region Region, id string, list SourceListKind, ips []string, requestID string) error {
	if err := checkList(list); err != nil {
		return err
	}
	ips, err := checkSourceIPs(listParam(list), ips)
	if err != nil {
		return err
	}
	return s.removeEntries(ctx, c, region, id, list, ips, requestID)
}

// EmptySourceList removes every address from an instance's list.
func (s *RuleService) EmptySourceList(ctx context.Context, c Caller, region Region, id string, list SourceListKind, requestID string) error {
	if err := checkList(list); err != nil {
		return err
	}
	return s.removeEntries(ctx, c, region, id, list, nil, requestID)
}

func (s *RuleService) removeEntries(ctx context.Context, c Caller, region Region, id string, list SourceListKind, ips []string, requestID string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		in, err := s.owned(tx, c, region, id)
		if err != nil {
			return err
		}
		n, err := tx.DeleteSourceEntries(id, list, ips)
		if err != nil || n == 0 {
			return err
		}
		return s.event(tx, in, now, EventListChanged, ListSubject(list), requestID, fmt.Sprintf("removed %d", n))
	})
}

// SourceEntries pages through an instance's list; expired blacklist
// entries are gone.
func (s *RuleService) SourceEntries(ctx context.Context, c Caller, region Region, id string, list SourceListKind, q SourceQuery) ([]SourceEntry, int64, error) {
	if err := checkList(list); err != nil {
		return nil, 0, err
	}
	offset, limit, err := rulePage(q.PageNumber, q.PageSize)
	if err != nil {
		return nil, 0, err
	}
	switch q.Type {
	case "", SourceManual, SourceAuto:
	default:
		return nil, 0, InvalidParamValue("QueryType", q.Type, "manual or auto")
	}
	if _, err := s.ownedRead(ctx, c, region, id); err != nil {
		return nil, 0, err
	}
	return s.store.SourceEntryPage(ctx, SourceFilter{InstanceID: id, List: list, Prefix: q.KeyWord, Type: q.Type, Now: s.clock.Now(), Offset: offset, Limit: limit})
}

// SourceCounts counts the live entries of an instance's two lists, of
// one type ("" any).
func (s *RuleService) SourceCounts(ctx context.Context, c Caller, region Region, id, typ string) (black, white int, err error) {
	switch typ {
	case "", SourceManual, SourceAuto:
	default:
		return 0, 0, InvalidParamValue("QueryType", typ, "manual or auto")
	}
	if _, err := s.ownedRead(ctx, c, region, id); err != nil {
		return 0, 0, err
	}
	now := s.clock.Now()
	_, nb, err := s.store.SourceEntryPage(ctx, SourceFilter{InstanceID: id, List: Blacklist, Type: typ, Now: now, Limit: 1})
	if err != nil {
		return 0, 0, err
	}
	_, nw, err := s.store.SourceEntryPage(ctx, SourceFilter{InstanceID: id, List: Whitelist, Type: typ, Now: now, Limit: 1})
	if err != nil {
		return 0, 0, err
	}
	return int(nb), int(nw), nil
}

// ---- UDP reflection ----

// MaxUDPReflectPorts is how many source ports the filter blocks at most.
const MaxUDPReflectPorts = 100

// SetUDPReflect sets the UDP source ports an instance drops
// (ConfigUdpReflect); an empty list turns the filter off.
func (s *RuleService) SetUDPReflect(ctx context.Context, c Caller, region Region, id string, ports []int, requestID string) error {
	if len(ports) > MaxUDPReflectPorts {
		return InvalidParam("Config.UdpSports", fmt.Sprintf("at most %d source ports, not %d", MaxUDPReflectPorts, len(ports)))
	}
	ps := slices.Clone(ports)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	for _, p := range ps {
		if err := CheckPort("Config.UdpSports", p); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.clock.Now()
		in, err := s.changeable(tx, c, region, id, now)
		if err != nil {
			return err
		}
		if err := tx.SetUDPReflect(id, ps); err != nil {
			return err
		}
		return s.event(tx, in, now, EventListChanged, SubjectUDPReflect, requestID, fmt.Sprintf("%d source ports", len(ps)))
	})
}

// UDPReflect returns the UDP source ports an instance drops.
func (s *RuleService) UDPReflect(ctx context.Context, c Caller, region Region, id string) ([]int, error) {
	if _, err := s.ownedRead(ctx, c, region, id); err != nil {
		return nil, err
	}
	return s.store.UDPReflect(ctx, id)
}

// ---- Release ----

// releaseRules detaches an instance being released from its websites: a
// website bound to other instances loses only this one, a website bound
// to it alone is deleted. The store deletes the rest of its configuration
// with the instance.
func (s *core) releaseRules(tx Tx, in *Instance) error {
	webs, err := tx.WebRulesOf(in.ID)
	if err != nil {
		return err
	}
	for _, w := range webs {
		rest := slices.DeleteFunc(slices.Clone(w.InstanceIDs), func(id string) bool { return id == in.ID })
		if len(rest) == 0 {
			if err := tx.DeleteWebRule(w.AccountID, w.Domain); err != nil {
				return err
			}
			continue
		}
		w.InstanceIDs = rest
		if err := tx.UpdateWebRule(&w); err != nil {
			return err
		}
	}
	return nil
}
