// Package e2e holds Cocoon's end-to-end tests: they build `cocoon`,
// start `cocoon daemon` on a socket and state directory in temp dirs,
// and drive it as kubelet and crictl do, against a local OCI registry
// (e2e/registry) holding test images the tests build.
package e2e
