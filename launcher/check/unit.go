package check

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/archil-nix/archil-launch/authsrc"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// unitQueryTimeout bounds the one systemctl call --check makes.
const unitQueryTimeout = 3 * time.Second

// UnitInfo is what systemd says about a mount's unit.
type UnitInfo struct {
	Name        string // the unit that exists: archil-mount-<name> (NixOS) or archil-mount@<name> (template)
	LoadState   string
	ActiveState string
	SubState    string
	// CredentialFiles are the unit's LoadCredential= and
	// LoadCredentialEncrypted= files, by credential id.
	CredentialFiles map[string][]authsrc.File
	Err             error // systemd did not answer
}

// UnitQuerier asks the service manager about the units of configs, keyed
// by mount name.
type UnitQuerier interface {
	Query(ctx context.Context, configs []*config.Config) map[string]*UnitInfo
}

// UnitNames are the two unit names a mount can have: the NixOS module's and
// the template's instance.
func UnitNames(name string) []string {
	return []string{"archil-mount-" + name + ".service", "archil-mount@" + name + ".service"}
}

type systemctl struct{}

func (systemctl) Query(ctx context.Context, configs []*config.Config) map[string]*UnitInfo {
	out := map[string]*UnitInfo{}
	var names []string
	for _, c := range configs {
		if c != nil {
			names = append(names, UnitNames(c.Name)...)
		}
	}
	if len(names) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, unitQueryTimeout)
	defer cancel()
	args := append([]string{"show", "--property=Id,LoadState,ActiveState,SubState", "--"}, names...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	units := parseSystemctlShow(stdout.String())
	for _, c := range configs {
		if c == nil {
			continue
		}
		info := &UnitInfo{Name: UnitNames(c.Name)[0], LoadState: "not-found"}
		if err != nil && len(units) == 0 {
			info.Err = fmt.Errorf("%w: %s", err, lastStderrLine(stderr.String()))
		}
		for _, n := range UnitNames(c.Name) {
			if u, ok := units[n]; ok && u.LoadState != "not-found" {
				info = u
				break
			}
		}
		if info.LoadState == "loaded" && c.AuthMethod == config.AuthToken {
			info.CredentialFiles = unitCredentialFiles(ctx, info.Name)
		}
		out[c.Name] = info
	}
	return out
}

// parseSystemctlShow reads `systemctl show` output: one block of KEY=VALUE
// lines per unit, blocks separated by an empty line.
func parseSystemctlShow(out string) map[string]*UnitInfo {
	units := map[string]*UnitInfo{}
	cur := &UnitInfo{}
	flush := func() {
		if cur.Name != "" {
			units[cur.Name] = cur
		}
		cur = &UnitInfo{}
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			flush()
			continue
		}
		switch key {
		case "Id":
			cur.Name = value
		case "LoadState":
			cur.LoadState = value
		case "ActiveState":
			cur.ActiveState = value
		case "SubState":
			cur.SubState = value
		}
	}
	flush()
	return units
}

// unitCredentialFiles asks systemd over D-Bus for the unit's
// LoadCredential= and LoadCredentialEncrypted= pairs: `systemctl show`
// prints them as [unprintable]. A failure leaves the map empty; --check
// then reports the other places it looked.
func unitCredentialFiles(ctx context.Context, unit string) map[string][]authsrc.File {
	files := map[string][]authsrc.File{}
	out, err := exec.CommandContext(ctx, "busctl", "--json=short", "get-property", "org.freedesktop.systemd1",
		busUnitPath(unit), "org.freedesktop.systemd1.Service", "LoadCredential", "LoadCredentialEncrypted").Output()
	if err != nil {
		return files
	}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var prop struct {
			Data [][2]string `json:"data"`
		}
		if json.Unmarshal([]byte(line), &prop) != nil {
			continue
		}
		for _, pair := range prop.Data {
			if strings.HasPrefix(pair[1], "/") {
				files[pair[0]] = append(files[pair[0]], authsrc.File{Path: pair[1], Encrypted: i == 1})
			}
		}
	}
	return files
}

// busUnitPath is a unit's D-Bus object path: every byte but [A-Za-z0-9]
// escaped as _xx, as sd_bus_path_encode does.
func busUnitPath(unit string) string {
	var b strings.Builder
	b.WriteString("/org/freedesktop/systemd1/unit/")
	for i := 0; i < len(unit); i++ {
		if c := unit[i]; config.IsAlnum(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

func lastStderrLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// item turns the unit's state into a --check finding. A unit systemd does
// not know, or no systemd at all, is not a problem by itself: --check also
// serves hosts that start the launcher some other way.
func (u *UnitInfo) item() CheckItem {
	item := CheckItem{Check: "unit", OK: true}
	switch {
	case u == nil:
		item.State = "unknown"
	case u.Err != nil:
		item.State, item.Detail = "unknown", "systemd did not answer: "+u.Err.Error()
	case u.LoadState == "not-found":
		item.State, item.Detail = "not installed", "systemd has no unit "+u.Name+" nor a template instance for this mount"
	case u.ActiveState == "failed" || u.SubState == "auto-restart":
		item.OK, item.State, item.Detail = false, u.ActiveState+" ("+u.SubState+")", u.Name+" is failing; see journalctl -u "+u.Name
	default:
		item.State, item.Detail = u.ActiveState+" ("+u.SubState+")", u.Name
	}
	return item
}
