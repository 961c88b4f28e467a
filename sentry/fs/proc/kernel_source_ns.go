package proc

import "github.com/cocoonrt/cocoon/sentry/kernel"

// The kernel Source's NamespaceSource: the cgroup and time namespaces of
// kernel/nsproxy.go, cgroupns.go and timens.go.

var _ NamespaceSource = (*kernelSource)(nil)

func (s *kernelSource) Namespace(pid int32, name string) (uint64, any, bool) {
	return s.k.ProcessNamespace(s.ns, pid, name)
}

func (s *kernelSource) TimensOffsets(pid int32) ([]TimensOffset, bool) {
	offs, ok := s.k.TimensOffsets(s.ns, pid)
	if !ok {
		return nil, false
	}
	out := make([]TimensOffset, len(offs))
	for i, o := range offs {
		out[i] = TimensOffset{Clock: o.Clock, Sec: o.Sec, Nsec: o.Nsec}
	}
	return out, true
}

func (s *kernelSource) SetTimensOffsets(pid int32, offs []TimensOffset) error {
	in := make([]kernel.TimensOffset, len(offs))
	for i, o := range offs {
		in[i] = kernel.TimensOffset{Clock: o.Clock, Sec: o.Sec, Nsec: o.Nsec}
	}
	return s.k.SetTimensOffsets(s.ns, pid, in)
}
