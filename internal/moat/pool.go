package moat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Pool is a region's block of service IPs. Instances draw their IP from it;
// a released instance's IP goes back on a free list and is reused first.
type Pool struct {
	Prefix netip.Prefix
	lo, hi uint32 // usable host range, inclusive
}

// ParsePool parses an IPv4 CIDR; the network and broadcast addresses are
// never handed out.
func ParsePool(cidr string) (Pool, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return Pool{}, fmt.Errorf("ip pool %q: %w", cidr, err)
	}
	if !p.Addr().Is4() {
		return Pool{}, fmt.Errorf("ip pool %q: only IPv4 pools are supported", cidr)
	}
	if p.Bits() > 30 {
		return Pool{}, fmt.Errorf("ip pool %q: a pool needs at least a /30", cidr)
	}
	p = p.Masked()
	a := p.Addr().As4()
	base := binary.BigEndian.Uint32(a[:])
	size := uint32(1) << (32 - p.Bits())
	return Pool{Prefix: p, lo: base + 1, hi: base + size - 2}, nil
}

// MustPool is ParsePool for constants.
func MustPool(cidr string) Pool {
	p, err := ParsePool(cidr)
	if err != nil {
		panic(err)
	}
	return p
}

// DefaultPools are carved from the shared address space 100.64.0.0/10
// (RFC 6598), which is never routed on the Internet, so an emulated IP can
// never be mistaken for someone's real service; each region gets 2^21
// addresses, enough for the million-instance benchmark.
func DefaultPools() map[Region]Pool {
	return map[Region]Pool{
		RegionMainland: MustPool("100.64.0.0/11"),
		RegionOverseas: MustPool("100.96.0.0/11"),
	}
}

// Key identifies the pool in the store's allocation cursor, so changing a
// region's pool starts a fresh cursor.
func (p Pool) Key() string { return p.Prefix.String() }

// Size is the number of usable addresses.
func (p Pool) Size() uint32 { return p.hi - p.lo + 1 }

// Range is the usable range as integers.
func (p Pool) Range() (lo, hi uint32) { return p.lo, p.hi }

// Addr returns the i-th usable address.
func (p Pool) Addr(i uint32) uint32 { return p.lo + i }

// IPString formats an integer IPv4 address.
func IPString(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).String()
}

// IPNumber parses a dotted IPv4 address.
func IPNumber(s string) (uint32, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]), true
}
