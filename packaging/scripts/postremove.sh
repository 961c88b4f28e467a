#!/bin/sh
# cocoon post-remove script, shared by the deb and the rpm.
#   deb: postrm remove | purge | upgrade | disappear | failed-upgrade | abort-*
#   rpm: %postun N   where N is the number of versions left: 0 erase, 1+ upgrade
# Debian policy: remove keeps configuration and state, purge deletes what
# the package and its daemon created. rpm has no purge, so an erase keeps
# the state, as rpm packages do.
set -e

# cocoon_running succeeds when a cocoon process (the daemon, or a pod's
# gofer or sentry, which are the same binary) still runs: its state is in
# use then.
cocoon_running() {
	for exe in /proc/[0-9]*/exe; do
		target=$(readlink "$exe" 2>/dev/null) || continue
		case "$target" in
		/usr/bin/cocoon | "/usr/bin/cocoon (deleted)") return 0 ;;
		esac
	done
	return 1
}

# mounted_below DIR succeeds when something is mounted at or below DIR:
# a pod's rootfs, which rm -rf would empty on the host.
mounted_below() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

purge_dir() {
	[ -e "$1" ] || return 0
	if cocoon_running || mounted_below "$1"; then
		echo "cocoon: $1 is in use (cocoon processes or mounts remain); not removed. Stop the pods, then remove it by hand." >&2
		return 0
	fi
	rm -rf --one-file-system "$1"
}

case "$1" in
purge)
	purge_dir /var/lib/cocoon
	purge_dir /run/cocoon
	# Enablement symlinks an administrator made with systemctl enable.
	rm -f /etc/systemd/system/*.wants/cocoon.service
	# dpkg has removed the conffiles; files an administrator added
	# (certs.d) stay, and so does the directory then.
	rmdir /etc/cocoon 2>/dev/null || true
	;;
0)
	if [ -d /var/lib/cocoon ]; then
		echo "cocoon: images and pod state remain in /var/lib/cocoon; remove it by hand if they are no longer needed."
	fi
	;;
esac

case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
esac
exit 0
