// Package packaging holds what the cocoon deb and rpm are made of and the
// tests that check them; it has no Go code of its own.
//
//	nfpm.yaml        the package definition (make deb, make rpm)
//	pkgversion.sh    git describe -> a version dpkg and rpm accept
//	cocoon.service   the systemd unit
//	config.toml      /etc/cocoon/config.toml: every key at its default
//	crictl.yaml      /etc/crictl.yaml: crictl -> the daemon's socket
//	cocoon.8         the man page
//	cni/             a sample CNI network, installed under /usr/share/cocoon
//	runtimeclasses.yaml  RuntimeClasses for the runtime handlers, installed
//	                 under /usr/share/cocoon
//	scripts/         maintainer scripts, shared by the deb and the rpm
//
// config_test.go checks the files; package_test.go builds both packages,
// installs the deb on the machine and purges it again (make package-test).
package packaging
