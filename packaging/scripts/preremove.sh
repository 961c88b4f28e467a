#!/bin/sh
# cocoon pre-remove script, shared by the deb and the rpm.
#   deb: prerm remove | upgrade NEW-VERSION | deconfigure | failed-upgrade
#   rpm: %preun N   where N is the number of versions left: 0 erase, 1+ upgrade
# On upgrade the daemon keeps running until the new postinst restarts it.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	# KillMode=process: this stops the daemon, not the pods.
	systemctl stop cocoon.service || true
elif [ -S /run/cocoon/cocoon.sock ]; then
	echo "cocoon: a cocoon daemon seems to be running outside systemd; stop it yourself."
fi
if [ "$1" = 0 ] && command -v systemctl >/dev/null 2>&1; then
	# rpm has no purge step: drop the enablement with the unit, as
	# %systemd_preun does. The deb keeps it until purge (postrm).
	systemctl --no-reload disable cocoon.service >/dev/null 2>&1 || true
fi
echo "cocoon: pods the daemon started, if any, keep running (their cocoon gofer and sentry processes)."
exit 0
