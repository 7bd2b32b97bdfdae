//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/fakedisk"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/mountns"
)

// Where things live on the host.
var (
	cacheDir  = envOr("ARCHIL_E2E_CACHE", "/var/cache/archil-launch-e2e")
	rootfsDir = filepath.Join(cacheDir, "trixie")
	// rootfsMarker is written only once debootstrap has completed.
	rootfsMarker = filepath.Join(cacheDir, "trixie.complete")
	moduleRoot   = mustAbs("..")
)

// Inside the container.
const (
	containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	fakeState     = "/var/lib/archil-fake"
	e2eState      = "/var/lib/archil-e2e"
	tokenFile     = e2eState + "/token" // the fixture token, 0400, with a trailing newline
	imdsPort      = 1338                // e2e-imds.service: a role is attached
	imdsNoRole    = 1339                // e2e-imds-norole.service: no role
	agenixDir     = "/run/agenix"       // a symlink to the current generation, as agenix makes it
)

// agenixGeneration is the directory of one agenix activation's secrets.
func agenixGeneration(n int) string { return fmt.Sprintf("/run/agenix.d/%d", n) }

const mockVersion = "v1.13.0"

func TestMain(m *testing.M) {
	// Every mount the harness makes on the host side (the overlays under
	// the containers) stays in a private mount namespace.
	os.Exit(mountns.Run(withFigures{m}))
}

// withFigures prints the figures the tests recorded after they ran: on
// stdout (go test shows it with -v or on failure) and, when
// ARCHIL_E2E_FIGURES names a file, there too (scripts/test.sh prints it).
type withFigures struct{ m *testing.M }

func (w withFigures) Run() int {
	// One container suite at a time on a host: the containers share the
	// host's cgroup and the cached root file system. A second run waits.
	unlock, err := lockSuite()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer unlock()
	code := w.m.Run()
	printFigures(os.Stdout)
	if path := os.Getenv("ARCHIL_E2E_FIGURES"); path != "" {
		if f, err := os.Create(path); err == nil {
			printFigures(f)
			f.Close()
		}
	}
	return code
}

// lockSuite takes the host-wide lock of the container suite, waiting for a
// run that holds it.
func lockSuite() (func(), error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", cacheDir, err)
	}
	f, err := os.OpenFile(filepath.Join(cacheDir, "suite.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open the suite lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: another container suite runs on this host; waiting for it\n")
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", f.Name(), err)
		}
	}
	return func() { f.Close() }, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// ---------------------------------------------------------------------------
// Suite-wide prerequisites: root file system, binaries, goldens, token.

type suite struct {
	bins    map[string]string // name in the container's /usr/local/bin -> host file
	goldens []*golden         // the mounts of nixos/tests/golden
	golden  *goldenSet        // and all its units and links
	token   string
	missing []string // parts of others not there (yet): each fails the tests that need it
	// The commands of README.md's root prompts ("# cmd", the part after
	// the last "| "): the recipes the suite runs as they are written.
	readmeCommands map[string]bool
}

var (
	suiteOnce sync.Once
	theSuite  *suite
	suiteErr  error
)

// setup returns the suite, building what is missing on the first call. Any
// missing prerequisite fails the calling test.
func setup(t *testing.T) *suite {
	t.Helper()
	s := setupBase(t)
	if len(s.missing) > 0 {
		t.Fatalf("e2e prerequisites missing:\n  %s", strings.Join(s.missing, "\n  "))
	}
	return s
}

// setupBase is setup for the harness self-test: it needs the root file
// system, tools and mock, and only reports the parts of others missing.
func setupBase(t *testing.T) *suite {
	t.Helper()
	suiteOnce.Do(func() {
		start := time.Now()
		theSuite, suiteErr = buildSuite()
		record("setup: rootfs check + builds", time.Since(start).Round(time.Millisecond).String())
	})
	if suiteErr != nil {
		t.Fatalf("e2e prerequisites: %v", suiteErr)
	}
	return theSuite
}

func buildSuite() (*suite, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("must run as root (systemd-nspawn, overlayfs, FUSE)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return nil, fmt.Errorf("/dev/fuse missing: %w", err)
	}
	if err := ensureHostTools(); err != nil {
		return nil, err
	}
	if err := ensureRootfs(); err != nil {
		return nil, err
	}
	s := &suite{bins: map[string]string{}}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s.token = "e2e-tok-" + hex.EncodeToString(b)
	// Built fresh every run, into the cache dir (not the repo, not /tmp).
	binDir := filepath.Join(cacheDir, "build")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, err
	}
	for _, nb := range [][2]string{{"archil-launch", "./cmd/archil-launch"}, {"archil", "./cmd/archil-fake"},
		{"archil-realfuse", "./e2e/archil-realfuse"}} {
		name, pkg := nb[0], nb[1]
		if _, err := os.Stat(filepath.Join(moduleRoot, pkg, "main.go")); err != nil {
			s.missing = append(s.missing, fmt.Sprintf("%s (installed as /usr/local/bin/%s): not there", pkg, name))
			continue
		}
		out := filepath.Join(binDir, name)
		args := []string{"build", "-o", out}
		if ov := os.Getenv("ARCHIL_E2E_GO_OVERLAY"); ov != "" {
			// Development only: try a fix of someone else's package
			// without touching their files (go build -overlay).
			args = append(args, "-overlay", ov)
		}
		cmd := exec.Command(goTool(), append(args, pkg)...)
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			s.missing = append(s.missing, fmt.Sprintf("go build %s: %v\n%s", pkg, err, b))
			continue
		}
		s.bins[name] = out
	}
	mock, err := ensureMock()
	if err != nil {
		return nil, err
	}
	s.bins["ec2-metadata-mock"] = mock
	s.golden, err = loadGoldens(filepath.Join(moduleRoot, "nixos/tests/golden"))
	if err != nil {
		s.missing = append(s.missing, err.Error())
	} else {
		s.goldens = s.golden.Mounts
	}
	s.readmeCommands = readmeCommands(filepath.Join(moduleRoot, "README.md"))
	if _, err := os.Stat(filepath.Join(moduleRoot, "systemd/archil-mount@.service")); err != nil {
		s.missing = append(s.missing, "systemd/archil-mount@.service: not there")
	}
	return s, nil
}

// readmeCommands reads the root-prompt lines of a README ("# cmd", in a
// code block), each as its last pipeline stage.
func readmeCommands(path string) map[string]bool {
	cmds := map[string]bool{}
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if cmd, ok := strings.CutPrefix(line, "# "); ok {
			if i := strings.LastIndex(cmd, "| "); i >= 0 {
				cmd = cmd[i+2:]
			}
			cmds[strings.TrimSpace(cmd)] = true
		}
	}
	return cmds
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ensureHostTools installs debootstrap and systemd-container when missing.
func ensureHostTools() error {
	var missing []string
	for bin, pkg := range map[string]string{"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	for _, bin := range []string{"nsenter", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s missing on the host (util-linux)", bin)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if b, err := exec.Command("apt-get", "update").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, b)
	}
	args := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %v: %v\n%s", missing, err, b)
	}
	return nil
}

// debianMirror returns the Debian mirror the host's apt uses.
func debianMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	list, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, list...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			for _, fld := range fields {
				if strings.HasPrefix(fld, "http") && strings.HasSuffix(strings.TrimRight(fld, "/"), "/debian") {
					return strings.TrimRight(fld, "/")
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// rootfsPackages are what debootstrap installs on top of minbase.
var rootfsPackages = []string{"systemd", "systemd-sysv", "dbus", "fuse3",
	// TestRealFUSE's daemons, one per FUSE stack (see realfuse_test.go).
	"bindfs", "fuse-convmvfs", "rclone"}

// rootfsStamp is the first line of the marker: a cache built another way
// (an older package list) is rebuilt.
func rootfsStamp() string {
	return "debootstrap --variant=minbase --include=" + strings.Join(rootfsPackages, ",") + " trixie"
}

// ensureRootfs builds the cached trixie root file system once per
// rootfsStamp.
func ensureRootfs() error {
	if b, err := os.ReadFile(rootfsMarker); err == nil {
		if line, _, _ := strings.Cut(string(b), "\n"); line == rootfsStamp() {
			return nil
		}
		fmt.Fprintf(os.Stderr, "e2e: the cached root file system was built otherwise; rebuilding it\n")
	}
	start := time.Now()
	defer func() { record("setup: root file system rebuilt (debootstrap)", ms(time.Since(start))) }()
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	tmp := rootfsDir + ".tmp"
	os.RemoveAll(tmp)
	os.RemoveAll(rootfsDir)
	cmd := exec.Command("debootstrap", "--variant=minbase",
		"--include="+strings.Join(rootfsPackages, ","), "trixie", tmp, debianMirror())
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap trixie: %v\n%s", err, tail(string(b), 40))
	}
	if err := os.Rename(tmp, rootfsDir); err != nil {
		return err
	}
	return os.WriteFile(rootfsMarker, []byte(rootfsStamp()+"\n"+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// ensureMock builds amazon-ec2-metadata-mock into the cache.
func ensureMock() (string, error) {
	dir := filepath.Join(cacheDir, "bin", mockVersion)
	out := filepath.Join(dir, "ec2-metadata-mock")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	cmd := exec.Command(goTool(), "install", "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@"+mockVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	cmd.Dir = os.TempDir()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install ec2-metadata-mock: %v\n%s", err, b)
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Container.

// Container is one writable overlay over the cached root file system,
// booted with systemd-nspawn. It can be powered off and booted again (a
// reboot) with its state kept.
type Container struct {
	t     *testing.T
	s     *suite
	dir   string // work dir on the host
	Root  string // the merged overlay: the container's "/"
	boots int

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	pid1    int
	console string // console log of the current boot
	since   time.Time
}

// NewContainer prepares a fresh container with the suite's files installed
// and does not boot it. Teardown is registered with t.Cleanup.
func NewContainer(t *testing.T) *Container {
	t.Helper()
	return newContainer(t, setup(t))
}

func newContainer(t *testing.T, s *suite) *Container {
	t.Helper()
	dir, err := os.MkdirTemp("", "archil-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{t: t, s: s, dir: dir, Root: filepath.Join(dir, "root")}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", rootfsDir, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err := syscall.Mount("overlay", c.Root, "overlay", 0, opts); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("overlay mount: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && c.running() {
			c.dumpJournal()
		}
		c.teardown()
		if err := syscall.Unmount(c.Root, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount overlay: %v", err)
		}
		if os.Getenv("ARCHIL_E2E_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			t.Logf("kept %s", dir)
		}
	})
	c.install()
	return c
}

// install puts the binaries, the goldens' units (not linked: see
// EnableGoldens) and configs, the template unit and the e2e helper units
// into the container.
func (c *Container) install() {
	t, s := c.t, c.s
	for name, src := range s.bins {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		c.WriteFile("/usr/local/bin/"+name, b, 0o755)
	}
	c.installGoldens(s.golden)
	if tmpl, err := os.ReadFile(filepath.Join(moduleRoot, "systemd/archil-mount@.service")); err == nil {
		c.WriteFile("/etc/systemd/system/archil-mount@.service", tmpl, 0o644)
	}

	c.MkdirAll("/var/log/journal", 0o2755) // persistent journal: read the last boot with -b -1
	c.MkdirAll(e2eState, 0o700)
	c.WriteFile(tokenFile, []byte(s.token+"\n"), 0o400)
	c.WriteFile(fakeState+"/expect-token", []byte(s.token), 0o600)
	c.MkdirAll(fakeState+"/knobs", 0o755)

	// The IMDS mocks.
	c.WriteFile("/etc/e2e/imds-norole.json", []byte(`{"metadata":{"paths":{`+
		`"iam-security-credentials-role":"/latest/meta-data/iam/none-role",`+
		`"iam-security-credentials":"/latest/meta-data/iam/none-creds/x"}}}`+"\n"), 0o644)
	c.WriteUnit("e2e-imds.service", fmt.Sprintf(`[Unit]
Description=e2e: EC2 metadata mock with a role

[Service]
Environment=HOME=/var/lib/e2e-imds
StateDirectory=e2e-imds
WorkingDirectory=/var/lib/e2e-imds
ExecStart=/usr/local/bin/ec2-metadata-mock --hostname 127.0.0.1 --port %d
ExecStartPost=/bin/bash -c 'for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && exit 0; sleep 0.05; done; exit 1'

[Install]
WantedBy=multi-user.target
`, imdsPort, imdsPort), "multi-user.target")
	c.WriteUnit("e2e-imds-norole.service", fmt.Sprintf(`[Unit]
Description=e2e: EC2 metadata mock without a role

[Service]
Environment=HOME=/var/lib/e2e-imds-norole
StateDirectory=e2e-imds-norole
WorkingDirectory=/var/lib/e2e-imds-norole
ExecStart=/usr/local/bin/ec2-metadata-mock --hostname 127.0.0.1 --port %d --config-file /etc/e2e/imds-norole.json
ExecStartPost=/bin/bash -c 'for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && exit 0; sleep 0.05; done; exit 1'

[Install]
WantedBy=multi-user.target
`, imdsNoRole, imdsNoRole), "multi-user.target")

	// The secrets, put in place at boot the way agenix or sops-nix do it:
	// a one-shot before sysinit.target writes root-only files under /run.
	c.WriteFile("/usr/local/lib/archil-e2e/secrets.sh", []byte(c.secretsScript()), 0o700)
	c.WriteUnit("e2e-secrets.service", `[Unit]
Description=e2e: install secrets (agenix/sops-nix style)
DefaultDependencies=no
After=local-fs.target systemd-tmpfiles-setup.service
Before=sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/archil-e2e/secrets.sh

[Install]
WantedBy=sysinit.target
`, "sysinit.target")

	// IAM goldens find the metadata mock; on EC2 it is always there.
	for _, g := range s.goldens {
		if g.AuthMethod() == "iam" {
			c.DropIn(g.Unit, "50-imds", imdsDropIn(imdsPort))
		}
	}
	// Files each golden mount should see once it is up.
	for _, g := range s.goldens {
		c.WriteFile(backingPath(g.Disk())+"/hello.txt", []byte("hello from "+g.Name+"\n"), 0o644)
	}
}

// imdsDropIn points an IAM unit at a metadata mock inside the container.
func imdsDropIn(port int) string {
	return fmt.Sprintf(`[Unit]
Wants=e2e-imds.service e2e-imds-norole.service
After=e2e-imds.service e2e-imds-norole.service

[Service]
Environment=AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:%d
`, port)
}

// secretsScript writes the credential sources the goldens name. It never
// prints the token and never puts it on a command line.
func (c *Container) secretsScript() string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nset -eu\numask 077\n")
	for _, g := range c.s.goldens {
		for _, cr := range g.Creds {
			switch cr.Kind {
			case credFile, credStore:
				if !strings.HasPrefix(cr.Path, "/run/") {
					continue // persistent: written before boot, see install
				}
				if name, ok := strings.CutPrefix(cr.Path, agenixDir+"/"); ok {
					// As agenix activates: the secrets in a generation
					// directory, agenixDir a symlink to it.
					gen := agenixGeneration(1)
					fmt.Fprintf(&b, "mkdir -p %s\ncp %s %s/%s\nchmod 0400 %s/%s\nln -sfnT %s %s\n", gen, tokenFile, gen, name, gen, name, gen, agenixDir)
					continue
				}
				fmt.Fprintf(&b, "mkdir -p %q\ncp %s %q\nchmod 0400 %q\n", filepath.Dir(cr.Path), tokenFile, cr.Path, cr.Path)
			case credEncrypted:
				// The README's recipe, for the credential it names; the
				// token on its standard input.
				encrypt := fmt.Sprintf("systemd-creds encrypt --name=%s - %s", cr.ID, cr.Path)
				if !c.s.readmeCommands[encrypt] {
					c.t.Fatalf("README.md has no recipe `... | %s` for %s", encrypt, g.Unit)
				}
				fmt.Fprintf(&b, "mkdir -p %q\nif [ ! -s %q ]; then %s < %s; fi\nchmod 0400 %q\n",
					filepath.Dir(cr.Path), cr.Path, encrypt, tokenFile, cr.Path)
			}
		}
	}
	for _, g := range c.s.goldens {
		for _, cr := range g.Creds {
			switch {
			case (cr.Kind == credFile || cr.Kind == credStore) && !strings.HasPrefix(cr.Path, "/run/"):
				if cr.Kind == credStore {
					// A store path: world-readable, no trailing newline (pkgs.writeText).
					c.WriteFile(cr.Path, []byte(c.s.token), 0o444)
				} else {
					c.WriteFile(cr.Path, []byte(c.s.token+"\n"), 0o400)
				}
			case cr.Kind == credImport:
				c.WriteFile("/etc/credstore/"+cr.ID, []byte(c.s.token+"\n"), 0o400)
			}
		}
	}
	return b.String()
}

// hostPath maps a container path to the merged overlay on the host.
func (c *Container) hostPath(p string) string {
	if !filepath.IsAbs(p) {
		c.t.Fatalf("not absolute: %s", p)
	}
	return filepath.Join(c.Root, p)
}

// onTmpfs reports whether p lives on a file system that exists only while
// the container runs.
func onTmpfs(p string) bool {
	return strings.HasPrefix(p, "/run/") || strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "/dev/")
}

// WriteFile writes a file into the container (through the overlay, or with
// nsenter for /run and /tmp).
func (c *Container) WriteFile(p string, data []byte, mode os.FileMode) {
	c.t.Helper()
	if onTmpfs(p) {
		if !c.running() {
			c.t.Fatalf("WriteFile %s: container not running", p)
		}
		c.ShIn(data, fmt.Sprintf("mkdir -p %q && umask 077 && cat > %q && chmod %o %q", filepath.Dir(p), p, mode, p))
		return
	}
	hp := c.hostPath(p)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(hp, data, mode); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(hp, mode); err != nil {
		c.t.Fatal(err)
	}
}

// ReadFile reads a file of the container (through the overlay).
func (c *Container) ReadFile(p string) ([]byte, error) {
	if onTmpfs(p) {
		out, err := c.Sh(fmt.Sprintf("cat %q", p))
		return []byte(out), err
	}
	return os.ReadFile(c.hostPath(p))
}

func (c *Container) Remove(p string) {
	c.t.Helper()
	if err := os.Remove(c.hostPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.t.Fatal(err)
	}
}

func (c *Container) MkdirAll(p string, mode os.FileMode) {
	c.t.Helper()
	if err := os.MkdirAll(c.hostPath(p), mode); err != nil {
		c.t.Fatal(err)
	}
	os.Chmod(c.hostPath(p), mode)
}

// WriteUnit installs a unit and, with targets, enables it for them.
func (c *Container) WriteUnit(name, text string, wantedBy ...string) {
	c.t.Helper()
	c.WriteFile("/etc/systemd/system/"+name, []byte(text), 0o644)
	for _, tgt := range wantedBy {
		c.Symlink("/etc/systemd/system/"+name, "/etc/systemd/system/"+tgt+".wants/"+name)
	}
}

// Symlink makes link (a container path, replaced if there) point to target.
func (c *Container) Symlink(target, link string) {
	c.t.Helper()
	hl := c.hostPath(link)
	if err := os.MkdirAll(filepath.Dir(hl), 0o755); err != nil {
		c.t.Fatal(err)
	}
	os.Remove(hl)
	if err := os.Symlink(target, hl); err != nil {
		c.t.Fatal(err)
	}
}

// DropIn writes /etc/systemd/system/<unit>.d/<name>.conf. Call DaemonReload
// afterwards when the container runs.
func (c *Container) DropIn(unit, name, text string) {
	c.t.Helper()
	c.WriteFile("/etc/systemd/system/"+unit+".d/"+name+".conf", []byte(text), 0o644)
}

// T returns the container bound to a subtest, so that its failures end the
// subtest and not the parent. Do not Boot or Poweroff through it.
func (c *Container) T(t *testing.T) *Container {
	cc := *c
	cc.t = t
	return &cc
}

func (c *Container) running() bool {
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Boot starts the container and waits until systemd reports the system
// running (or degraded). It returns the time that took.
func (c *Container) Boot() time.Duration {
	t := c.t
	t.Helper()
	if c.running() {
		t.Fatal("Boot: already running")
	}
	c.boots++
	c.console = filepath.Join(c.dir, fmt.Sprintf("console-%d.log", c.boots))
	out, err := os.Create(c.console)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	start := time.Now()
	c.since = start
	cmd := exec.Command("systemd-nspawn", "--quiet", "-D", c.Root, "--machine=archil-e2e",
		"--boot", "--register=no", "--keep-unit", "--private-network",
		"--bind=/dev/fuse", "--property=DeviceAllow=/dev/fuse rwm")
	cmd.Env = append(os.Environ(), "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1")
	cmd.Stdout, cmd.Stderr = out, out
	// If the test binary dies, nspawn gets SIGTERM and powers the
	// container off.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	c.cmd = cmd
	c.done = make(chan struct{})
	c.pid1 = 0
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	state := ""
	for time.Now().Before(deadline) {
		if !c.running() {
			t.Fatalf("systemd-nspawn exited during boot: %v\n%s", c.waitErr, c.Console())
		}
		if c.pid1 == 0 {
			c.pid1 = childOf(cmd.Process.Pid)
		}
		if c.pid1 != 0 {
			out, _ := c.Sh("systemctl is-system-running")
			state = strings.TrimSpace(out)
			if state == "running" || state == "degraded" {
				d := time.Since(start)
				t.Logf("boot %d: %s in %s (container PID 1 = host PID %d)", c.boots, state, d.Round(time.Millisecond), c.pid1)
				if state == "degraded" {
					failed, _ := c.Sh("systemctl --failed --no-legend --plain")
					t.Logf("failed units at boot:\n%s", failed)
				}
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("boot %d: not running after 60s (state %q)\n%s", c.boots, state, c.Console())
	return 0
}

// childOf returns the child of pid that is PID 1 of its own PID namespace:
// the container's init. systemd-nspawn first forks a helper that sets up
// the container and exits; that one is skipped.
func childOf(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, fld := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(fld); err == nil && isNamespaceInit(n) {
				return n
			}
		}
	}
	return 0
}

// isNamespaceInit reports whether the last NSpid of pid is 1.
func isNamespaceInit(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

// Poweroff runs `systemctl poweroff` inside and waits for nspawn to exit.
// It returns how long that took and the console output of the boot.
func (c *Container) Poweroff() (time.Duration, string) {
	c.t.Helper()
	if !c.running() {
		c.t.Fatal("Poweroff: not running")
	}
	start := time.Now()
	c.Sh("systemctl poweroff --no-block")
	select {
	case <-c.done:
	case <-time.After(120 * time.Second):
		c.kill()
		c.t.Fatalf("poweroff did not finish in 120s\n%s", c.Console())
	}
	return time.Since(start), c.Console()
}

// Reboot powers off and boots the same overlay again.
func (c *Container) Reboot() time.Duration {
	c.t.Helper()
	c.Poweroff()
	return c.Boot()
}

func (c *Container) kill() {
	if c.pid1 > 0 {
		syscall.Kill(c.pid1, syscall.SIGKILL)
	}
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

// teardown powers the container off, and kills it when that hangs.
func (c *Container) teardown() {
	if !c.running() {
		return
	}
	c.Sh("systemctl poweroff --no-block")
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.t.Errorf("teardown: poweroff hung for 60s, killing the container")
		c.kill()
	}
}

// Console returns the console output of the current (or last) boot.
func (c *Container) Console() string {
	b, _ := os.ReadFile(c.console)
	return string(b)
}

// ---------------------------------------------------------------------------
// Running commands inside.

// nsenter builds a command that runs sh -c script in all namespaces of the
// container's PID 1, with a clean environment.
func (c *Container) nsenter(ctx context.Context, script string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(c.pid1), "-a", "--",
		"/usr/bin/env", "-i", "PATH="+containerPath, "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
		"/bin/sh", "-c", script)
}

// Sh runs a shell script inside the container; combined output.
func (c *Container) Sh(script string) (string, error) {
	return c.ShTimeout(script, 120*time.Second)
}

func (c *Container) ShTimeout(script string, d time.Duration) (string, error) {
	if c.pid1 == 0 {
		return "", errors.New("container not booted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := c.nsenter(ctx, script)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", d, err)
	}
	return buf.String(), err
}

// MustSh is Sh that fails the test on a non-zero exit.
func (c *Container) MustSh(script string) string {
	c.t.Helper()
	out, err := c.Sh(script)
	if err != nil {
		c.t.Fatalf("in container: %s: %v\n%s", script, err, out)
	}
	return out
}

// ShIn runs script with data on its stdin.
func (c *Container) ShIn(data []byte, script string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := c.nsenter(ctx, script)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("in container: %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// DaemonReload reloads systemd inside.
func (c *Container) DaemonReload() { c.t.Helper(); c.MustSh("systemctl daemon-reload") }

// Prop returns one property of a unit (systemctl show -P).
func (c *Container) Prop(unit, prop string) string {
	c.t.Helper()
	out, err := c.Sh(fmt.Sprintf("systemctl show -P %s %q", prop, unit))
	if err != nil {
		c.t.Fatalf("systemctl show %s %s: %v\n%s", prop, unit, err, out)
	}
	return strings.TrimSpace(out)
}

func (c *Container) PropInt(unit, prop string) int64 {
	c.t.Helper()
	v := c.Prop(unit, prop)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		c.t.Fatalf("%s of %s: %q is not a number", prop, unit, v)
	}
	return n
}

// WaitFor polls cond every 50ms until it holds or d passes.
func (c *Container) WaitFor(what string, d time.Duration, cond func() bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > d {
			c.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitState waits for a unit's ActiveState (and SubState when given as
// "active/running").
func (c *Container) WaitState(unit, want string, d time.Duration) time.Duration {
	c.t.Helper()
	return c.WaitFor(unit+" to be "+want, d, func() bool {
		out, _ := c.Sh(fmt.Sprintf("systemctl show -P ActiveState %q; systemctl show -P SubState %q", unit, unit))
		f := strings.Fields(out)
		if len(f) < 2 {
			return false
		}
		if strings.Contains(want, "/") {
			return f[0]+"/"+f[1] == want
		}
		return f[0] == want
	})
}

// Journal returns journalctl output of the current boot (extra args are
// passed through, e.g. "-u", unit).
func (c *Container) Journal(args ...string) string {
	c.t.Helper()
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	// --sync first: lines a process wrote just before it exited may not
	// have been read from its stream yet.
	out, _ := c.Sh("journalctl --sync; journalctl --no-pager -o short-precise " + strings.Join(q, " "))
	return out
}

// Now returns the container's clock as a journalctl --since argument, to
// read only what is logged after this point (whole seconds would take in
// what came just before).
func (c *Container) Now() string {
	c.t.Helper()
	return "@" + strings.TrimSpace(c.MustSh("date +%s.%N"))
}

// dumpJournal prints the current boot's journal lines that matter.
func (c *Container) dumpJournal() {
	out, _ := c.Sh(`journalctl --no-pager -o short-precise -b | grep -E 'archil|e2e|\.mount|remote-fs|Credential|credential' | tail -n 250`)
	c.t.Logf("journal of the failed test (filtered, last 250 lines):\n%s", out)
}

// MountInfo returns the container PID 1's mountinfo lines for mount point mp.
func (c *Container) MountInfo(mp string) []string {
	c.t.Helper()
	out := c.MustSh("cat /proc/1/mountinfo")
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if e, err := mountinfo.ParseLine(sc.Text()); err == nil && e.MountPoint == mp {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// ArchilMounts counts fuse.archil mounts at mp in PID 1's namespace.
func (c *Container) ArchilMounts(mp string) int {
	n := 0
	for _, l := range c.MountInfo(mp) {
		if strings.Contains(l, " - fuse.archil ") {
			n++
		}
	}
	return n
}

// GrepToken fails the test when the token is found in text.
func (s *suite) GrepToken(t *testing.T, where, text string) {
	t.Helper()
	if strings.Contains(text, s.token) {
		t.Errorf("TOKEN LEAK: the fixture token appears in %s", where)
	}
	// A prefix long enough to be meaningful must not appear either.
	if strings.Contains(text, s.token[:16]) {
		t.Errorf("TOKEN LEAK: a prefix of the fixture token appears in %s", where)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// backingPath is archil-fake's backing directory of a disk (with its
// ":/sub/path").
func backingPath(disk string) string { return fakedisk.Backing(fakeState, disk) }

// ---------------------------------------------------------------------------
// Figures, printed at the end of the run.

var (
	figMu   sync.Mutex
	figures [][2]string
)

func record(k, v string) {
	figMu.Lock()
	defer figMu.Unlock()
	for i := range figures {
		if figures[i][0] == k {
			figures[i][1] = v
			return
		}
	}
	figures = append(figures, [2]string{k, v})
}

// printFigures writes the table of figures (called from TestMain after
// every test ran).
func printFigures(out io.Writer) {
	figMu.Lock()
	defer figMu.Unlock()
	w := 0
	for _, f := range figures {
		if len(f[0]) > w {
			w = len(f[0])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-*s | %s\n%s-+-%s\n", w, "figure", "value", strings.Repeat("-", w), strings.Repeat("-", 30))
	for _, f := range figures {
		fmt.Fprintf(&b, "%-*s | %s\n", w, f[0], f[1])
	}
	fmt.Fprint(out, b.String())
}
