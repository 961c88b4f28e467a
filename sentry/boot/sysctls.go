package boot

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// applySysctls sets the spec's sysctls on k before anything runs, in name
// order so that an error is the same from run to run.
func applySysctls(k *kernel.Kernel, sysctls map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(sysctls)) {
		if err := k.SetSysctl(name, sysctls[name]); err != nil {
			return fmt.Errorf("sysctls: %w", err)
		}
	}
	return nil
}
