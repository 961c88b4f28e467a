// Command churn creates, writes and removes many files in a directory, in
// the two orders a program may remove a file in: closed first, then
// unlinked; or unlinked while still open, then closed. It exits non-zero
// on the first failure.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory to work in")
	n := flag.Int("n", 10000, "number of files")
	flag.Parse()
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i)
	}
	for i := range *n {
		name := filepath.Join(*dir, fmt.Sprintf("f%d", i))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			fail(err)
		}
		if _, err := f.Write(data); err != nil {
			fail(err)
		}
		unlinkFirst := i%2 == 1
		if unlinkFirst {
			if err := os.Remove(name); err != nil {
				fail(err)
			}
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
		if !unlinkFirst {
			if err := os.Remove(name); err != nil {
				fail(err)
			}
		}
	}
	// Removed directories go the same way.
	for i := range *n / 10 {
		name := filepath.Join(*dir, fmt.Sprintf("d%d", i))
		if err := os.Mkdir(name, 0o755); err != nil {
			fail(err)
		}
		if _, err := os.Stat(filepath.Join(name, "missing")); !os.IsNotExist(err) {
			fail(fmt.Errorf("stat of a missing name: %v", err))
		}
		if err := os.Remove(name); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "churn:", err)
	os.Exit(1)
}
