package podsandbox

import "testing"

// The memory file holds the applications' memory: the pod's limit less
// the RuntimeClass's overhead, which stays for the sandbox itself.
func TestApplicationMemory(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		limit, overhead int64
		want            uint64
	}{
		{0, 0, 0},
		{0, 32 * mib, 0},
		{512 * mib, 0, 512 * mib},
		{544 * mib, 32 * mib, 512 * mib},
		// An overhead as large as the limit leaves the limit alone
		// rather than an empty memory file.
		{32 * mib, 32 * mib, 32 * mib},
	} {
		cfg := &PodConfig{Resources: Resources{MemoryLimitBytes: c.limit}, MemoryOverheadBytes: c.overhead}
		if got := applicationMemory(cfg); got != c.want {
			t.Errorf("limit %d MiB, overhead %d MiB: memory file of %d MiB, want %d MiB", c.limit/mib, c.overhead/mib, got/mib, c.want/mib)
		}
	}
}
