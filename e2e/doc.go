// Package e2e proves the rendered units under a real systemd in a
// container: one systemd-nspawn boot of Debian trixie (systemd 257) per
// test, with the module's golden units, the template unit
// systemd/archil-mount@.service, archil-launch, and archil-fake installed
// as /usr/local/bin/archil.
//
// The tests need root, systemd-nspawn, debootstrap (installed with apt-get
// when missing) and /dev/fuse. They are behind the build tag "e2e":
//
//	go test -tags e2e -count=1 -v ./e2e
//
// A missing prerequisite fails the run; nothing is skipped. The root file
// system is built once into $ARCHIL_E2E_CACHE (default
// /var/cache/archil-launch-e2e) and every boot gets its own overlay on top
// of it, mounted in a private mount namespace, so the cache stays clean.
package e2e
