package vdso

import "encoding/binary"

// Unwind information, so that a debugger or a libgcc unwinder (backtrace(3)
// from a signal handler, asynchronous thread cancellation) can step out of
// a vDSO function as out of Linux's. Every function here leaves the stack
// untouched: throughout, the caller's frame is at rsp+8 and the return
// address at rsp. One CIE says exactly that, and each function's FDE adds
// nothing to it.

// DWARF call frame constants.
const (
	dwEHPEPcrelSdata4   = 0x1b // DW_EH_PE_pcrel | DW_EH_PE_sdata4
	dwEHPEUdata4        = 0x03
	dwEHPEDatarelSdata4 = 0x3b // DW_EH_PE_datarel | DW_EH_PE_sdata4
	dwCFADefCFA         = 0x0c
	dwCFAOffset         = 0x80 // | register
	dwRegRSP            = 7
	dwRegRIP            = 16

	cieSize = 24
	fdeSize = 24
)

func ehFrameSize(nfns int) int    { return cieSize + fdeSize*nfns + 4 }
func ehFrameHdrSize(nfns int) int { return 12 + 8*nfns }

// ehFrame renders .eh_frame at address ehAddr for fns in .text at textAddr.
func ehFrame(ehAddr, textAddr uint64, fns []function) []byte {
	le := binary.LittleEndian
	b := make([]byte, ehFrameSize(len(fns)))
	// CIE.
	le.PutUint32(b[0:], cieSize-4) // length
	le.PutUint32(b[4:], 0)         // CIE id
	copy(b[8:], []byte{
		1,           // version
		'z', 'R', 0, // augmentation: FDE pointer encoding follows
		1,        // code alignment factor
		0x78,     // data alignment factor: -8 (SLEB128)
		dwRegRIP, // return address register
		1,        // augmentation data length
		dwEHPEPcrelSdata4,
		dwCFADefCFA, dwRegRSP, 8, // CFA = rsp + 8
		dwCFAOffset | dwRegRIP, 1, // return address at CFA - 8
	}) // the rest is DW_CFA_nop padding
	for i, f := range fns {
		off := cieSize + i*fdeSize
		e := b[off:]
		le.PutUint32(e[0:], fdeSize-4)
		le.PutUint32(e[4:], uint32(off+4))                                                   // back to the CIE
		le.PutUint32(e[8:], uint32(int32(int64(textAddr+f.off)-int64(ehAddr)-int64(off+8)))) // pc_begin, pc-relative
		le.PutUint32(e[12:], uint32(f.size))                                                 // pc_range
		// augmentation data length 0, then DW_CFA_nop padding.
	}
	// A zero length ends the section.
	return b
}

// ehFrameHdr renders .eh_frame_hdr at hdrAddr: a pointer to .eh_frame at
// ehAddr and the table unwinders search, sorted by address (fns are).
func ehFrameHdr(hdrAddr, ehAddr, textAddr uint64, fns []function) []byte {
	le := binary.LittleEndian
	b := make([]byte, ehFrameHdrSize(len(fns)))
	b[0], b[1], b[2], b[3] = 1, dwEHPEPcrelSdata4, dwEHPEUdata4, dwEHPEDatarelSdata4
	le.PutUint32(b[4:], uint32(int32(int64(ehAddr)-int64(hdrAddr+4))))
	le.PutUint32(b[8:], uint32(len(fns)))
	for i, f := range fns {
		t := b[12+8*i:]
		le.PutUint32(t[0:], uint32(int32(int64(textAddr+f.off)-int64(hdrAddr))))
		le.PutUint32(t[4:], uint32(int32(int64(ehAddr)+int64(cieSize+i*fdeSize)-int64(hdrAddr))))
	}
	return b
}
