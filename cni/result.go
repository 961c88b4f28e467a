package cni

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// Result is what ADD made of a pod.
type Result struct {
	// IPs are the pod's addresses (without prefix length), the primary
	// first: the first IPv4 address when there is one (containerd's
	// default preference), then the others in the plugins' order.
	IPs []string
	// Raw is the last plugin's result in the CNI 1.0 format.
	Raw *types100.Result
}

// newResult converts the chain's final result. Addresses on interfaces
// outside the pod (a bridge's gateway address, reported by some
// plugins) are not the pod's.
func newResult(r types.Result) (*Result, error) {
	if r == nil {
		return nil, fmt.Errorf("the plugins returned no result")
	}
	res, err := types100.NewResultFromResult(r)
	if err != nil {
		return nil, fmt.Errorf("converting the plugins' result: %w", err)
	}
	inPod := func(ip *types100.IPConfig) bool {
		if ip.Interface == nil {
			// No interface named: only the pod's are reported so.
			return true
		}
		i := *ip.Interface
		if i < 0 || i >= len(res.Interfaces) {
			return false
		}
		return res.Interfaces[i].Sandbox != ""
	}
	var v4, other []string
	for _, ip := range res.IPs {
		if ip == nil || ip.Address.IP == nil || !inPod(ip) {
			continue
		}
		if ip.Address.IP.To4() != nil {
			v4 = append(v4, ip.Address.IP.String())
		} else {
			other = append(other, ip.Address.IP.String())
		}
	}
	out := &Result{Raw: res}
	if len(v4) > 0 {
		out.IPs = append(out.IPs, v4[0])
		v4 = v4[1:]
	}
	// After the primary, the plugins' order among the rest is kept
	// for each family; IPv4 first keeps the listing stable.
	out.IPs = append(append(out.IPs, v4...), other...)
	return out, nil
}
