// Package check is archil-launch --check: for each mount config it reports
// what is wrong (config, client, mount point, credential and where it was
// found, IAM role, /dev/fuse, unit state, what the client answers: its
// version, the status of a live mount) as a table or one JSON object,
// and changes nothing. It never holds or prints a secret's value.
package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/archil-nix/archil-launch/authsrc"
	"github.com/archil-nix/archil-launch/broker"
	"github.com/archil-nix/archil-launch/launcher"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// DefaultConfigDir is where the NixOS module and the template unit put the
// mount configs; --check reads every *.json there when given no --config.
const DefaultConfigDir = "/etc/archil/mounts.d"

// CheckReport is what --check found. It never holds a secret: for a token
// only its length and where it was found.
type CheckReport struct {
	OK     bool          `json:"ok"`
	Host   []CheckItem   `json:"host"`
	Mounts []MountReport `json:"mounts"`
}

// MountReport is the result for one mount config.
type MountReport struct {
	Name   string      `json:"name,omitempty"`
	Config string      `json:"config"`
	OK     bool        `json:"ok"`
	Checks []CheckItem `json:"checks"`
}

// CheckItem is one finding. OK false is a problem (--check exits 1); an
// OK item with Warnings is worth a look but no problem.
type CheckItem struct {
	Check      string          `json:"check"`
	OK         bool            `json:"ok"`
	State      string          `json:"state"`
	Detail     string          `json:"detail,omitempty"`
	Warnings   []string        `json:"warnings,omitempty"`
	Credential *CredentialInfo `json:"credential,omitempty"`
	// Probes are the runs of the client behind a "client version" or
	// "client status" item, in order.
	Probes []ProbeInfo `json:"probes,omitempty"`
}

// CredentialInfo describes a resolved credential without its value.
type CredentialInfo struct {
	Method   string  `json:"method"`
	Source   string  `json:"source,omitempty"`
	Location string  `json:"location,omitempty"`
	Length   int     `json:"length,omitempty"`
	Role     string  `json:"role,omitempty"`
	TookMS   float64 `json:"tookMs"`
}

// Checker runs --check. Its zero value checks the real host.
type Checker struct {
	ConfigDir string      // default DefaultConfigDir
	Units     UnitQuerier // default systemctl
	// Resolver builds the credential resolver for a mount; default: the
	// launcher's own order, plus the unit's credentials directory and its
	// LoadCredential= files, which a run outside the unit cannot see
	// through $CREDENTIALS_DIRECTORY.
	Resolver func(cfg *config.Config, unit *UnitInfo) *broker.Resolver
}

// Check inspects each config in paths (all of ConfigDir when empty) and
// changes nothing.
func (c *Checker) Check(ctx context.Context, paths []string) *CheckReport {
	report := &CheckReport{OK: true, Host: []CheckItem{checkFuseDevice()}}
	if len(paths) == 0 {
		dir := c.ConfigDir
		if dir == "" {
			dir = DefaultConfigDir
		}
		found, err := configFiles(dir)
		if err != nil {
			report.Host = append(report.Host, CheckItem{Check: "configs", State: "error", Detail: err.Error()})
		} else if len(found) == 0 {
			report.Host = append(report.Host, CheckItem{Check: "configs", State: "missing", Detail: "no mount config (*.json) in " + dir})
		}
		paths = found
	}
	configs := make([]*config.Config, len(paths))
	mounts := make([]MountReport, len(paths))
	for i, p := range paths {
		mounts[i], configs[i] = checkConfig(p)
	}
	addConflicts(mounts, configs)
	// The client probes need the mount point's state, which is looked at
	// first; they run while the rest is checked.
	probes := newClientProbes(len(configs))
	for i, cfg := range configs {
		if cfg == nil {
			continue
		}
		items := mountPointItems(ctx, cfg.MountPoint)
		mounts[i].Checks = append(mounts[i].Checks, items...)
		if passed(mounts[i].Checks, "client") {
			probes.start(ctx, i, cfg, items[0].State == launcher.MountPointLive)
		}
	}
	units := c.units().Query(ctx, configs)
	probe := memoProbe(authsrc.ProbeIAMRole)
	for i, cfg := range configs {
		if cfg == nil {
			continue
		}
		unit := units[cfg.Name]
		mounts[i].Checks = append(mounts[i].Checks,
			c.checkCredential(ctx, cfg, unit, probe),
			unit.item(),
		)
	}
	for i, items := range probes.wait() {
		mounts[i].Checks = append(mounts[i].Checks, items...)
	}
	for i := range mounts {
		mounts[i].OK = allOK(mounts[i].Checks)
		report.OK = report.OK && mounts[i].OK
	}
	report.OK = report.OK && allOK(report.Host)
	report.Mounts = mounts
	return report
}

// mountPointItems report what the launcher's preflight would find at mp,
// the path's safety included, and who holds mp's lock.
func mountPointItems(ctx context.Context, mp string) []CheckItem {
	st := launcher.InspectMountPoint(ctx, mp)
	lock := CheckItem{Check: "lock", OK: true, State: "free", Detail: launcher.LockPath(mp)}
	if st.Holder != 0 {
		lock.State = "held"
		lock.Detail = fmt.Sprintf("archil-launch pid %d holds %s", st.Holder, launcher.LockPath(mp))
	}
	return []CheckItem{{Check: "mount point", OK: st.OK, State: st.State, Detail: st.Detail}, lock}
}

// checkConfig loads one config; the client binary is reported on its own
// line so that a missing client does not hide the other findings.
func checkConfig(path string) (MountReport, *config.Config) {
	m := MountReport{Config: path}
	cfg, err := config.LoadWithoutClient(path)
	if err != nil {
		m.Checks = []CheckItem{{Check: "config", State: "invalid", Detail: err.Error()}}
		return m, nil
	}
	m.Name = cfg.Name
	m.Checks = []CheckItem{{Check: "config", OK: true, State: "valid", Detail: path}}
	if err := config.CheckClient(cfg.Archil); err != nil {
		m.Checks = append(m.Checks, CheckItem{Check: "client", State: "unusable", Detail: err.Error()})
	} else {
		m.Checks = append(m.Checks, CheckItem{Check: "client", OK: true, State: "present", Detail: cfg.Archil})
	}
	return m, cfg
}

func (c *Checker) units() UnitQuerier {
	if c.Units != nil {
		return c.Units
	}
	return systemctl{}
}

func (c *Checker) checkCredential(ctx context.Context, cfg *config.Config, unit *UnitInfo, probe iamProbe) CheckItem {
	item := CheckItem{Check: "credential"}
	resolver := checkResolver(cfg, unit, probe)
	if c.Resolver != nil {
		resolver = c.Resolver(cfg, unit)
	}
	res, err := resolver.Resolve(ctx, broker.Request{Method: cfg.AuthMethod, Credential: cfg.Credential, IMDSTimeout: cfg.IMDSTimeout})
	if err != nil {
		var miss *broker.NotFoundError
		item.State = "error"
		if errors.As(err, &miss) {
			item.State = "missing"
		}
		item.Detail = err.Error()
		return item
	}
	info := &CredentialInfo{Method: res.Method, Source: res.Source, Location: res.Location, Role: res.Role, TookMS: float64(res.Took.Microseconds()) / 1000}
	item.OK, item.State, item.Credential, item.Warnings = true, "found", info, res.Warnings
	if res.Method == config.AuthIAM {
		item.Detail = fmt.Sprintf("IAM role %q from %s in %.0f ms", res.Role, res.Location, info.TookMS)
	} else {
		info.Length = res.Token.Len()
		item.Detail = fmt.Sprintf("token of %d bytes from %s %s", info.Length, res.Source, res.Location)
	}
	return item
}

// checkResolver is the launcher's order with what the unit will be given
// put first: its live credentials directory, then its LoadCredential= files.
func checkResolver(cfg *config.Config, unit *UnitInfo, probe iamProbe) *broker.Resolver {
	r := broker.Default()
	r.ProbeIAMRole = probe
	if os.Getenv("CREDENTIALS_DIRECTORY") != "" || unit == nil {
		return r
	}
	sources := []authsrc.Source{authsrc.CredentialsDirectory{Dir: filepath.Join("/run/credentials", unit.Name)}}
	for _, f := range unit.CredentialFiles[cfg.Credential] {
		sources = append(sources, f)
	}
	r.TokenSources = append(sources, r.TokenSources[1:]...)
	return r
}

// configFiles lists dir's *.json files, sorted, as the shell would: hidden
// files (an editor's .#name.json lock) are not configs.
func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("failed to list mount configs: %w", err)
	}
	var found []string
	for _, e := range entries {
		if name := e.Name(); !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".json") {
			found = append(found, filepath.Join(dir, name))
		}
	}
	return found, nil
}

type iamProbe = func(context.Context, time.Duration) (*authsrc.Role, error)

// memoProbe asks the metadata service once per budget per --check run:
// IAM mounts with the same imdsTimeoutSec get the same answer, and a mount
// with a shorter budget is not passed by a slower answer another waited for.
func memoProbe(probe iamProbe) iamProbe {
	type answer struct {
		role *authsrc.Role
		err  error
	}
	answers := map[time.Duration]answer{}
	return func(ctx context.Context, budget time.Duration) (*authsrc.Role, error) {
		a, ok := answers[budget]
		if !ok {
			a.role, a.err = probe(ctx, budget)
			answers[budget] = a
		}
		return a.role, a.err
	}
}

// addConflicts flags mounts that share a mount point or sit inside
// another's: the module refuses both, hand-written configs can have them.
func addConflicts(mounts []MountReport, configs []*config.Config) {
	for i, a := range configs {
		for j, b := range configs {
			if i == j || a == nil || b == nil {
				continue
			}
			switch {
			case a.Name == b.Name:
				mounts[i].Checks = append(mounts[i].Checks, CheckItem{Check: "conflict", State: "duplicate",
					Detail: fmt.Sprintf("another config file also names its mount %s (one unit, two mounts)", a.Name)})
			case a.MountPoint == b.MountPoint:
				mounts[i].Checks = append(mounts[i].Checks, CheckItem{Check: "conflict", State: "duplicate",
					Detail: fmt.Sprintf("mount %s uses the same mount point %s", b.Name, a.MountPoint)})
			case strings.HasPrefix(a.MountPoint, b.MountPoint+"/"):
				mounts[i].Checks = append(mounts[i].Checks, CheckItem{Check: "conflict", State: "nested",
					Detail: fmt.Sprintf("%s is inside mount %s at %s", a.MountPoint, b.Name, b.MountPoint)})
			}
		}
	}
}

func checkFuseDevice() CheckItem {
	item := CheckItem{Check: "fuse", State: "missing", Detail: "/dev/fuse"}
	fi, err := os.Stat("/dev/fuse")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		item.Detail = "/dev/fuse does not exist (load the fuse kernel module)"
	case err != nil:
		item.Detail = err.Error()
	case fi.Mode()&fs.ModeCharDevice == 0:
		item.State, item.Detail = "wrong type", "/dev/fuse is not a character device"
	default:
		item.OK, item.State = true, "present"
	}
	return item
}

// passed reports whether items holds the check named check and it is OK.
func passed(items []CheckItem, check string) bool {
	for _, it := range items {
		if it.Check == check {
			return it.OK
		}
	}
	return false
}

func allOK(items []CheckItem) bool {
	for _, it := range items {
		if !it.OK {
			return false
		}
	}
	return true
}
