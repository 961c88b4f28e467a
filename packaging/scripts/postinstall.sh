#!/bin/sh
# cocoon post-install script, shared by the deb and the rpm.
#   deb: postinst configure [PREVIOUS-VERSION]   (and abort-* after a failed step)
#   rpm: %post N   where N is the number of installed versions: 1 install, 2+ upgrade
# It must work without systemd (containers, chroots, other inits) and never
# touches existing state: /var/lib/cocoon survives every upgrade.
set -e

case "$1" in
configure)
	if [ -n "$2" ]; then action=upgrade; else action=install; fi ;;
abort-upgrade | abort-remove | abort-deconfigure)
	# The previous version is back in place; it has its own directories.
	exit 0 ;;
[0-9]*)
	if [ "$1" -ge 2 ]; then action=upgrade; else action=install; fi ;;
*)
	echo "cocoon postinst: unknown argument '$1'" >&2
	exit 0 ;;
esac

# The daemon creates these too; creating them here gives them their
# modes before anything else can, and leaves existing ones alone.
[ -d /var/lib/cocoon ] || install -d -m 0700 /var/lib/cocoon
[ -d /etc/cocoon ] || install -d -m 0755 /etc/cocoon

if [ ! -e /dev/kvm ]; then
	cat <<'MSG'
cocoon: /dev/kvm is missing. Sandboxes will run on the ptrace platform: it
  works on any Linux host, but each system call of an application costs
  more than on KVM. To use KVM, enable hardware virtualization (VT-x or
  AMD-V in the firmware; nested virtualization in a VM), then load the
  module: `modprobe kvm_intel` or `modprobe kvm_amd`. `cocoon version` shows
  what the daemon will use.
MSG
fi

if [ -z "$(ls -A /etc/cni/net.d 2>/dev/null)" ]; then
	cat <<'MSG'
cocoon: no CNI network configuration in /etc/cni/net.d; pods will have
  loopback only. A sample bridge network (10.88.0.0/16) to start from:
    cp /usr/share/cocoon/cni/10-cocoon-bridge.conflist /etc/cni/net.d/
MSG
fi

# /run/systemd/system exists exactly when systemd is the running init
# (sd_booted(3)); elsewhere systemctl would fail or act on nothing.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ "$action" = upgrade ]; then
		# Only the daemon restarts (KillMode=process): pods keep running
		# and the new daemon reconnects to them.
		systemctl try-restart cocoon.service || true
	fi
fi
if [ "$action" = install ]; then
	echo "cocoon: start the CRI daemon with: systemctl enable --now cocoon"
	echo "  (socket unix:///run/cocoon/cocoon.sock; configuration /etc/cocoon/config.toml)"
fi
exit 0
