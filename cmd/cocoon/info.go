package main

import (
	"fmt"

	"github.com/cocoonrt/cocoon/sentry/syscalls"
)

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
