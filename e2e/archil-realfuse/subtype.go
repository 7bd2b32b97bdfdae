package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// execFusermount runs the real fusermount3 with args, every subtype= in an
// -o option set to archil. For a daemon that names its own subtype and
// has no option to change it; everything else (the mount itself, the
// privilege handling, the descriptor passed back through _FUSE_COMMFD) is
// the real helper's. What the helper and fusermount3 say goes to the
// daemon (which logs it, or not, as it likes) and to helperLog too, so
// that a test can read it whatever the daemon did with it.
func execFusermount(args []string) error {
	out, changed := archilSubtype(args)
	var stderr io.Writer = os.Stderr
	if log, err := os.OpenFile(helperLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		defer log.Close()
		stderr = io.MultiWriter(os.Stderr, log)
	}
	if changed {
		fmt.Fprintf(stderr, "archil-realfuse: fusermount3 %s (subtype set to archil)\n", strings.Join(out, " "))
	}
	cmd := exec.Command(fusermount3, out...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.Env = os.Environ()
	if n, err := strconv.Atoi(os.Getenv("_FUSE_COMMFD")); err == nil {
		// The socket the mounted descriptor goes back through, at 3.
		cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(n), "commfd")}
		cmd.Env = append(cmd.Env, "_FUSE_COMMFD=3")
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("fusermount3: %w", err)
	}
	os.Exit(0)
	return nil
}

// archilSubtype returns args with each subtype= of an -o value (as `-o X`
// or `-oX`) replaced by subtype=archil, and whether any was.
func archilSubtype(args []string) ([]string, bool) {
	out := make([]string, len(args))
	changed := false
	for i, a := range args {
		out[i] = a
		switch {
		case a == "--":
			copy(out[i:], args[i:])
			return out, changed
		case i > 0 && args[i-1] == "-o":
			out[i], changed = setSubtype(a, changed)
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			o, c := setSubtype(a[2:], changed)
			out[i], changed = "-o"+o, c
		}
	}
	return out, changed
}

func setSubtype(opts string, changed bool) (string, bool) {
	list := strings.Split(opts, ",")
	for i, o := range list {
		if strings.HasPrefix(o, "subtype=") && o != "subtype=archil" {
			list[i], changed = "subtype=archil", true
		}
	}
	return strings.Join(list, ","), changed
}
