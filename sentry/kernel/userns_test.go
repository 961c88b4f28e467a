package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseIDMap(t *testing.T) {
	good := map[string][]IDExtent{
		"0 1000 1":                  {{0, 1000, 1}},
		"0 1000 1\n":                {{0, 1000, 1}},
		"  0\t100000 65536  \n":     {{0, 100000, 65536}},
		"0 0 1\n1 100000 999\n":     {{0, 0, 1}, {1, 100000, 999}},
		"0 4294967294 1":            {{0, 4294967294, 1}},
		"10 20 5\n0 0 10\n15 100 1": {{10, 20, 5}, {0, 0, 10}, {15, 100, 1}},
	}
	for in, want := range good {
		got, err := parseIDMap([]byte(in))
		if err != nil || len(got) != len(want) {
			t.Errorf("parseIDMap(%q) = %v, %v; want %v", in, got, err, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("parseIDMap(%q)[%d] = %v, want %v", in, i, got[i], want[i])
			}
		}
	}
	bad := []string{"", "\n", "x", "0 0", "0 0 1 x", "0 0 0", "0 0 1\n\n", "4294967295 0 1",
		"0 4294967295 1", "4294967290 0 10", "0 0 10\n5 100 1", "0 0 10\n100 5 1", "0 0 1,", "-1 0 1", "0 0 4294967296"}
	for _, in := range bad {
		if got, err := parseIDMap([]byte(in)); err != unix.EINVAL {
			t.Errorf("parseIDMap(%q) = %v, %v; want EINVAL", in, got, err)
		}
	}
	var many []byte
	for i := 0; i < maxIDMapExtents+1; i++ {
		many = append(many, []byte(fmtExtent(uint32(i), uint32(i), 1))...)
	}
	if _, err := parseIDMap(many[:len(many)-len(fmtExtent(maxIDMapExtents, maxIDMapExtents, 1))]); err != nil {
		t.Errorf("%d extents: %v", maxIDMapExtents, err)
	}
	if _, err := parseIDMap(many); err != unix.EINVAL {
		t.Errorf("%d extents: %v, want EINVAL", maxIDMapExtents+1, err)
	}
}

func fmtExtent(first, lower, count uint32) string {
	return itoa(first) + " " + itoa(lower) + " " + itoa(count) + "\n"
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

func TestIDTranslation(t *testing.T) {
	ns := &UserNamespace{parent: initialUserNS, level: 1, owner: 1000}
	m := []IDExtent{{0, 1000, 1}, {1, 100000, 65536}}
	ns.uidMap.Store(&m)
	for _, c := range []struct {
		id, kid uint32
		ok      bool
	}{{0, 1000, true}, {1, 100000, true}, {65536, 165535, true}, {65537, 0, false}} {
		kid, ok := ns.KUID(c.id)
		if ok != c.ok || ok && kid != c.kid {
			t.Errorf("KUID(%d) = %d, %v; want %d, %v", c.id, kid, ok, c.kid, c.ok)
		}
		if ok {
			if back := ns.MungedUID(kid); back != c.id {
				t.Errorf("MungedUID(%d) = %d, want %d", kid, back, c.id)
			}
		}
	}
	if got := ns.MungedUID(0); got != OverflowID {
		t.Errorf("MungedUID(0) = %d, want %d", got, OverflowID)
	}
	if _, ok := ns.KGID(0); ok {
		t.Errorf("KGID before gid_map is written: mapped")
	}
	if _, ok := toKernel(m, 0, 2); ok {
		t.Errorf("a range across two extents was mapped")
	}
	if id, ok := initialUserNS.KUID(12345); !ok || id != 12345 {
		t.Errorf("initial KUID(12345) = %d, %v", id, ok)
	}
	if _, ok := initialUserNS.KUID(^uint32(0)); ok {
		t.Errorf("initial KUID(-1) mapped")
	}
	if !ns.IsRoot(1000) || ns.IsRoot(0) {
		t.Errorf("IsRoot: root of the namespace is kernel ID 1000")
	}
}

func TestHasCapIn(t *testing.T) {
	child := &UserNamespace{parent: initialUserNS, level: 1, owner: 1000}
	grandchild := &UserNamespace{parent: child, level: 2, owner: 0}
	sibling := &UserNamespace{parent: initialUserNS, level: 1, owner: 2000}
	root := rootCredentials()
	inChild := inUserNamespace(Credentials{UID: 1000, EUID: 1000}, child)
	user := Credentials{UID: 1000, EUID: 1000, UserNS: initialUserNS}
	for _, c := range []struct {
		name string
		c    *Credentials
		ns   *UserNamespace
		want bool
	}{
		{"root in initial", &root, initialUserNS, true},
		{"root over child", &root, child, true},
		{"root over grandchild", &root, grandchild, true},
		{"child's process over initial", &inChild, initialUserNS, false},
		{"child's process over child", &inChild, child, true},
		{"child's process over grandchild", &inChild, grandchild, true},
		{"child's process over sibling", &inChild, sibling, false},
		{"owner without caps over child", &user, child, true},
		{"owner without caps over initial", &user, initialUserNS, false},
		{"other user over sibling", &user, sibling, false},
	} {
		if got := c.c.HasCapIn(c.ns, CapSysAdmin); got != c.want {
			t.Errorf("%s: HasCapIn = %v, want %v", c.name, got, c.want)
		}
	}
	if inChild.HasCap(CapSysAdmin) {
		t.Errorf("a capability of a child namespace counts in the initial one")
	}
	dropped := inChild
	dropped.Caps.Effective = 0
	if dropped.HasCapIn(child, CapSysAdmin) {
		t.Errorf("HasCapIn without the effective capability")
	}
}
