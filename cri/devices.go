package cri

import (
	"fmt"
	"path"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// tunDevice is the TUN/TAP clone device, which every sandbox has of its
// own (sentry/fs/tun): VPN and overlay pods ask for the node's, through
// a device plugin (a device) or a hostPath volume of type CharDevice (a
// mount), and get the sandbox's.
const tunDevice = "/dev/net/tun"

// checkDevices refuses a container's devices but /dev/net/tun at its own
// path: the sandbox reaches no host device.
func checkDevices(devs []*runtimeapi.Device) error {
	for i, d := range devs {
		if !isTUN(d.GetHostPath(), d.GetContainerPath()) {
			return fmt.Errorf("devices[%d] (%s): devices are not supported: the sandbox has no host devices (only %s, its own, may be asked for)", i, trunc(d.GetHostPath()), tunDevice)
		}
	}
	return nil
}

// isTUN reports whether a device or mount asks for the node's
// /dev/net/tun at /dev/net/tun, which the sandbox's own serves.
func isTUN(hostPath, containerPath string) bool {
	return path.Clean(hostPath) == tunDevice && path.Clean(containerPath) == tunDevice
}
