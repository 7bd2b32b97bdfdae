package main

import (
	"errors"
	"fmt"
	"strings"
)

// command is one parsed archil command line:
//
//	archil [--log-level L] mount <disk> <mountpoint> [flags...]
//	archil [--log-level L] unmount [-f|--force] <mountpoint>
//	archil [--log-level L] version
//
// Mount flags may come in any order, `--flag value` or `--flag=value`;
// --no-fork and --region are required (the daemon always runs in the
// foreground, and a launcher that forgot either must fail here as it
// would with the client). --read-only makes a read-only mount; every other
// flag (cache sizes, --shared, extraArgs) means nothing to a local
// daemon and is accepted as the client would.
type command struct {
	sub        string
	disk       string
	mountPoint string
	region     string
	readOnly   bool
}

// valueFlags are the client's flags that take a value.
var valueFlags = map[string]bool{
	"--log-level": true, "--region": true, "--max-cache-mb": true, "--target-cache-mb": true,
	"--log-dir": true, "--max-log-size-mb": true, "--dentry-ttl-secs": true, "--max-iodepth": true,
	"--nconnect": true, "--window-size": true, "--attachment-count": true,
	"--transaction-processors": true, "--sts-region": true,
}

func parseArgs(args []string) (*command, error) {
	if len(args) >= 2 && args[0] == "--log-level" {
		args = args[2:]
	} else if len(args) >= 1 && strings.HasPrefix(args[0], "--log-level=") {
		args = args[1:]
	}
	if len(args) == 0 {
		return nil, errors.New("no subcommand")
	}
	c := &command{sub: args[0]}
	rest := args[1:]
	switch c.sub {
	case "version":
		return c, nil
	case "unmount":
		var pos []string
		for _, a := range rest {
			if a != "-f" && a != "--force" {
				pos = append(pos, a)
			}
		}
		if len(pos) != 1 {
			return nil, fmt.Errorf("unmount: want one mount point, got %q", pos)
		}
		c.mountPoint = pos[0]
		return c, nil
	case "mount":
		return c, c.parseMount(rest)
	}
	return nil, fmt.Errorf("subcommand %q not supported by this stand-in", c.sub)
}

func (c *command) parseMount(args []string) error {
	var pos []string
	noFork := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		flag, value, hasValue := strings.Cut(a, "=")
		if valueFlags[flag] && !hasValue {
			if i+1 >= len(args) {
				return fmt.Errorf("mount: %s needs a value", flag)
			}
			i++
			value = args[i]
		}
		switch flag {
		case "--no-fork":
			noFork = true
		case "--region":
			c.region = value
		case "--read-only":
			c.readOnly = true
		case "--auth-token", "--force", "-f":
			return fmt.Errorf("mount: %s refused (the launcher must never pass it)", flag)
		}
	}
	if len(pos) != 2 {
		return fmt.Errorf("mount: want <disk> <mountpoint>, got %q", pos)
	}
	c.disk, c.mountPoint = pos[0], pos[1]
	switch {
	case !noFork:
		return errors.New("mount: --no-fork missing: this stand-in only runs in the foreground")
	case c.region == "":
		return errors.New("mount: --region missing")
	}
	return nil
}
