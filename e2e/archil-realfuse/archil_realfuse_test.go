package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseMountAnyOrder(t *testing.T) {
	for _, args := range [][]string{
		// DESIGN.md's order, and the launcher's newer one (--no-fork right
		// after the mount point), extraArgs last.
		{"--log-level", "debug", "mount", "myorg/data", "/mnt/d", "--no-fork", "--region", "aws-us-east-1", "--shared", "--read-only", "--max-cache-mb", "10", "--disable-xattrs"},
		{"mount", "--region=aws-us-east-1", "myorg/data", "--read-only", "/mnt/d", "--target-cache-mb=5", "--no-fork", "--window-size=3"},
	} {
		c, err := parseArgs(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if c.sub != "mount" || c.disk != "myorg/data" || c.mountPoint != "/mnt/d" || c.region != "aws-us-east-1" || !c.readOnly {
			t.Errorf("%q: got %+v", args, c)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mount", "d/x", "/mnt/d", "--region", "r-1"}, "--no-fork missing"},
		{[]string{"mount", "d/x", "/mnt/d", "--no-fork"}, "--region missing"},
		{[]string{"mount", "d/x", "--no-fork", "--region", "r-1"}, "want <disk> <mountpoint>"},
		{[]string{"mount", "d/x", "/mnt/d", "--no-fork", "--region"}, "needs a value"},
		{[]string{"mount", "d/x", "/mnt/d", "--no-fork", "--region", "r-1", "--force"}, "refused"},
		{[]string{"unmount"}, "one mount point"},
		{[]string{"status", "/mnt/d"}, "not supported"},
		{nil, "no subcommand"},
	} {
		if _, err := parseArgs(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestParseUnmount(t *testing.T) {
	c, err := parseArgs([]string{"--log-level", "info", "unmount", "-f", "/mnt/d"})
	if err != nil || c.sub != "unmount" || c.mountPoint != "/mnt/d" {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestArchilSubtype(t *testing.T) {
	// What bazil.org/fuse (rclone) passes, and go-fuse's separate form.
	got, changed := archilSubtype([]string{"-o", "subtype=rclone,fsname=/b", "--", "/mnt/d"})
	if want := []string{"-o", "subtype=archil,fsname=/b", "--", "/mnt/d"}; !changed || !slices.Equal(got, want) {
		t.Errorf("got %q %v, want %q", got, changed, want)
	}
	got, changed = archilSubtype([]string{"/mnt/d", "-oallow_other,subtype=x"})
	if want := []string{"/mnt/d", "-oallow_other,subtype=archil"}; !changed || !slices.Equal(got, want) {
		t.Errorf("got %q %v, want %q", got, changed, want)
	}
	// An unmount, and a mount point after -- that looks like an option.
	for _, args := range [][]string{{"-u", "/mnt/d"}, {"-o", "fsname=a", "--", "-o"}} {
		if got, changed := archilSubtype(args); changed || !slices.Equal(got, args) {
			t.Errorf("%q: changed to %q", args, got)
		}
	}
}

func TestCleanEnvDropsToken(t *testing.T) {
	t.Setenv("ARCHIL_MOUNT_TOKEN", "secret")
	t.Setenv("PATH", "/usr/bin")
	env := cleanEnv("/x")
	for _, kv := range env {
		if strings.HasPrefix(kv, "ARCHIL_MOUNT_TOKEN=") {
			t.Errorf("token passed on")
		}
	}
	if !slices.Contains(env, "PATH=/x:/usr/bin") {
		t.Errorf("PATH not prefixed: %q", env)
	}
}

func TestDaemonArgv(t *testing.T) {
	for name, d := range daemons {
		j := strings.Join(d.argv("/var/lib/b", "/mnt/d", true), " ")
		if !strings.Contains(j, "/var/lib/b") || !strings.Contains(j, "/mnt/d") ||
			!strings.Contains(j, ",ro ") && !strings.HasSuffix(j, " --read-only") {
			argv := d.argv("/var/lib/b", "/mnt/d", true)
			t.Errorf("%s: argv %q misses the backing store, mount point or read-only", name, argv)
		}
	}
}
