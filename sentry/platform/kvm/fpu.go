package kvm

import (
	"encoding/binary"
	"fmt"
)

// Floating-point state.
//
// Each task (context) has its own FPU/SSE/AVX state. It is kept in the
// vCPU that last ran the task (KVM saves and restores the guest FPU around
// every KVM_RUN itself) and copied out only when that vCPU is about to run
// another task: KVM_GET_XSAVE/KVM_SET_XSAVE when the guest has XSAVE,
// KVM_GET_FPU/KVM_SET_FPU (legacy x87/SSE state) otherwise. A syscall round
// trip therefore costs no FPU ioctl.
//
// The platform's image of the state is the XSAVE standard format (4096
// bytes, struct kvm_xsave) or, without XSAVE, the 512-byte FXSAVE format
// (SDM Vol. 1 Table 10-2); the first 512 bytes are the same in both.

// fpFormat says which image the platform uses.
type fpFormat int

const (
	fpFXSAVE fpFormat = iota + 1
	fpXSAVE
)

// Offsets in the FXSAVE area and the XSAVE header (SDM Vol. 1 10.5.1,
// 13.4.2).
const (
	fxFCW        = 0
	fxFSW        = 2
	fxFTW        = 4
	fxFOP        = 6
	fxFIP        = 8
	fxFDP        = 16
	fxMXCSR      = 24
	fxMXCSRMask  = 28
	fxST0        = 32
	fxXMM0       = 160
	fxsaveSize   = 512
	xsaveHdrBV   = 512 // XSTATE_BV
	xsaveHdrComp = 520 // XCOMP_BV: 0 in the standard format
	xsaveHdrEnd  = 576

	// fcwInit and mxcsrInit are the state after FNINIT and at reset of
	// MXCSR, what Linux gives a new program (init_fpstate).
	fcwInit   = 0x37f
	mxcsrInit = 0x1f80
	// mxcsrValid are the MXCSR bits that exist on every x86-64 CPU
	// (MXCSR_MASK is 0xffff on all of them, DAZ included); setting others
	// makes FXRSTOR/XRSTOR fault, and KVM_SET_XSAVE refuses them.
	mxcsrValid = 0xffff
)

func (f fpFormat) size() int {
	if f == fpXSAVE {
		return sizeofKVMXSAVE
	}
	return fxsaveSize
}

// initFPImage returns the initial state of a new program.
func initFPImage(f fpFormat) []byte {
	img := make([]byte, f.size())
	le := binary.LittleEndian
	le.PutUint16(img[fxFCW:], fcwInit)
	le.PutUint32(img[fxMXCSR:], mxcsrInit)
	if f == fpXSAVE {
		// x87 and SSE come from the legacy area; every other
		// component is in its initial state.
		le.PutUint64(img[xsaveHdrBV:], xfeatureX87|xfeatureSSE)
	}
	return img
}

// importFPImage converts a state the kernel supplied (an FXSAVE area, or an
// XSAVE image with its header) into the platform's format, clearing what
// the hardware would refuse: MXCSR reserved bits, XSTATE_BV bits outside
// XCR0, a compacted-format XCOMP_BV and the header's reserved bytes. The
// state comes from the application (sigreturn), so it must never make the
// vCPU unusable.
func importFPImage(f fpFormat, src []byte, xcr0 uint64) ([]byte, error) {
	if len(src) < fxsaveSize {
		return nil, fmt.Errorf("kvm: FP state of %d bytes, want at least %d", len(src), fxsaveSize)
	}
	img := make([]byte, f.size())
	le := binary.LittleEndian
	if f == fpXSAVE && len(src) >= xsaveHdrEnd {
		copy(img, src)
		// The legacy area is authoritative: with XSTATE_BV's x87
		// and SSE bits clear, XRSTOR would ignore edits to it and
		// load the initial state instead (SDM Vol. 1 13.8.1).
		le.PutUint64(img[xsaveHdrBV:], le.Uint64(img[xsaveHdrBV:])&xcr0|xfeatureX87|xfeatureSSE)
		clear(img[xsaveHdrComp:xsaveHdrEnd])
	} else {
		copy(img, src[:fxsaveSize])
		if f == fpXSAVE {
			le.PutUint64(img[xsaveHdrBV:], xfeatureX87|xfeatureSSE)
		}
	}
	le.PutUint32(img[fxMXCSR:], le.Uint32(img[fxMXCSR:])&mxcsrValid)
	return img, nil
}

// fxsaveFromKVMFPU writes f as an FXSAVE area into dst. struct kvm_fpu
// holds the FXSAVE fields one for one (arch/x86/kvm/x86.c
// kvm_arch_vcpu_ioctl_get_fpu).
func fxsaveFromKVMFPU(f *kvmFPU, dst []byte) {
	le := binary.LittleEndian
	le.PutUint16(dst[fxFCW:], f.FCW)
	le.PutUint16(dst[fxFSW:], f.FSW)
	dst[fxFTW] = f.FTWX
	dst[fxFTW+1] = 0
	le.PutUint16(dst[fxFOP:], f.LastOpcode)
	le.PutUint64(dst[fxFIP:], f.LastIP)
	le.PutUint64(dst[fxFDP:], f.LastDP)
	le.PutUint32(dst[fxMXCSR:], f.MXCSR)
	for i := range f.FPR {
		copy(dst[fxST0+16*i:], f.FPR[i][:])
	}
	for i := range f.XMM {
		copy(dst[fxXMM0+16*i:], f.XMM[i][:])
	}
}

// kvmFPUFromFXSAVE is the inverse of fxsaveFromKVMFPU.
func kvmFPUFromFXSAVE(src []byte, f *kvmFPU) {
	le := binary.LittleEndian
	f.FCW = le.Uint16(src[fxFCW:])
	f.FSW = le.Uint16(src[fxFSW:])
	f.FTWX = src[fxFTW]
	f.LastOpcode = le.Uint16(src[fxFOP:])
	f.LastIP = le.Uint64(src[fxFIP:])
	f.LastDP = le.Uint64(src[fxFDP:])
	f.MXCSR = le.Uint32(src[fxMXCSR:])
	for i := range f.FPR {
		copy(f.FPR[i][:], src[fxST0+16*i:])
	}
	for i := range f.XMM {
		copy(f.XMM[i][:], src[fxXMM0+16*i:])
	}
}

// fpuExceptionCode returns the si_code of a #MF or #XM, computed from the
// FPU state as Linux's fpu__exception_code does: the first unmasked
// pending exception among invalid operation, divide by zero, overflow,
// underflow or denormal, and precision.
func fpuExceptionCode(img []byte, vector int) int {
	le := binary.LittleEndian
	var err uint32
	if vector == vectorMF {
		cwd := le.Uint16(img[fxFCW:])
		swd := le.Uint16(img[fxFSW:])
		err = uint32(swd &^ cwd)
	} else {
		mxcsr := le.Uint32(img[fxMXCSR:])
		err = ^(mxcsr >> 7) & mxcsr
	}
	switch {
	case err&0x001 != 0:
		return fpeFltInv
	case err&0x004 != 0:
		return fpeFltDiv
	case err&0x008 != 0:
		return fpeFltOvf
	case err&0x012 != 0:
		return fpeFltUnd
	case err&0x020 != 0:
		return fpeFltRes
	}
	return 0
}

// saveFP reads the vCPU's FPU state into dst (format size).
func (v *vCPU) saveFP(f fpFormat, dst []byte) error { return v.be.saveFP(f, dst) }

// loadFP loads src (format size) into the vCPU.
func (v *vCPU) loadFP(f fpFormat, src []byte) error { return v.be.loadFP(f, src) }

// saveFP implements vcpuBackend.saveFP.
func (b kvmBackend) saveFP(f fpFormat, dst []byte) error {
	if f == fpXSAVE {
		if err := getXSAVE(b.fd, dst); err != nil {
			return fmt.Errorf("kvm: KVM_GET_XSAVE: %w", err)
		}
		return nil
	}
	var k kvmFPU
	if err := getFPU(b.fd, &k); err != nil {
		return fmt.Errorf("kvm: KVM_GET_FPU: %w", err)
	}
	fxsaveFromKVMFPU(&k, dst)
	return nil
}

// loadFP implements vcpuBackend.loadFP.
func (b kvmBackend) loadFP(f fpFormat, src []byte) error {
	if f == fpXSAVE {
		if err := setXSAVE(b.fd, src); err != nil {
			return fmt.Errorf("kvm: KVM_SET_XSAVE: %w", err)
		}
		return nil
	}
	var k kvmFPU
	kvmFPUFromFXSAVE(src, &k)
	if err := setFPU(b.fd, &k); err != nil {
		return fmt.Errorf("kvm: KVM_SET_FPU: %w", err)
	}
	return nil
}
