// Command archil-realfuse stands in for the archil client with a real
// third-party FUSE daemon from Debian, so the container suite can prove
// that the module's hardened unit lets each usual FUSE stack mount, flush
// and unmount (TestRealFUSE).
//
// It is installed once and reached through symlinks; the name it is
// called by picks the job:
//
//	archil-<daemon> ...   the archil command line (see args.go) mapped onto
//	                      <daemon> (see daemons.go), run in the foreground
//	fusermount ...        the helper a daemon finds first on PATH: the real
//	                      fusermount3 with the mount's subtype set to archil,
//	                      for a daemon that has no option for it (subtype.go)
//
// The backing store of a disk is archil-fake's directory for it, so the
// tests read it the same way for every client. ARCHIL_MOUNT_TOKEN is never
// printed and never passed on to a daemon.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	// state is archil-fake's state directory, whose backing/ it shares.
	state = "/var/lib/archil-fake"
	// fusermount3 is the real helper, setuid root.
	fusermount3 = "/usr/bin/fusermount3"
	// subtypeDir holds the fusermount symlink a daemon without a subtype
	// option finds first on PATH.
	subtypeDir = "/usr/local/lib/archil-e2e/subtype"
	// helperLog gets what the fusermount helper and fusermount3 say.
	helperLog = "/var/lib/archil-e2e/realfuse-helper.log"
)

func main() {
	name := filepath.Base(os.Args[0])
	var err error
	switch {
	case name == "fusermount" || name == "fusermount3":
		err = execFusermount(os.Args[1:])
	case strings.HasPrefix(name, "archil-"):
		err = runArchil(strings.TrimPrefix(name, "archil-"), os.Args[1:])
	default:
		err = fmt.Errorf("called as %q: want archil-<daemon> or fusermount", name)
	}
	fmt.Fprintf(os.Stderr, "archil-realfuse: error: %v\n", err)
	os.Exit(2)
}

// runArchil carries out one archil command with the named daemon; it
// returns only on error (the daemon or the helper replaces this process).
func runArchil(daemon string, args []string) error {
	d, ok := daemons[daemon]
	if !ok {
		return fmt.Errorf("no daemon %q (have %s)", daemon, daemonNames())
	}
	cmd, err := parseArgs(args)
	if err != nil {
		return err
	}
	switch cmd.sub {
	case "version":
		fmt.Printf("archil-realfuse %s (%s)\n", daemon, d.stack)
		os.Exit(0)
	case "unmount":
		return execv(d.unmount, []string{filepath.Base(d.unmount), "-u", cmd.mountPoint}, cleanEnv(""))
	}
	backing := backingDir(cmd.disk)
	if strings.Contains(backing, ",") {
		return fmt.Errorf("backing store %q has a comma, which the daemons' -o options cannot carry", backing)
	}
	if err := os.MkdirAll(backing, 0o755); err != nil {
		return err
	}
	argv := d.argv(backing, cmd.mountPoint, cmd.readOnly)
	fmt.Fprintf(os.Stderr, "archil-realfuse: %s daemon: %s\n", d.stack, strings.Join(argv, " "))
	return execv(d.binary, argv, cleanEnv(d.pathPrefix))
}

// cleanEnv is this process's environment without the token, with prefix
// (if any) put first on PATH.
func cleanEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "ARCHIL_MOUNT_TOKEN="):
		case prefix != "" && strings.HasPrefix(kv, "PATH="):
			env = append(env, "PATH="+prefix+":"+strings.TrimPrefix(kv, "PATH="))
		default:
			env = append(env, kv)
		}
	}
	return env
}

// execv replaces this process with the program at path.
func execv(path string, argv, env []string) error {
	return fmt.Errorf("exec %s: %w", path, syscall.Exec(path, argv, env))
}
