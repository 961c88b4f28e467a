#!/bin/bash
# make demo: start `cocoon daemon` with its embedded defaults, import the
# busybox test image, run a pod and a container through crictl, show the
# container's log and an exec, then remove everything and stop the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/cocoon}
CRICTL=${CRICTL:-bin/crictl}
SOCK=unix:///run/cocoon/cocoon.sock
CRICTL_CONFIG=$(mktemp)
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\n' "$SOCK" "$SOCK" >"$CRICTL_CONFIG"
crictl() { "$CRICTL" --config "$CRICTL_CONFIG" "$@" 2> >(grep -v 'cgroup_parent is not set' >&2); }
say() { printf '\n$'; printf ' %q' "$@"; printf '\n'; }

rm -rf /var/log/cocoon-demo
"${GO:-go}" run ./e2e/cmd/testimage -o bin/busybox-demo.tar -tag docker.io/library/busybox:demo
say cocoon image import bin/busybox-demo.tar
"$BIN" image import bin/busybox-demo.tar

# The pod network: the sample bridge network (cocoon0, 10.88.0.0/16) goes
# into /etc/cni/net.d only when no network is configured there, and is
# removed again at the end; an operator's own configuration is left
# alone.
CNI_DIR=/etc/cni/net.d
CNI_CONF=$CNI_DIR/10-cocoon-bridge.conflist
cni_added="" cni_dir_added="" bridge_existed=""
ip link show cocoon0 >/dev/null 2>&1 && bridge_existed=1
if ! ls "$CNI_DIR"/*.conflist "$CNI_DIR"/*.conf "$CNI_DIR"/*.json >/dev/null 2>&1; then
	[ -d "$CNI_DIR" ] || cni_dir_added=1
	say install -D -m 0644 packaging/cni/10-cocoon-bridge.conflist "$CNI_CONF"
	install -D -m 0644 packaging/cni/10-cocoon-bridge.conflist "$CNI_CONF"
	cni_added=1
else
	echo "(using the CNI network already configured in $CNI_DIR)"
fi

say cocoon daemon \&
"$BIN" daemon >bin/demo-daemon.log 2>&1 &
daemon=$!
pod=""
cleanup() {
	if [ -n "$pod" ]; then crictl rmp -f "$pod" >/dev/null 2>&1 || true; fi
	kill "$daemon" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	rm -f "$CRICTL_CONFIG"
	rm -rf /var/log/cocoon-demo
	if [ -n "$cni_added" ]; then
		rm -f "$CNI_CONF"
		if [ -n "$cni_dir_added" ]; then rmdir "$CNI_DIR" 2>/dev/null || true; fi
		if [ -z "$bridge_existed" ]; then ip link del cocoon0 2>/dev/null || true; fi
	fi
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S /run/cocoon/cocoon.sock ] && break; sleep 0.1; done
crictl version

say crictl runp e2e/testdata/demo-pod.json
pod=$(crictl runp e2e/testdata/demo-pod.json)
echo "$pod"
printf '\n$ crictl inspectp %s | grep %s\n' "$pod" "'\"ip\"'"
crictl inspectp "$pod" | grep '"ip"' || echo "(no pod IP: see NetworkReady in crictl info)"
say crictl create "$pod" e2e/testdata/demo-container.json e2e/testdata/demo-pod.json
ctr=$(crictl create "$pod" e2e/testdata/demo-container.json e2e/testdata/demo-pod.json)
echo "$ctr"
say crictl start "$ctr"
crictl start "$ctr"
sleep 3
say crictl ps
crictl ps
say crictl logs "$ctr"
crictl logs "$ctr"
say crictl exec "$ctr" sh -c 'uname -a; id; ps'
crictl exec "$ctr" sh -c 'uname -a; id; ps'
ip=$(crictl inspectp -o go-template --template '{{.status.network.ip}}' "$pod" 2>/dev/null || true)
if [ -n "$ip" ] && [ "$ip" != "<no value>" ]; then
	# A second container serves the pod's /etc over HTTP; the host
	# reaches it at the pod IP, through the sentry's own TCP/IP stack.
	say crictl create "$pod" e2e/testdata/demo-web.json e2e/testdata/demo-pod.json
	web=$(crictl create "$pod" e2e/testdata/demo-web.json e2e/testdata/demo-pod.json)
	crictl start "$web" >/dev/null
	say curl -s "http://$ip:8080/hostname"
	for _ in $(seq 50); do curl -s --max-time 2 "http://$ip:8080/hostname" && break; sleep 0.2; done
fi
say crictl stats -o yaml "$ctr"
crictl stats -o yaml "$ctr" | grep -E "usageCoreNanoSeconds|workingSetBytes|usedBytes" -A1 | grep -E "value|Bytes|Seconds"
say crictl stop --timeout 2 "$ctr"
crictl stop --timeout 2 "$ctr"
printf '\n$ crictl inspect %s | grep -E "state|exitCode|reason"\n' "$ctr"
crictl inspect "$ctr" | grep -E '"(state|exitCode|reason)"'
say crictl rmp -f "$pod"
crictl rmp -f "$pod"
pod=""
say crictl pods
crictl pods
