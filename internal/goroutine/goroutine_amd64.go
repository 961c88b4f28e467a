package goroutine

// id returns the runtime's g pointer (goroutine_amd64.s).
func id() uintptr
