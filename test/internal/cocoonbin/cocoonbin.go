// Package cocoonbin finds or builds the cocoon binary for tests that run
// programs in sandboxes.
package cocoonbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Path returns the cocoon binary named by $COCOON_BIN, or builds one into
// dir from the module the test runs in.
func Path(dir string) (string, error) {
	if p := os.Getenv("COCOON_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "cocoon")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cocoon")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cocoon: %v\n%s", err, out)
	}
	return bin, nil
}

// Do returns the arguments that start `cocoon do` for a test run: with
// --platform=NAME when $COCOON_PLATFORM names one (kvm, systrap, ptrace),
// so that a suite runs on each platform by name; unset, cocoon picks
// ("auto").
func Do() []string {
	if pl := os.Getenv("COCOON_PLATFORM"); pl != "" {
		return []string{"do", "--platform=" + pl}
	}
	return []string{"do"}
}
