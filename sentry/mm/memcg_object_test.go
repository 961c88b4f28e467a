package mm

import "testing"

func TestChargeObject(t *testing.T) {
	c := NewMemCgroup()
	a := Account{Memcg: c}
	// Small objects share a page.
	for i := 0; i < 3; i++ {
		if !a.ChargeObject(1000) {
			t.Fatal("charge failed without a limit")
		}
	}
	if c.Usage() != pageSize || c.ObjectBytes() != 3000 {
		t.Fatalf("3 x 1000 bytes: usage %d, objects %d; want one page", c.Usage(), c.ObjectBytes())
	}
	// One that does not fit in the stock is charged whole pages; what
	// they and the stock hold beyond the objects is less than a page.
	if !a.ChargeObject(2*pageSize + 100) {
		t.Fatal("charge failed")
	}
	if c.Usage() != 3*pageSize {
		t.Fatalf("usage %d for 3000+8292 bytes of objects, want 3 pages", c.Usage())
	}
	c.UnchargeObject(2*pageSize + 100)
	if c.Usage() != pageSize {
		t.Fatalf("usage %d after freeing it, want the one page of 3000 bytes", c.Usage())
	}
	for i := 0; i < 3; i++ {
		c.UnchargeObject(1000)
	}
	if c.Usage() != 0 || c.ObjectBytes() != 0 {
		t.Fatalf("all freed: usage %d, objects %d", c.Usage(), c.ObjectBytes())
	}
	if _, ok := objStocks.m[c]; ok {
		t.Error("an account without objects keeps a stock")
	}
	// Uncharging what was never charged changes nothing.
	c.UnchargeObject(10)
	if c.Usage() != 0 {
		t.Errorf("usage %d after a stray uncharge", c.Usage())
	}
}

func TestChargeObjectLimit(t *testing.T) {
	c := NewMemCgroup()
	c.SetLimit(2 * pageSize)
	reclaims := 0
	a := Account{Memcg: c, OOM: func(pages int64) bool {
		reclaims++
		return false
	}}
	if !a.ChargeObject(pageSize + 1) {
		t.Fatal("2 pages under a 2-page limit refused")
	}
	// The stock (pageSize-1 bytes) takes a small object without a
	// charge; a large one needs pages past the limit and fails.
	if !a.ChargeObject(100) {
		t.Fatal("an object the stock holds refused")
	}
	if a.ChargeObject(pageSize) || reclaims != 1 {
		t.Fatalf("an object past the limit: reclaims %d, want a failure after one", reclaims)
	}
	if c.Usage() != 2*pageSize || c.Failcnt() == 0 {
		t.Errorf("usage %d failcnt %d after the refused charge", c.Usage(), c.Failcnt())
	}
	// An OOM path that makes room lets the charge through.
	a.OOM = func(pages int64) bool {
		c.UnchargeObject(pageSize + 1)
		return true
	}
	if !a.ChargeObject(pageSize) {
		t.Fatal("charge refused after the OOM path made room")
	}
	c.UnchargeObject(100)
	c.UnchargeObject(pageSize)
	if c.Usage() != 0 {
		t.Errorf("usage %d with nothing held", c.Usage())
	}
}
