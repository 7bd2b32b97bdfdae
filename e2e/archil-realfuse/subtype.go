package main

import (
	"fmt"
	"os"
	"strings"
)

// execFusermount runs the real fusermount3 with args, every subtype= in an
// -o option set to archil. For a daemon that names its own subtype and
// has no option to change it; everything else (the mount itself, the
// privilege handling, the descriptor passed back through _FUSE_COMMFD) is
// the real helper's.
func execFusermount(args []string) error {
	out, changed := archilSubtype(args)
	if changed {
		fmt.Fprintf(os.Stderr, "archil-realfuse: fusermount3 %s (subtype set to archil)\n", strings.Join(out, " "))
	}
	return execv(fusermount3, append([]string{"fusermount3"}, out...), os.Environ())
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
