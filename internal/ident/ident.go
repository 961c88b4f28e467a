// Package ident checks the IDs that become path components: pod,
// container and snapshot IDs.
//
// It is hand-written rather than a regular expression because Go compiles
// a bounded repetition like {0,127} into one instruction per repetition:
// such a pattern, compiled at init, costs every cocoon process (the sentry
// and the gofer of each pod included) over 100 KiB of heap.
package ident

// Valid reports whether id is 1 to max ASCII letters, digits, '_', '.' or
// '-', the first a letter or a digit: no '/', no leading '.', nothing a
// shell or a mount option string would trip on.
func Valid(id string, max int) bool {
	if len(id) == 0 || len(id) > max || !alnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !alnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
