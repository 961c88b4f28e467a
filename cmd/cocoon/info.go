package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/cocoonrt/cocoon/sentry/syscalls"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionMain([]string) int {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Printf("cocoon %s", version)
	if rev != "" {
		fmt.Printf(" (%s)", rev)
	}
	fmt.Println()
	kvm := "kvm (available)"
	if _, err := os.Stat("/dev/kvm"); err != nil {
		kvm = "kvm (unavailable: no /dev/kvm)"
	}
	fmt.Printf("platforms: %s, ptrace; --platform=auto picks kvm when it starts, else ptrace\n", kvm)
	return 0
}

// syscallsMain prints the system call table: number, name, support, note.
func syscallsMain([]string) int {
	for nr, e := range syscalls.AMD64.Entries {
		if e.Fn == nil {
			continue
		}
		fmt.Printf("%3d  %-18s %-8s %s\n", nr, e.Name, e.Support, e.Note)
	}
	return 0
}
