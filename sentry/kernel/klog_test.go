package kernel

import (
	"strings"
	"testing"
	"time"
)

func TestKernelLogReads(t *testing.T) {
	k := &Kernel{BootTime: time.Now().Add(-1500 * time.Millisecond)}
	k.printk(klogInfo, "first")
	k.printk(klogErr, "second\n")
	l := &k.klog
	all := l.readAll(1<<20, false)
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "<6>[    1.5") || !strings.HasSuffix(lines[0], "] first") || !strings.HasPrefix(lines[1], "<3>[") || !strings.HasSuffix(lines[1], "] second") {
		t.Fatalf("READ_ALL = %q", all)
	}
	// A buffer too small for both gets the newest.
	if got := l.readAll(len(lines[1])+1, false); got != lines[1]+"\n" {
		t.Errorf("READ_ALL into %d bytes = %q", len(lines[1])+1, got)
	}
	// READ returns records once, a record in parts if it must.
	got, n, _ := l.read(nil, 5)
	if n != 5 || got != all[:5] {
		t.Errorf("READ of 5 bytes = %q", got)
	}
	got, _, _ = l.read(nil, 1<<20)
	if got != all[5:] {
		t.Errorf("READ of the rest = %q, want %q", got, all[5:])
	}
	// CLEAR hides what was logged before it from READ_ALL.
	l.mu.Lock()
	l.clearSeq = l.next
	l.mu.Unlock()
	k.printk(klogInfo, "third")
	if got := l.readAll(1<<20, true); !strings.HasSuffix(got, "] third\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("READ_ALL after CLEAR = %q", got)
	}
	if got := l.readAll(1<<20, false); got != "" {
		t.Errorf("READ_ALL after READ_CLEAR = %q", got)
	}
}

func TestKernelLogDropsOldest(t *testing.T) {
	k := &Kernel{BootTime: time.Now()}
	msg := strings.Repeat("x", 1000)
	for i := range 200 {
		k.printk(klogInfo, "%d %s", i, msg)
	}
	l := &k.klog
	if l.bytes > klogBufferBytes {
		t.Errorf("the log holds %d bytes, more than %d", l.bytes, klogBufferBytes)
	}
	all := l.readAll(1<<30, false)
	if !strings.Contains(all, "] 199 x") || strings.Contains(all, "] 0 x") {
		t.Error("the log did not keep the newest records and drop the oldest")
	}
	// A reader behind the dropped records resumes at the oldest kept.
	got, _, _ := l.read(nil, 1<<30)
	if got != all {
		t.Errorf("READ after drops returned %d bytes, want the %d kept", len(got), len(all))
	}
}

func TestKernelLogRatelimit(t *testing.T) {
	k := &Kernel{BootTime: time.Now()}
	logged := 0
	for i := range 3 * klogBurst {
		if k.printkRatelimited(klogInfo, "fault %d", i) {
			logged++
		}
	}
	if logged != klogBurst {
		t.Errorf("%d of %d messages logged in one interval, want %d", logged, 3*klogBurst, klogBurst)
	}
	if got := strings.Count(k.klog.readAll(1<<20, false), "\n"); got != klogBurst {
		t.Errorf("%d records, want %d", got, klogBurst)
	}
}
