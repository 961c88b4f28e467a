package mm

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// zeroPage stands for untouched anonymous pages in copies out of
// application memory; it is never written.
var zeroPage [pageSize]byte

// translateLocked returns the sentry's view of the page containing addr,
// populating it if needed, provided the VMA allows access.
func (mm *MemoryManager) translateLocked(addr uint64, access platform.AccessType) ([]byte, error) {
	pageAddr := arch.PageRoundDown(addr)
	v := mm.vmaAtLocked(addr)
	if v == nil {
		if v = mm.growStackLocked(addr); v == nil {
			return nil, errFault
		}
	}
	if access&^permsImplied(v.perms) != 0 {
		return nil, errFault
	}
	p, ok := mm.pages.lookup(pageAddr)
	if !ok && access == platform.Read && v.file == nil && v.shared == nil {
		// Reading untouched private anonymous memory reads zeroes: no
		// need to allocate it (Linux maps its zero page the same way), so
		// a read of a huge sparse buffer costs no memory.
		return zeroPage[:], nil
	}
	if !ok {
		signo, _, err := mm.populateLocked(v, addr)
		if err != nil || signo != 0 {
			return nil, errFault
		}
		p = mm.pages.get(pageAddr)
	}
	if access&platform.Write != 0 && !p.writable {
		// The kernel writes like the application would: to the address
		// space's own copy of a copy-on-write page.
		if err := mm.breakCOWLocked(v, pageAddr, p); err != nil {
			return nil, errFault
		}
	}
	return mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize}), nil
}

// CopyOut copies src to application memory at addr. It returns the number of
// bytes copied, and EFAULT if it stopped early.
func (mm *MemoryManager) CopyOut(addr uint64, src []byte) (int, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	defer mm.noteChargeLocked()
	done := 0
	for done < len(src) {
		a := addr + uint64(done)
		if a < addr {
			return done, errFault
		}
		pg, err := mm.translateLocked(a, platform.Write)
		if err != nil {
			return done, err
		}
		done += copy(pg[a%pageSize:], src[done:])
	}
	return done, nil
}

// CopyIn copies application memory at addr into dst.
func (mm *MemoryManager) CopyIn(addr uint64, dst []byte) (int, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	defer mm.noteChargeLocked()
	done := 0
	for done < len(dst) {
		a := addr + uint64(done)
		if a < addr {
			return done, errFault
		}
		pg, err := mm.translateLocked(a, platform.Read)
		if err != nil {
			return done, err
		}
		done += copy(dst[done:], pg[a%pageSize:])
	}
	return done, nil
}

// CopyInString reads a NUL-terminated string of at most maxLen bytes
// (without the NUL) at addr; a longer one is ENAMETOOLONG.
func (mm *MemoryManager) CopyInString(addr uint64, maxLen int) (string, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var buf []byte
	for a := addr; ; {
		if a < addr {
			return "", errFault
		}
		pg, err := mm.translateLocked(a, platform.Read)
		if err != nil {
			return "", err
		}
		chunk := pg[a%pageSize:]
		for i, b := range chunk {
			if b == 0 {
				return string(append(buf, chunk[:i]...)), nil
			}
			if len(buf)+i >= maxLen {
				return "", errNameLong
			}
		}
		buf = append(buf, chunk...)
		a += uint64(len(chunk))
	}
}
