package podsandbox

import "testing"

// The memory file holds the applications' memory: the pod's limit less
// the RuntimeClass's overhead, which stays for the sandbox itself.
func TestPodMemory(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		limit, overhead int64
		app, sandbox    uint64
	}{
		{0, 0, 0, 0},
		{0, 32 * mib, 0, 0},
		{512 * mib, 0, 512 * mib, 0},
		{544 * mib, 32 * mib, 512 * mib, 32 * mib},
		// An overhead as large as the limit leaves the limit alone
		// rather than an empty memory file.
		{32 * mib, 32 * mib, 32 * mib, 0},
	} {
		cfg := &PodConfig{Resources: Resources{MemoryLimitBytes: c.limit}, MemoryOverheadBytes: c.overhead}
		if app, sandbox := podMemory(cfg); app != c.app || sandbox != c.sandbox {
			t.Errorf("limit %d MiB, overhead %d MiB: memory file of %d MiB and %d MiB for the sandbox, want %d and %d",
				c.limit/mib, c.overhead/mib, app/mib, sandbox/mib, c.app/mib, c.sandbox/mib)
		}
	}
}
