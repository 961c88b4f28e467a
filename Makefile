# Cocoon — build, test, benchmark and demo.
#
# Every target installs the Debian packages it needs when they are missing,
# so a fresh Debian 12 machine (as root) needs nothing done by hand.

SHELL := /bin/bash
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/cocoon
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Packages the build, the tests and the demo use: gcc compiles the
# differential syscall tests, busybox-static is the first guest program;
# the real-program file-system tests and benchmarks run sqlite3, git, tar,
# python3, diff (diffutils) and find (findutils). Pods get their network from
# the distribution's CNI plugins (containernetworking-plugins, in
# /usr/lib/cni); the network tests use ip (iproute2), iptables (portmap, and
# iptables-legacy and iptables-nft for the sandbox's packet filter), nft
# (nftables) and
# curl, and Python's socket tests (libpython3.11-testsuite); the package
# tests inspect the .rpm with rpm. The network benchmark compares pods with
# a runc container (runc) and loads httpd with wrk.
DEBS := gcc libc6-dev busybox-static sqlite3 git tar python3 diffutils findutils skopeo umoci \
	containernetworking-plugins iproute2 iptables nftables curl rpm runc wrk libpython3.11-testsuite

export CGO_ENABLED ?= 0

.PHONY: all build test lint bench demo deps check-go clean e2e-kubelet deb rpm pkg-stage package-test soak fuzz runsc

all: build

check-go:
	@test -x "$(GO)" || { echo "Go 1.26 is required (looked for it on PATH and in /usr/local/go)"; exit 1; }

# deps installs missing Debian packages; apt-get update runs only when one is
# missing.
deps:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $$missing; \
	fi

build: check-go
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION) -X main.commit=$$(git rev-parse HEAD 2>/dev/null)" -o $(BIN) ./cmd/cocoon

lint: check-go
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# crictl drives the daemon in the e2e tests as kubelet's users do; it is
# built from its module (cri-tools has no Debian package).
CRICTL := bin/crictl
CRICTL_VERSION := v1.37.0

$(CRICTL): | check-go
	GOBIN=$(CURDIR)/bin $(GO) install sigs.k8s.io/cri-tools/cmd/crictl@$(CRICTL_VERSION)

# The package test installs the .deb on this machine and runs its daemon on
# the default socket, so it runs alone, after the rest. The differential
# syscall suite and the real-program tests run on every platform the host
# has, each named, since auto's measured choice may differ from run to run
# on a loaded machine (and takes systrap over a slower KVM); everything
# else runs on auto. KVM's run needs a /dev/kvm that `cocoon version`
# finds usable; elsewhere it says why it is left out.
test: deps build lint $(CRICTL)
	CRICTL=$(CURDIR)/$(CRICTL) COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=systrap $(GO) test -count=1 -timeout 25m ./...
	COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=ptrace $(GO) test -count=1 -timeout 20m -run '^TestSandbox$$' ./test/syscalls/
	COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=ptrace $(GO) test -count=1 -timeout 20m ./test/programs/
	@if $(CURDIR)/$(BIN) version | grep -q '^  kvm  *syscall'; then \
		echo 'COCOON_PLATFORM=kvm: the syscall suite and the real programs'; \
		COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=kvm $(GO) test -count=1 -timeout 20m -run '^TestSandbox$$' ./test/syscalls/ && \
		COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=kvm $(GO) test -count=1 -timeout 20m ./test/programs/; \
	else \
		echo "the KVM platform's suite is left out: $$($(CURDIR)/$(BIN) version | grep -E '^(/dev/kvm|  kvm)')"; \
	fi
	$(MAKE) --no-print-directory package-test

bench: deps build
	COCOON_BENCH=1 COCOON_BIN=$(CURDIR)/$(BIN) RUNSC=$(if $(wildcard bin/runsc),$(CURDIR)/bin/runsc) $(GO) test -count=1 -run '^(TestReport(FS|Pull|Pod|Net)?|TestPlatformReport)$$' -v ./test/bench/ ./e2e/ | grep -v '^=== RUN\|^--- PASS\|^PASS\|^ok '

# runsc builds gVisor's runsc, at the version go.mod pins, into bin/ for
# make bench's side-by-side comparison; the bench runs without it.
runsc: check-go
	@d=$$(mktemp -d) && cd $$d && $(GO) mod init runscbuild >/dev/null 2>&1 && \
		$(GO) get gvisor.dev/gvisor/runsc@$$(awk '$$1 == "gvisor.dev/gvisor" {print $$2}' $(CURDIR)/go.mod) && \
		CGO_ENABLED=0 $(GO) build -o $(CURDIR)/bin/runsc gvisor.dev/gvisor/runsc; rc=$$?; rm -rf $$d; exit $$rc

# soak runs the issue-9 suites' long forms: fault injection (replay a run
# with COCOON_FAULT_SEED=N), the in-sandbox syscall fuzzer (COCOON_SOAK=45m
# sets its length, COCOON_SYSFUZZ_SEED=N its seed) and the escape suite.
soak: deps build $(CRICTL)
	COCOON_SOAK=1 CRICTL=$(CURDIR)/$(CRICTL) COCOON_BIN=$(CURDIR)/$(BIN) COCOON_PLATFORM=systrap $(GO) test -count=1 -v -timeout 120m \
		-run '^(TestFaultInjection|TestSentrySurvivesSyscallFuzz|TestEscapeSuite)$$' ./e2e/ ./test/sysfuzz/

FUZZTIME ?= 30s
FUZZMINTIME ?= 5s

# fuzz runs every fuzz target in the tree for FUZZTIME each, one at a time
# (go test -fuzz takes one target of one package). A failing input is
# written to the package's testdata/fuzz/<Target>/: fix the code and
# commit the file, which then runs as a seed in every `go test`.
fuzz: check-go
	@set -e; for f in $$(git grep -l '^func Fuzz' -- '*_test.go'); do \
		pkg=./$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t ($$pkg)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
		done; \
	done

demo: deps build $(CRICTL)
	@echo '$$ cocoon do -- busybox echo "hello from a sandbox"'
	@./$(BIN) do -- busybox echo "hello from a sandbox"
	@echo '$$ cocoon do -- busybox sh -c '"'"'x=1; echo $$((x+41))'"'"
	@./$(BIN) do -- busybox sh -c 'x=1; echo $$((x+41))'
	@echo '$$ cocoon do -- busybox uname -a'
	@./$(BIN) do -- busybox uname -a
	@echo "\$$ cocoon do -- busybox sh -c 'sleep 1 & echo piped | tr a-z A-Z; ps'"
	@./$(BIN) do -- busybox sh -c 'sleep 1 & echo piped | tr a-z A-Z; ps'
	@echo '$$ cocoon do -- /bin/ls -la /etc/apt   (the host'"'"'s dynamically linked ls)'
	@./$(BIN) do -- /bin/ls -la /etc/apt
	@echo '$$ cocoon do -- sh -c '"'"'echo written > /etc/cocoon-demo; cat /etc/cocoon-demo'"'"'   (a writable layer, thrown away at exit)'
	@./$(BIN) do -- /bin/sh -c 'echo written > /etc/cocoon-demo; cat /etc/cocoon-demo'
	@echo '$$ ls /etc/cocoon-demo   (on the host)'
	@ls /etc/cocoon-demo 2>&1 || true
	@echo '$$ cocoon do --strace -- busybox cat /etc/hostname'
	@./$(BIN) do --strace -- busybox cat /etc/hostname 2>&1 | tail -n 6
	@echo
	@echo '--- the CRI daemon: a pod and a container through crictl ---'
	@BIN=$(BIN) CRICTL=$(CRICTL) GO=$(GO) ./e2e/demo.sh

clean:
	rm -rf bin

# critest runs the CRI validation suite (sigs.k8s.io/cri-tools critest,
# built by the test into bin/) against `cocoon daemon`, with the images
# it pulls rebuilt and served from a registry on 127.0.0.1. Spec
# failures are the report (bin/critest-report/), not a test failure.
# COCOON_CRITEST_FOCUS / COCOON_CRITEST_SKIP narrow it (ginkgo regexps).
.PHONY: critest
critest: deps build $(CRICTL)
	COCOON_CRITEST=1 CRICTL=$(CURDIR)/$(CRICTL) COCOON_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^TestCritest$$' -v -timeout 60m ./e2e/

# e2e-kubelet runs a real kubelet (standalone: static pods, no API
# server) against `cocoon daemon` and checks with crictl that a static
# pod runs, logs, is probed, has an exiting container restarted and goes
# away with its manifest (e2e/kubelet_test.go). The kubelet is built from
# k8s.io/kubernetes $(KUBELET_VERSION) by the nested module
# e2e/kubelet/build into $(KUBELET), and reused while it is there (a first
# build takes minutes; keep bin/ in the CI cache).
KUBELET_VERSION := v1.37.2
KUBELET := bin/kubelet-$(KUBELET_VERSION)
KUBELET_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(KUBELET_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(subst v,,$(word 1,$(subst ., ,$(KUBELET_VERSION)))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBELET_VERSION))) \
	-X k8s.io/component-base/version.gitTreeState=clean

$(KUBELET): | check-go
	@mkdir -p $(@D)
	cd e2e/kubelet/build && GOWORK=off $(GO) build -trimpath -ldflags "$(KUBELET_LDFLAGS)" -o $(CURDIR)/$@.tmp .
	mv $@.tmp $@

e2e-kubelet: deps build $(CRICTL) $(KUBELET)
	COCOON_KUBELET=1 KUBELET=$(CURDIR)/$(KUBELET) CRICTL=$(CURDIR)/$(CRICTL) COCOON_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^TestKubelet$$' -v -timeout 20m ./e2e/

# deb and rpm packages (packaging/nfpm.yaml), built into PKG_OUT by nfpm,
# a tool dependency in go.mod. Their version is VERSION made valid for dpkg
# and rpm (packaging/pkgversion.sh); SOURCE_DATE_EPOCH, the commit's time,
# makes the file dates of a rebuild the same.
PKG_OUT ?= bin
PKG_DIR = $(PKG_OUT)/pkg
PKG_ENV = PKG_VERSION=$$(packaging/pkgversion.sh '$(VERSION)') PKG_ARCH=$$($(GO) env GOARCH) PKG_DIR=$(PKG_DIR) \
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s)

pkg-stage: check-go
	@mkdir -p $(PKG_DIR)
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION) -X main.commit=$$(git rev-parse HEAD 2>/dev/null)" -o $(PKG_DIR)/cocoon ./cmd/cocoon
	gzip -9n <packaging/cocoon.8 >$(PKG_DIR)/cocoon.8.gz

# Older packages go, so that bin/cocoon_*.deb names one file.
deb rpm: pkg-stage
	rm -f $(PKG_OUT)/$(if $(filter deb,$@),cocoon_*.deb,cocoon-*.rpm)
	$(PKG_ENV) $(GO) tool nfpm package --config packaging/nfpm.yaml --packager $@ --target $(PKG_OUT)/

# package-test builds both packages, installs the .deb on this machine,
# runs the daemon from it and purges it (packaging/package_test.go); it
# skips when a cocoon package or cocoon state is already there.
package-test: deps check-go $(CRICTL)
	COCOON_PACKAGE_TEST=1 CRICTL=$(CURDIR)/$(CRICTL) $(GO) test -count=1 -v -timeout 15m ./packaging/
