package placement

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// link is the host's end of one of a pod's links, as steering uses it.
type link interface {
	// counters returns the bytes the pod has sent and received on it.
	counters() (sent, received uint64, err error)
	// steer queues the frames the pod sends to cpus for the host's
	// processing; an empty set processes them where they are sent.
	steer(cpus unix.CPUSet) error
	name() string
}

// sysClassNet is where the host's interfaces show their counters and
// queues.
const sysClassNet = "/sys/class/net"

// hostLink is a host interface, by name.
type hostLink struct {
	dev string
}

func (l hostLink) name() string { return l.dev }

// counters reads the interface's statistics. The host's end receives
// what the pod sends.
func (l hostLink) counters() (sent, received uint64, err error) {
	read := func(file string) (uint64, error) {
		b, err := os.ReadFile(filepath.Join(sysClassNet, l.dev, "statistics", file))
		if err != nil {
			return 0, err
		}
		return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	if sent, err = read("rx_bytes"); err != nil {
		return 0, 0, err
	}
	if received, err = read("tx_bytes"); err != nil {
		return 0, 0, err
	}
	return sent, received, nil
}

// steer writes the interface's rps_cpus, for each of its receive queues.
func (l hostLink) steer(cpus unix.CPUSet) error {
	queues, err := filepath.Glob(filepath.Join(sysClassNet, l.dev, "queues", "rx-*", "rps_cpus"))
	if err != nil {
		return err
	}
	if len(queues) == 0 {
		return fmt.Errorf("%s has no receive queue to steer (a kernel without RPS?)", l.dev)
	}
	mask := []byte(cpuMask(cpus) + "\n")
	for _, q := range queues {
		if err := os.WriteFile(q, mask, 0); err != nil {
			return err
		}
	}
	return nil
}

// cpuMask formats cpus as the kernel's bitmap files take them: hex words
// of 32 CPUs, the highest first, separated by commas ("0" for none).
func cpuMask(cpus unix.CPUSet) string {
	var words []uint32
	for i := range cpus {
		words = append(words, uint32(cpus[i]), uint32(uint64(cpus[i])>>32))
	}
	top := len(words) - 1
	for top > 0 && words[top] == 0 {
		top--
	}
	parts := []string{strconv.FormatUint(uint64(words[top]), 16)}
	for i := top - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%08x", words[i]))
	}
	return strings.Join(parts, ",")
}

// hostLinks returns the host's ends of the veths of the network namespace
// at path: a veth whose peer is in the daemon's own namespace. A pod
// attached otherwise (macvlan, ipvlan, a peer in a third namespace) has
// none, and is not steered.
func hostLinks(path string) ([]link, error) {
	ns, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	// The id the daemon's namespace knows the pod's by, which the host
	// end of a veth into the pod names as its peer's.
	id, err := netlink.GetNetNsIdByFd(int(ns.Fd()))
	if err != nil {
		return nil, fmt.Errorf("the id of network namespace %s: %w", path, err)
	}
	type peer struct{ index, parent int }
	var inPod []peer
	err = netns.Do(path, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if a := l.Attrs(); l.Type() == "veth" && a.ParentIndex > 0 {
				inPod = append(inPod, peer{a.Index, a.ParentIndex})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the links of %s: %w", path, err)
	}
	var out []link
	for _, p := range inPod {
		l, err := netlink.LinkByIndex(p.parent)
		var missing netlink.LinkNotFoundError
		switch {
		case errors.As(err, &missing):
			continue // its peer is elsewhere
		case err != nil:
			return nil, err
		}
		if a := l.Attrs(); l.Type() == "veth" && a.ParentIndex == p.index && id >= 0 && a.NetNsID == id {
			out = append(out, hostLink{dev: a.Name})
		}
	}
	return out, nil
}
