package storetest

import (
	"testing"
	"time"

	"moat/internal/moat"
)

// ---- IP pool primitives ----

func pop(t *testing.T, s moat.Store, r moat.Region, lo, hi uint32) (uint32, bool) {
	t.Helper()
	var ip uint32
	var ok bool
	update(t, s, func(tx moat.Tx) error {
		var err error
		ip, ok, err = tx.PopFreeIP(r, lo, hi)
		return err
	})
	return ip, ok
}

func push(t *testing.T, s moat.Store, r moat.Region, ips ...uint32) {
	t.Helper()
	update(t, s, func(tx moat.Tx) error {
		for _, ip := range ips {
			if err := tx.PushFreeIP(r, ip); err != nil {
				return err
			}
		}
		return nil
	})
}

func testPopFreeIP(t *testing.T, s moat.Store) {
	// Values above 2^31 catch signed 32-bit storage.
	const hiBase = 0xC8000000 // 200.0.0.0
	push(t, s, mainl, hiBase+50, hiBase+7, hiBase+300, hiBase+8, 0xFFFFFFFE, 5)
	for _, c := range []struct {
		lo, hi uint32
		want   uint32
	}{
		{hiBase, hiBase + 1000, hiBase + 7},
		{hiBase, hiBase + 1000, hiBase + 8},
		{hiBase + 9, 0xFFFFFFFF, hiBase + 50},
		{hiBase + 300, hiBase + 300, hiBase + 300}, // inclusive bounds
		{0, 0xFFFFFFFF, 5},
		{0, 0xFFFFFFFF, 0xFFFFFFFE},
	} {
		ip, ok := pop(t, s, mainl, c.lo, c.hi)
		if !ok || ip != c.want {
			t.Errorf("PopFreeIP(%#x, %#x) = %#x, %v; want %#x, true", c.lo, c.hi, ip, ok, c.want)
		}
	}
	if ip, ok := pop(t, s, mainl, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP on an emptied list = %#x, true; want false", ip)
	}
	// Pop and push in one Update.
	update(t, s, func(tx moat.Tx) error {
		if err := tx.PushFreeIP(overs, 10); err != nil {
			return err
		}
		ip, ok, err := tx.PopFreeIP(overs, 0, 100)
		if err != nil || !ok || ip != 10 {
			t.Errorf("PopFreeIP after PushFreeIP in the same Update = %d, %v, %v; want 10, true", ip, ok, err)
		}
		return err
	})
	if ip, ok := pop(t, s, overs, 0, 100); ok {
		t.Errorf("PopFreeIP = %d, true; want false", ip)
	}
}

func testPopFreeIPNone(t *testing.T, s moat.Store) {
	if ip, ok := pop(t, s, mainl, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP on an empty store = %d, true; want false", ip)
	}
	push(t, s, mainl, 100, 200)
	for _, c := range [][2]uint32{{0, 99}, {101, 199}, {201, 0xFFFFFFFF}} {
		if ip, ok := pop(t, s, mainl, c[0], c[1]); ok {
			t.Errorf("PopFreeIP(%d, %d) = %d, true; want false", c[0], c[1], ip)
		}
	}
	// Another region's free list is separate.
	if ip, ok := pop(t, s, overs, 0, 0xFFFFFFFF); ok {
		t.Errorf("PopFreeIP(overseas) = %d, true; want false", ip)
	}
	// Nothing was taken by the misses.
	if ip, ok := pop(t, s, mainl, 0, 1000); !ok || ip != 100 {
		t.Errorf("PopFreeIP = %d, %v; want 100, true", ip, ok)
	}
	if ip, ok := pop(t, s, mainl, 0, 1000); !ok || ip != 200 {
		t.Errorf("PopFreeIP = %d, %v; want 200, true", ip, ok)
	}
}

func testPushFreeIPIdempotent(t *testing.T, s moat.Store) {
	push(t, s, mainl, 7)
	push(t, s, mainl, 7, 7)
	push(t, s, overs, 7)
	if ip, ok := pop(t, s, mainl, 0, 100); !ok || ip != 7 {
		t.Fatalf("PopFreeIP = %d, %v; want 7, true", ip, ok)
	}
	if ip, ok := pop(t, s, mainl, 0, 100); ok {
		t.Errorf("second PopFreeIP after pushing 7 three times = %d, true; want false", ip)
	}
	if ip, ok := pop(t, s, overs, 0, 100); !ok || ip != 7 {
		t.Errorf("PopFreeIP(overseas) = %d, %v; want 7, true", ip, ok)
	}
}

func testIPCursor(t *testing.T, s moat.Store) {
	cursor := func(r moat.Region, pool string) uint32 {
		t.Helper()
		var c uint32
		update(t, s, func(tx moat.Tx) error {
			var err error
			c, err = tx.IPCursor(r, pool)
			return err
		})
		return c
	}
	set := func(r moat.Region, pool string, v uint32) {
		t.Helper()
		update(t, s, func(tx moat.Tx) error { return tx.SetIPCursor(r, pool, v) })
	}
	const p1, p2 = "100.64.0.0/11", "100.64.0.0/24"
	if c := cursor(mainl, p1); c != 0 {
		t.Errorf("IPCursor of a new pool = %d, want 0", c)
	}
	set(mainl, p1, 17)
	set(mainl, p2, 3)
	set(overs, p1, 0xFFFFFFFF)
	for _, c := range []struct {
		r    moat.Region
		pool string
		want uint32
	}{
		{mainl, p1, 17}, {mainl, p2, 3}, {overs, p1, 0xFFFFFFFF}, {overs, p2, 0},
	} {
		if got := cursor(c.r, c.pool); got != c.want {
			t.Errorf("IPCursor(%s, %s) = %d, want %d", c.r, c.pool, got, c.want)
		}
	}
	set(mainl, p1, 18)
	set(overs, p1, 0)
	if got := cursor(mainl, p1); got != 18 {
		t.Errorf("IPCursor after overwrite = %d, want 18", got)
	}
	if got := cursor(overs, p1); got != 0 {
		t.Errorf("IPCursor after reset = %d, want 0", got)
	}
	if got := cursor(mainl, p2); got != 3 {
		t.Errorf("IPCursor(other pool) = %d, want 3", got)
	}
}

func testIPInUse(t *testing.T, s moat.Store) {
	inUse := func(r moat.Region, ip string) bool {
		t.Helper()
		var used bool
		update(t, s, func(tx moat.Tx) error {
			var err error
			used, err = tx.IPInUse(r, ip)
			return err
		})
		return used
	}
	if inUse(mainl, "100.64.0.1") {
		t.Error("IPInUse on an empty store = true")
	}
	a := inst("ddoscoo-cn-inuse001", acctA, mainl, "100.64.0.1", at(time.Hour))
	insert(t, s, a)
	for _, c := range []struct {
		r    moat.Region
		ip   string
		want bool
	}{
		{mainl, "100.64.0.1", true},
		{overs, "100.64.0.1", false},
		{mainl, "100.64.0.10", false},
		{mainl, "100.64.0.", false},
	} {
		if got := inUse(c.r, c.ip); got != c.want {
			t.Errorf("IPInUse(%s, %s) = %v, want %v", c.r, c.ip, got, c.want)
		}
	}
	// Free-list entries are not live instances.
	ipn, _ := moat.IPNumber("100.64.0.2")
	push(t, s, mainl, ipn)
	if inUse(mainl, "100.64.0.2") {
		t.Error("IPInUse of a free-list address = true")
	}
	deleteInstance(t, s, a.ID)
	if inUse(mainl, "100.64.0.1") {
		t.Error("IPInUse after DeleteInstance = true")
	}
}
