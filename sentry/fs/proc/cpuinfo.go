package proc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

// cpuIdent is what /proc/cpuinfo shows of a CPU, from CPUID.
type cpuIdent struct {
	vendor, modelName     string
	family, model, step   uint32
	level                 uint32
	clflush               uint32
	physBits, virtBits    uint32
	flags                 []string
	haveIdent, haveExtent bool
}

// cpuFlag names one CPUID feature bit as Linux's cpufeatures.h does.
type cpuFlag struct {
	word int // index into the registers read below
	bit  uint
	name string
}

// Feature registers, in the order of Linux's capability words (which is
// the order /proc/cpuinfo lists flags in).
const (
	w1EDX  = iota // CPUID 1 EDX (word 0)
	wX1EDX        // CPUID 0x80000001 EDX (word 1)
	w1ECX         // CPUID 1 ECX (word 4)
	wX1ECX        // CPUID 0x80000001 ECX (word 6)
	w7EBX         // CPUID 7.0 EBX (word 9)
	wDEAX         // CPUID 0xd.1 EAX (word 10)
	w7ECX         // CPUID 7.0 ECX (word 16)
	w7EDX         // CPUID 7.0 EDX (word 18)
	numWords
)

var cpuFlags = []cpuFlag{
	{w1EDX, 0, "fpu"}, {w1EDX, 1, "vme"}, {w1EDX, 2, "de"}, {w1EDX, 3, "pse"},
	{w1EDX, 4, "tsc"}, {w1EDX, 5, "msr"}, {w1EDX, 6, "pae"}, {w1EDX, 7, "mce"},
	{w1EDX, 8, "cx8"}, {w1EDX, 9, "apic"}, {w1EDX, 11, "sep"}, {w1EDX, 12, "mtrr"},
	{w1EDX, 13, "pge"}, {w1EDX, 14, "mca"}, {w1EDX, 15, "cmov"}, {w1EDX, 16, "pat"},
	{w1EDX, 17, "pse36"}, {w1EDX, 19, "clflush"}, {w1EDX, 21, "dts"}, {w1EDX, 22, "acpi"},
	{w1EDX, 23, "mmx"}, {w1EDX, 24, "fxsr"}, {w1EDX, 25, "sse"}, {w1EDX, 26, "sse2"},
	{w1EDX, 27, "ss"}, {w1EDX, 28, "ht"}, {w1EDX, 29, "tm"}, {w1EDX, 31, "pbe"},
	{wX1EDX, 11, "syscall"}, {wX1EDX, 20, "nx"}, {wX1EDX, 22, "mmxext"},
	{wX1EDX, 25, "fxsr_opt"}, {wX1EDX, 26, "pdpe1gb"}, {wX1EDX, 27, "rdtscp"},
	{wX1EDX, 29, "lm"}, {wX1EDX, 30, "3dnowext"}, {wX1EDX, 31, "3dnow"},
	{w1ECX, 0, "pni"}, {w1ECX, 1, "pclmulqdq"}, {w1ECX, 2, "dtes64"}, {w1ECX, 3, "monitor"},
	{w1ECX, 4, "ds_cpl"}, {w1ECX, 5, "vmx"}, {w1ECX, 6, "smx"}, {w1ECX, 7, "est"},
	{w1ECX, 8, "tm2"}, {w1ECX, 9, "ssse3"}, {w1ECX, 10, "cid"}, {w1ECX, 11, "sdbg"},
	{w1ECX, 12, "fma"}, {w1ECX, 13, "cx16"}, {w1ECX, 14, "xtpr"}, {w1ECX, 15, "pdcm"},
	{w1ECX, 17, "pcid"}, {w1ECX, 18, "dca"}, {w1ECX, 19, "sse4_1"}, {w1ECX, 20, "sse4_2"},
	{w1ECX, 21, "x2apic"}, {w1ECX, 22, "movbe"}, {w1ECX, 23, "popcnt"},
	{w1ECX, 24, "tsc_deadline_timer"}, {w1ECX, 25, "aes"}, {w1ECX, 26, "xsave"},
	{w1ECX, 28, "avx"}, {w1ECX, 29, "f16c"}, {w1ECX, 30, "rdrand"}, {w1ECX, 31, "hypervisor"},
	{wX1ECX, 0, "lahf_lm"}, {wX1ECX, 1, "cmp_legacy"}, {wX1ECX, 2, "svm"}, {wX1ECX, 3, "extapic"},
	{wX1ECX, 4, "cr8_legacy"}, {wX1ECX, 5, "abm"}, {wX1ECX, 6, "sse4a"}, {wX1ECX, 7, "misalignsse"},
	{wX1ECX, 8, "3dnowprefetch"}, {wX1ECX, 9, "osvw"}, {wX1ECX, 10, "ibs"}, {wX1ECX, 11, "xop"},
	{wX1ECX, 12, "skinit"}, {wX1ECX, 13, "wdt"}, {wX1ECX, 15, "lwp"}, {wX1ECX, 16, "fma4"},
	{wX1ECX, 17, "tce"}, {wX1ECX, 19, "nodeid_msr"}, {wX1ECX, 21, "tbm"}, {wX1ECX, 22, "topoext"},
	{wX1ECX, 23, "perfctr_core"}, {wX1ECX, 24, "perfctr_nb"}, {wX1ECX, 26, "bpext"},
	{wX1ECX, 28, "perfctr_llc"}, {wX1ECX, 29, "mwaitx"},
	{w7EBX, 0, "fsgsbase"}, {w7EBX, 1, "tsc_adjust"}, {w7EBX, 3, "bmi1"}, {w7EBX, 4, "hle"},
	{w7EBX, 5, "avx2"}, {w7EBX, 7, "smep"}, {w7EBX, 8, "bmi2"}, {w7EBX, 9, "erms"},
	{w7EBX, 10, "invpcid"}, {w7EBX, 11, "rtm"}, {w7EBX, 14, "mpx"}, {w7EBX, 16, "avx512f"},
	{w7EBX, 17, "avx512dq"}, {w7EBX, 18, "rdseed"}, {w7EBX, 19, "adx"}, {w7EBX, 20, "smap"},
	{w7EBX, 21, "avx512ifma"}, {w7EBX, 23, "clflushopt"}, {w7EBX, 24, "clwb"},
	{w7EBX, 25, "intel_pt"}, {w7EBX, 26, "avx512pf"}, {w7EBX, 27, "avx512er"},
	{w7EBX, 28, "avx512cd"}, {w7EBX, 29, "sha_ni"}, {w7EBX, 30, "avx512bw"}, {w7EBX, 31, "avx512vl"},
	{wDEAX, 0, "xsaveopt"}, {wDEAX, 1, "xsavec"}, {wDEAX, 2, "xgetbv1"}, {wDEAX, 3, "xsaves"},
	{w7ECX, 1, "avx512vbmi"}, {w7ECX, 2, "umip"}, {w7ECX, 3, "pku"}, {w7ECX, 4, "ospke"},
	{w7ECX, 5, "waitpkg"}, {w7ECX, 6, "avx512_vbmi2"}, {w7ECX, 8, "gfni"}, {w7ECX, 9, "vaes"},
	{w7ECX, 10, "vpclmulqdq"}, {w7ECX, 11, "avx512_vnni"}, {w7ECX, 12, "avx512_bitalg"},
	{w7ECX, 14, "avx512_vpopcntdq"}, {w7ECX, 16, "la57"}, {w7ECX, 22, "rdpid"},
	{w7ECX, 25, "cldemote"}, {w7ECX, 27, "movdiri"}, {w7ECX, 28, "movdir64b"},
	{w7EDX, 2, "avx512_4vnniw"}, {w7EDX, 3, "avx512_4fmaps"}, {w7EDX, 4, "fsrm"},
	{w7EDX, 8, "avx512_vp2intersect"}, {w7EDX, 10, "md_clear"}, {w7EDX, 14, "serialize"},
	{w7EDX, 16, "tsxldtrk"}, {w7EDX, 18, "pconfig"}, {w7EDX, 19, "arch_lbr"},
	{w7EDX, 22, "amx_bf16"}, {w7EDX, 23, "avx512_fp16"}, {w7EDX, 24, "amx_tile"},
	{w7EDX, 25, "amx_int8"}, {w7EDX, 28, "flush_l1d"}, {w7EDX, 29, "arch_capabilities"},
}

// identifyCPU reads the host CPU's identification with CPUID.
func identifyCPU() cpuIdent {
	var c cpuIdent
	maxLeaf, b, cx, d := arch.CPUID(0, 0)
	if maxLeaf == 0 {
		return c
	}
	c.haveIdent = true
	c.level = maxLeaf
	var v [12]byte
	binary.LittleEndian.PutUint32(v[0:], b)
	binary.LittleEndian.PutUint32(v[4:], d)
	binary.LittleEndian.PutUint32(v[8:], cx)
	c.vendor = strings.TrimRight(string(v[:]), "\x00")

	var words [numWords]uint32
	a, b, cx, d := arch.CPUID(1, 0)
	words[w1EDX], words[w1ECX] = d, cx
	c.step = a & 0xf
	c.model = (a >> 4) & 0xf
	c.family = (a >> 8) & 0xf
	if c.family == 0xf {
		c.family += (a >> 20) & 0xff
	}
	if c.family >= 6 {
		c.model |= ((a >> 16) & 0xf) << 4
	}
	c.clflush = ((b >> 8) & 0xff) * 8
	if maxLeaf >= 7 {
		_, b, cx, d = arch.CPUID(7, 0)
		words[w7EBX], words[w7ECX], words[w7EDX] = b, cx, d
	}
	if maxLeaf >= 0xd {
		a, _, _, _ = arch.CPUID(0xd, 1)
		words[wDEAX] = a
	}
	maxExt, _, _, _ := arch.CPUID(0x80000000, 0)
	if maxExt >= 0x80000001 {
		_, _, cx, d = arch.CPUID(0x80000001, 0)
		words[wX1EDX], words[wX1ECX] = d, cx
	}
	if maxExt >= 0x80000004 {
		var name [48]byte
		for i := uint32(0); i < 3; i++ {
			a, b, cx, d := arch.CPUID(0x80000002+i, 0)
			for j, r := range []uint32{a, b, cx, d} {
				binary.LittleEndian.PutUint32(name[i*16+uint32(j)*4:], r)
			}
		}
		c.modelName = strings.TrimSpace(strings.TrimRight(string(name[:]), "\x00"))
	}
	if maxExt >= 0x80000008 {
		a, _, _, _ = arch.CPUID(0x80000008, 0)
		c.physBits, c.virtBits = a&0xff, (a>>8)&0xff
		c.haveExtent = true
	}
	for _, f := range cpuFlags {
		if words[f.word]&(1<<f.bit) != 0 {
			c.flags = append(c.flags, f.name)
		}
	}
	return c
}

// formatCPUInfo renders /proc/cpuinfo for ncpu CPUs like the host's.
// Frequencies, caches, topology and bogomips are not measured and left
// out.
func formatCPUInfo(ncpu int) []byte {
	return formatCPUIdent(identifyCPU(), ncpu)
}

func formatCPUIdent(c cpuIdent, ncpu int) []byte {
	var b bytes.Buffer
	for i := 0; i < ncpu; i++ {
		fmt.Fprintf(&b, "processor\t: %d\n", i)
		if c.haveIdent {
			fmt.Fprintf(&b, "vendor_id\t: %s\n", c.vendor)
			fmt.Fprintf(&b, "cpu family\t: %d\n", c.family)
			fmt.Fprintf(&b, "model\t\t: %d\n", c.model)
			if c.modelName != "" {
				fmt.Fprintf(&b, "model name\t: %s\n", c.modelName)
			}
			fmt.Fprintf(&b, "stepping\t: %d\n", c.step)
			fmt.Fprintf(&b, "cpuid level\t: %d\n", c.level)
			fmt.Fprintf(&b, "flags\t\t: %s\n", strings.Join(c.flags, " "))
			fmt.Fprintf(&b, "clflush size\t: %d\n", c.clflush)
			fmt.Fprintf(&b, "cache_alignment\t: %d\n", c.clflush)
			if c.haveExtent {
				fmt.Fprintf(&b, "address sizes\t: %d bits physical, %d bits virtual\n", c.physBits, c.virtBits)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
