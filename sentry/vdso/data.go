package vdso

import (
	"encoding/binary"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// DataSize is the size of the data page ([vvar]), mapped right below the
// image.
const DataSize = 4096

// Offsets of the data page's fields. The page never changes once made: the
// host functions are at the same address in every address space of the
// platform for the life of the sentry, and the CPU and node are constants
// of the sentry's scheduler model.
const (
	// dataClockGettime .. dataClockGetres are the addresses of the host
	// vDSO's functions, 0 where there is none (the trampoline then makes
	// the system call).
	dataClockGettime = 0x00
	dataGettimeofday = 0x08
	dataTime         = 0x10
	dataClockGetres  = 0x18
	// dataCPU and dataNode are the uint32s getcpu answers with.
	dataCPU  = 0x20
	dataNode = 0x24
)

// Data is what the data page holds.
type Data struct {
	// Host are the host vDSO functions the trampolines forward to.
	Host platform.HostVDSO
	// CPU and Node are what getcpu reports: the sentry's getcpu(2)
	// (sentry/syscalls sys_process.go) reports CPU 0 and node 0 for every
	// task, and so does the vDSO.
	CPU, Node uint32
}

// page renders the data page.
func (d Data) page() []byte {
	b := make([]byte, DataSize)
	le := binary.LittleEndian
	le.PutUint64(b[dataClockGettime:], d.Host.ClockGettime)
	le.PutUint64(b[dataGettimeofday:], d.Host.Gettimeofday)
	le.PutUint64(b[dataTime:], d.Host.Time)
	le.PutUint64(b[dataClockGetres:], d.Host.ClockGetres)
	le.PutUint32(b[dataCPU:], d.CPU)
	le.PutUint32(b[dataNode:], d.Node)
	return b
}
