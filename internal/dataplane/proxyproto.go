package dataplane

import (
	"encoding/binary"
	"net/netip"
)

// proxyV2Sig is the PROXY protocol version 2 signature.
var proxyV2Sig = [12]byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// proxyHeaderV2 is the PROXY protocol v2 header (haproxy's proxy-protocol
// specification, section 2.2) that tells an origin the client's address
// src and the address dst it connected to: command PROXY over TCP, IPv4
// when both are IPv4 (or IPv4-mapped), IPv6 otherwise.
func proxyHeaderV2(src, dst netip.AddrPort) []byte {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	v4 := sa.Is4() && da.Is4()
	var h []byte
	if v4 {
		h = make([]byte, 16+12)
		h[13] = 0x11 // AF_INET, STREAM
		binary.BigEndian.PutUint16(h[14:], 12)
		a, b := sa.As4(), da.As4()
		copy(h[16:], a[:])
		copy(h[20:], b[:])
		binary.BigEndian.PutUint16(h[24:], src.Port())
		binary.BigEndian.PutUint16(h[26:], dst.Port())
	} else {
		h = make([]byte, 16+36)
		h[13] = 0x21 // AF_INET6, STREAM
		binary.BigEndian.PutUint16(h[14:], 36)
		a, b := src.Addr().As16(), dst.Addr().As16()
		copy(h[16:], a[:])
		copy(h[32:], b[:])
		binary.BigEndian.PutUint16(h[48:], src.Port())
		binary.BigEndian.PutUint16(h[50:], dst.Port())
	}
	copy(h, proxyV2Sig[:])
	h[12] = 0x21 // version 2, command PROXY
	return h
}
