//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mnt is one mount unit under test: a golden or an instance of the template.
type mnt struct {
	Name string
	Unit string
	MP   string
	Disk string
}

func (g *golden) mnt() mnt {
	return mnt{Name: g.Name, Unit: g.Unit, MP: g.MountPoint(), Disk: g.Disk()}
}

// needGolden returns the golden of a kind or fails the test.
func needGolden(t *testing.T, s *suite, kind string) *golden {
	t.Helper()
	g := s.goldenOf(kind)
	if g == nil {
		var have []string
		for _, g := range s.goldens {
			have = append(have, g.Unit+"="+g.Kind())
		}
		t.Fatalf("no golden unit with credential kind %q among %v", kind, have)
	}
	return g
}

// TemplateMount writes the config (and for token mounts the credstore
// file) of instance name of archil-mount@.service. extra overrides or adds
// config fields.
func (c *Container) TemplateMount(name, auth string, extra map[string]any) mnt {
	c.t.Helper()
	m := mnt{Name: name, Unit: "archil-mount@" + name + ".service", MP: "/srv/archil/" + name, Disk: "e2e/" + name}
	cfg := map[string]any{
		"name":       name,
		"diskName":   m.Disk,
		"mountPoint": m.MP,
		"region":     "aws-us-east-1",
		"authMethod": auth,
		"archil":     "/usr/local/bin/archil",
	}
	if auth == "token" {
		cfg["credential"] = "archil-token." + name
		c.WriteFile("/etc/credstore/archil-token."+name, []byte(c.s.token+"\n"), 0o400)
	}
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		c.t.Fatal(err)
	}
	c.WriteFile("/etc/archil/mounts.d/"+name+".json", append(b, '\n'), 0o644)
	c.WriteFile(backingPath(m.Disk)+"/hello.txt", []byte("hello from "+name+"\n"), 0o644)
	return m
}

// Start runs `systemctl start` (for Type=notify it returns at READY=1) and
// returns how long it took.
func (c *Container) Start(units ...string) time.Duration {
	c.t.Helper()
	start := time.Now()
	out, err := c.Sh("systemctl start " + strings.Join(units, " "))
	d := time.Since(start)
	if err != nil {
		st, _ := c.Sh("systemctl status --no-pager -l -n 30 " + strings.Join(units, " "))
		c.t.Fatalf("systemctl start %v: %v\n%s\n%s", units, err, out, st)
	}
	return d
}

func (c *Container) Stop(units ...string) time.Duration {
	c.t.Helper()
	start := time.Now()
	out, err := c.Sh("systemctl stop " + strings.Join(units, " "))
	d := time.Since(start)
	if err != nil {
		c.t.Fatalf("systemctl stop %v: %v\n%s", units, err, out)
	}
	return d
}

// MainPID returns the unit's main PID (container PID space), 0 if none.
func (c *Container) MainPID(unit string) int {
	c.t.Helper()
	n, _ := strconv.Atoi(c.Prop(unit, "MainPID"))
	return n
}

// Children returns the child PIDs of pid inside the container.
func (c *Container) Children(pid int) []int {
	out, _ := c.Sh(fmt.Sprintf("cat /proc/%d/task/*/children 2>/dev/null", pid))
	var pids []int
	for _, f := range strings.Fields(out) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// UnitPIDs lists the processes in the unit's cgroup.
func (c *Container) UnitPIDs(unit string) []string {
	c.t.Helper()
	cg := c.Prop(unit, "ControlGroup")
	if cg == "" {
		return nil
	}
	out, _ := c.Sh(fmt.Sprintf("cat %q 2>/dev/null", "/sys/fs/cgroup"+cg+"/cgroup.procs"))
	return strings.Fields(out)
}

// Knob sets a fault knob of archil-fake ("" removes it).
func (c *Container) Knob(name, value string) {
	c.t.Helper()
	p := fakeState + "/knobs/" + name
	if value == "" {
		c.Remove(p)
		return
	}
	c.WriteFile(p, []byte(value+"\n"), 0o644)
}

// fakeCall is one line of archil-fake's calls.log.
type fakeCall struct {
	Time     time.Time `json:"time"`
	PID      int       `json:"pid"`
	Argv     []string  `json:"argv"`
	Env      []string  `json:"env"`
	TokenLen int       `json:"tokenLen"`
}

// Sub returns the subcommand of the call (mount, unmount, ...).
func (f fakeCall) Sub() string {
	for i := 1; i < len(f.Argv); i++ {
		a := f.Argv[i]
		if a == "--log-level" {
			i++
			continue
		}
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// Calls returns archil-fake's call log, optionally only the calls whose
// argv contains mp.
func (c *Container) Calls(mp string) []fakeCall {
	c.t.Helper()
	b, err := c.ReadFile(fakeState + "/calls.log")
	if err != nil {
		return nil
	}
	var calls []fakeCall
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var fc fakeCall
		if err := json.Unmarshal(sc.Bytes(), &fc); err != nil {
			c.t.Fatalf("calls.log: %v: %s", err, sc.Text())
		}
		if mp == "" || contains(fc.Argv, mp) {
			calls = append(calls, fc)
		}
	}
	return calls
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// AssertUp checks that a started mount is what it should be: the unit
// active, one live fuse.archil mount at the mount point in PID 1's mount
// namespace (the host's view), the disk's files readable there, and the
// launcher in PID 1's mount namespace.
func (c *Container) AssertUp(m mnt) {
	c.t.Helper()
	if st := c.Prop(m.Unit, "ActiveState"); st != "active" {
		c.t.Fatalf("%s is %s", m.Unit, st)
	}
	if n := c.ArchilMounts(m.MP); n != 1 {
		c.t.Fatalf("%s: want 1 fuse.archil mount in /proc/1/mountinfo, got %d: %v", m.MP, n, c.MountInfo(m.MP))
	}
	if out, err := c.Sh(fmt.Sprintf("cat %q/hello.txt", m.MP)); err != nil || !strings.HasPrefix(out, "hello from") {
		c.t.Fatalf("%s/hello.txt not readable from PID 1's namespace: %v %q", m.MP, err, out)
	}
	pid := c.MainPID(m.Unit)
	ns := c.MustSh(fmt.Sprintf("readlink /proc/1/ns/mnt /proc/%d/ns/mnt", pid))
	if f := strings.Fields(ns); len(f) != 2 || f[0] != f[1] {
		c.t.Fatalf("%s: launcher runs in its own mount namespace: %q", m.Unit, ns)
	}
}

// AssertDown checks that nothing of a stopped mount is left: no mount at
// the mount point, no process in the unit, no credentials directory.
func (c *Container) AssertDown(m mnt) {
	c.t.Helper()
	if l := c.MountInfo(m.MP); len(l) != 0 {
		c.t.Errorf("%s: mounts left at the mount point: %v", m.MP, l)
	}
	if p := c.UnitPIDs(m.Unit); len(p) != 0 {
		c.t.Errorf("%s: processes left: %v", m.Unit, p)
	}
	if out, _ := c.Sh(fmt.Sprintf("ls -A /run/credentials/%q 2>/dev/null", m.Unit)); strings.TrimSpace(out) != "" {
		c.t.Errorf("%s: credentials directory left: %q", m.Unit, out)
	}
}

// Leftovers lists what a mount could leave behind: fuse mounts, archil and
// launcher processes, files in the fake's control directory, /run, /tmp
// (credentials only of archil units: a getty starting late is not ours).
func (c *Container) Leftovers() []string {
	c.t.Helper()
	out := c.MustSh(`grep -E ' - fuse' /proc/1/mountinfo | sed 's/^/mount: /'
for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null) || continue; case "$c" in archil*) echo "proc: ${p#/proc/} $c";; esac; done
ls -A /var/lib/archil-fake/ctl 2>/dev/null | sed 's/^/ctl: /'
find /tmp /var/tmp -mindepth 1 2>/dev/null | sed 's/^/file: /'
find /run/credentials -mindepth 1 -path '*archil*' 2>/dev/null | sed 's/^/file: /'
find /run -xdev -name '*archil*' ! -path /run/archil-launch 2>/dev/null | sed 's/^/run: /'`)
	var l []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			l = append(l, line)
		}
	}
	sort.Strings(l)
	return l
}

func diff(before, after []string) []string {
	seen := map[string]bool{}
	for _, b := range before {
		seen[b] = true
	}
	var d []string
	for _, a := range after {
		if !seen[a] {
			d = append(d, a)
		}
	}
	return d
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
