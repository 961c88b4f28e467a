package boot

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The pod's PID namespace (CRI NamespaceMode POD, kubelet's
// shareProcessNamespace) holds the processes of every container that
// shares it. On Linux its PID 1 is the pod's pause container, and
// programs and tests rely on that: PID 1 is neither of the application
// containers' inits (critest reads /proc/1/cmdline and expects no
// container's process there), a container's init can exit and be
// restarted without taking the others with it, and orphans are reaped
// by PID 1. Cocoon runs no pause container, so the sentry starts an
// equivalent itself: a few dozen bytes of machine code, built here as a
// static ELF in a private read-only tmpfs, run as PID 1 of the pod's
// namespace (user 65535, no capabilities, as Kubernetes' pause image).
//
// The alternatives were weighed: making the first container's init PID 1
// would make its exit kill the namespace (and its restart impossible,
// since a dead namespace takes no new process), and a namespace without
// any PID 1 would show no /proc/1 and leave orphans without a reaper that
// /proc can show. A real process keeps every rule of pidns.go unchanged:
// orphans are reparented to it, signals from inside the namespace that it
// has no handler for are ignored, and it dies only when the pod ends
// (Kernel.KillAll at shutdown), which kills the namespace.
//
// The program, at pauseBase+pauseCode:
//
//	   0: b8 0d 00 00 00        mov    eax, 13              ; rt_sigaction
//	   5: bf 11 00 00 00        mov    edi, 17              ;   SIGCHLD,
//	  10: 48 8d 35 3f 00 00 00  lea    rsi, [rip+63]        ;   &act (80),
//	  17: 31 d2                 xor    edx, edx             ;   no old action,
//	  19: 41 ba 08 00 00 00     mov    r10d, 8              ;   sigset size
//	  25: 0f 05                 syscall
//	loop:
//	  27: b8 3d 00 00 00        mov    eax, 61              ; wait4
//	  32: 48 c7 c7 ff ff ff ff  mov    rdi, -1              ;   any child,
//	  39: 31 f6                 xor    esi, esi             ;   no status,
//	  41: 31 d2                 xor    edx, edx             ;   blocking,
//	  43: 45 31 d2              xor    r10d, r10d           ;   no rusage
//	  46: 0f 05                 syscall
//	  48: 48 85 c0              test   rax, rax
//	  51: 79 e6                 jns    loop                 ; reaped one: again
//	  53: b8 23 00 00 00        mov    eax, 35              ; nanosleep
//	  58: 48 8d 3d 2f 00 00 00  lea    rdi, [rip+47]        ;   &ts (112),
//	  65: 31 f6                 xor    esi, esi
//	  67: 0f 05                 syscall
//	  69: eb d4                 jmp    loop
//	handler:
//	  71: c3                    ret
//	restorer:
//	  72: b8 0f 00 00 00        mov    eax, 15              ; rt_sigreturn
//	  77: 0f 05                 syscall
//	  79: 00                    (padding)
//	act (80): handler, SA_RESTORER|SA_NOCLDSTOP, restorer, empty mask
//	ts (112): 1 s, 0 ns
//
// wait4 blocks while the pause process has children (orphans reparented
// to it) and reaps each as it exits. With none, wait4 fails (ECHILD) and
// it sleeps; the SIGCHLD handler, which does nothing, interrupts the
// sleep as soon as a reparented orphan exits, and the one-second timeout
// bounds how long an orphan that was already a zombie when it was
// reparented (which signals nothing) waits to be reaped.
const (
	pauseBase = 0x400000
	// pauseCode is the code's offset in the image: after the ELF header
	// and its one program header.
	pauseCode      = 64 + 56
	pauseHandler   = 71
	pauseRestorer  = 72
	pauseAct       = 80
	pauseTimespec  = 112
	pauseImageSize = pauseCode + pauseTimespec + 16
)

var pauseText = []byte{
	0xb8, 0x0d, 0x00, 0x00, 0x00,
	0xbf, 0x11, 0x00, 0x00, 0x00,
	0x48, 0x8d, 0x35, pauseAct - 17, 0x00, 0x00, 0x00,
	0x31, 0xd2,
	0x41, 0xba, 0x08, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	// loop:
	0xb8, 0x3d, 0x00, 0x00, 0x00,
	0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff,
	0x31, 0xf6,
	0x31, 0xd2,
	0x45, 0x31, 0xd2,
	0x0f, 0x05,
	0x48, 0x85, 0xc0,
	0x79, 0xe6,
	0xb8, 0x23, 0x00, 0x00, 0x00,
	0x48, 0x8d, 0x3d, pauseTimespec - 65, 0x00, 0x00, 0x00,
	0x31, 0xf6,
	0x0f, 0x05,
	0xeb, 0xd4,
	// handler:
	0xc3,
	// restorer:
	0xb8, 0x0f, 0x00, 0x00, 0x00,
	0x0f, 0x05,
}

// Linux's sigaction flags the program uses.
const (
	saNoCldStop = 0x1
	saRestorer  = 0x04000000
)

// pauseImage returns the pause program's ELF image: an ELF64 header and
// one read+execute PT_LOAD of the whole file at pauseBase.
func pauseImage() []byte {
	const (
		ehdrSize = 64
		phdrSize = 56
	)
	img := make([]byte, pauseImageSize)
	le := binary.LittleEndian
	copy(img, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* SysV ABI */})
	le.PutUint16(img[16:], 2)                   // e_type: ET_EXEC
	le.PutUint16(img[18:], 62)                  // e_machine: EM_X86_64
	le.PutUint32(img[20:], 1)                   // e_version
	le.PutUint64(img[24:], pauseBase+pauseCode) // e_entry
	le.PutUint64(img[32:], ehdrSize)            // e_phoff
	le.PutUint16(img[52:], ehdrSize)            // e_ehsize
	le.PutUint16(img[54:], phdrSize)            // e_phentsize
	le.PutUint16(img[56:], 1)                   // e_phnum
	le.PutUint16(img[58:], 64)                  // e_shentsize
	ph := img[ehdrSize:]
	le.PutUint32(ph[0:], 1)                 // PT_LOAD
	le.PutUint32(ph[4:], 4|1)               // PF_R|PF_X
	le.PutUint64(ph[8:], 0)                 // p_offset
	le.PutUint64(ph[16:], pauseBase)        // p_vaddr
	le.PutUint64(ph[24:], pauseBase)        // p_paddr
	le.PutUint64(ph[32:], uint64(len(img))) // p_filesz
	le.PutUint64(ph[40:], uint64(len(img))) // p_memsz
	le.PutUint64(ph[48:], 0x1000)           // p_align
	code := img[pauseCode:]
	copy(code, pauseText)
	act := code[pauseAct:]
	le.PutUint64(act[0:], pauseBase+pauseCode+pauseHandler)
	le.PutUint64(act[8:], saRestorer|saNoCldStop)
	le.PutUint64(act[16:], pauseBase+pauseCode+pauseRestorer)
	le.PutUint64(act[24:], 0)
	le.PutUint64(code[pauseTimespec:], 1) // tv_sec
	return img
}

// pauseUID is the user the pause process runs as (Kubernetes' pause
// image runs as 65535).
const pauseUID = 65535

// PodPIDNamespace returns the pod's shared PID namespace, making it and
// starting its pause process on first use.
func (p *Pod) PodPIDNamespace() (*kernel.PIDNamespace, error) {
	p.podNSMu.Lock()
	defer p.podNSMu.Unlock()
	if p.podNS != nil {
		return p.podNS, nil
	}
	fs := tmpfs.New(p.mf, tmpfs.Options{Mode: 0o755, Dev: pauseDev})
	dir, ok := fs.Root().(*tmpfs.Dir)
	if !ok {
		return nil, fmt.Errorf("pod PID namespace: tmpfs root is %T", fs.Root())
	}
	_, f, err := dir.Create("pause", unix.O_WRONLY, 0o555, vfs.Owner{})
	if err != nil {
		return nil, fmt.Errorf("pod PID namespace: making the pause program: %w", err)
	}
	img := pauseImage()
	_, err = f.WriteAt(img, 0)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("pod PID namespace: writing the pause program: %w", err)
	}
	root := vfs.NewRoot(fs.Root())
	root.SetReadOnly()
	k := p.Kernel
	ns := k.NewPIDNamespace()
	c := k.NewContainerIn("", root, "", ns)
	tg, err := k.StartProcess(c, kernel.ProcessOptions{
		Argv:       []string{"/pause"},
		Creds:      kernel.NewCredentials(pauseUID, pauseUID, nil, 0),
		NoNewPrivs: true,
		Umask:      0o022,
		FDs:        k.NewFDTable(),
		Init:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("pod PID namespace: starting the pause process: %w", err)
	}
	p.podNS = ns
	p.Log.Info("pod PID namespace made", "pausePID", tg.ID())
	return ns, nil
}

// pauseDev is the device number of the pause program's tmpfs.
const pauseDev = 0x2d
