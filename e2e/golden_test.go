//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kinds of credential source a golden unit uses.
const (
	credFile      = "file"      // LoadCredential=id:/root-only/file (agenix, sops-nix)
	credStore     = "store"     // LoadCredential=id:<store path> (authToken)
	credEncrypted = "encrypted" // LoadCredentialEncrypted=id:/file.cred
	credImport    = "import"    // ImportCredential=id (credstore)
)

type cred struct {
	Kind string
	ID   string
	Path string // empty for credImport
}

// golden is one rendered unit of nixos/tests/golden with its JSON config.
type golden struct {
	Name       string // from the JSON
	Unit       string // archil-mount-<name>.service
	UnitText   []byte
	Entries    []entry // [Section] Key=Value, in order
	ConfigPath string  // the --config of ExecStart
	ConfigText []byte
	Config     map[string]any
	Creds      []cred
}

type entry struct{ Section, Key, Value string }

func (g *golden) Disk() string       { s, _ := g.Config["diskName"].(string); return s }
func (g *golden) MountPoint() string { s, _ := g.Config["mountPoint"].(string); return s }
func (g *golden) AuthMethod() string { s, _ := g.Config["authMethod"].(string); return s }

// Kind is the golden's credential kind, or "iam".
func (g *golden) Kind() string {
	if g.AuthMethod() == "iam" {
		return "iam"
	}
	if len(g.Creds) == 1 {
		return g.Creds[0].Kind
	}
	return fmt.Sprintf("token(%d sources)", len(g.Creds))
}

// Values returns every value of Key in [Section].
func (g *golden) Values(section, key string) []string {
	var v []string
	for _, e := range g.Entries {
		if e.Section == section && e.Key == key {
			v = append(v, e.Value)
		}
	}
	return v
}

func (g *golden) Value(section, key string) string {
	v := g.Values(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func parseUnit(text string) []entry {
	var out []entry
	section := ""
	var cont string
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok {
				out = append(out, entry{section, strings.TrimSpace(k), strings.TrimSpace(v)})
			}
		}
	}
	return out
}

// goldenSet is one directory of goldens as NixOS would write it to
// /etc/systemd/system: every unit file (the mounts' and their helpers'),
// the links NixOS makes for wantedBy/requiredBy, and the mounts with
// their configs.
type goldenSet struct {
	Mounts []*golden
	Units  map[string][]byte   // unit name -> text
	Links  map[string][]string // unit name -> its links, e.g. remote-fs.target.wants/<unit>
}

// loadGoldens reads every unit and link of dir, and each
// archil-mount-<name>.service with its archil-mount-<name>.json.
func loadGoldens(dir string) (*goldenSet, error) {
	set := &goldenSet{Units: map[string][]byte{}, Links: map[string][]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && isLinkDir(name):
			links, err := os.ReadDir(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			for _, l := range links {
				target, err := os.Readlink(filepath.Join(dir, name, l.Name()))
				if err != nil {
					return nil, fmt.Errorf("golden link %s/%s: %w", name, l.Name(), err)
				}
				if target != "../"+l.Name() {
					return nil, fmt.Errorf("golden link %s/%s points to %s, not ../%s as NixOS links it", name, l.Name(), target, l.Name())
				}
				set.Links[l.Name()] = append(set.Links[l.Name()], name+"/"+l.Name())
			}
		case !e.IsDir() && strings.HasPrefix(name, "archil-") && !strings.HasSuffix(name, ".json"):
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			set.Units[name] = b
			if strings.HasPrefix(name, "archil-mount-") && strings.HasSuffix(name, ".service") {
				g, err := loadGolden(filepath.Join(dir, name))
				if err != nil {
					return nil, fmt.Errorf("golden %s: %w", name, err)
				}
				set.Mounts = append(set.Mounts, g)
			}
		}
	}
	if len(set.Mounts) == 0 {
		return nil, fmt.Errorf("no golden units in %s (archil-mount-<name>.service + .json, rendered by the module)", dir)
	}
	for unit := range set.Links {
		if _, ok := set.Units[unit]; !ok {
			return nil, fmt.Errorf("golden links to %s, which is not in %s", unit, dir)
		}
	}
	return set, nil
}

func isLinkDir(name string) bool {
	return strings.HasSuffix(name, ".wants") || strings.HasSuffix(name, ".requires") || strings.HasSuffix(name, ".upholds")
}

func loadGolden(unitFile string) (*golden, error) {
	text, err := os.ReadFile(unitFile)
	if err != nil {
		return nil, err
	}
	g := &golden{Unit: filepath.Base(unitFile), UnitText: text, Entries: parseUnit(string(text))}
	exec := g.Value("Service", "ExecStart")
	f := strings.Fields(exec)
	for i := range f {
		if f[i] == "--config" && i+1 < len(f) {
			g.ConfigPath = f[i+1]
		} else if strings.HasPrefix(f[i], "--config=") {
			g.ConfigPath = strings.TrimPrefix(f[i], "--config=")
		}
	}
	if g.ConfigPath == "" {
		return nil, fmt.Errorf("no --config in ExecStart=%s", exec)
	}
	jsonFile := strings.TrimSuffix(unitFile, ".service") + ".json"
	g.ConfigText, err = os.ReadFile(jsonFile)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(g.ConfigText, &g.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(jsonFile), err)
	}
	g.Name, _ = g.Config["name"].(string)
	for _, v := range g.Values("Service", "LoadCredential") {
		id, p, _ := strings.Cut(v, ":")
		kind := credFile
		if strings.HasPrefix(p, "/nix/store/") || strings.HasPrefix(p, "/usr/local/share/archil/") {
			kind = credStore
		}
		g.Creds = append(g.Creds, cred{kind, id, p})
	}
	for _, v := range g.Values("Service", "LoadCredentialEncrypted") {
		id, p, _ := strings.Cut(v, ":")
		g.Creds = append(g.Creds, cred{credEncrypted, id, p})
	}
	for _, v := range g.Values("Service", "ImportCredential") {
		id, _, _ := strings.Cut(v, ":")
		id = strings.TrimSuffix(id, "*")
		g.Creds = append(g.Creds, cred{credImport, id, ""})
	}
	return g, nil
}

// goldenOf returns the first golden of a kind ("iam", "file", "store",
// "encrypted", "import").
func (s *suite) goldenOf(kind string) *golden {
	for _, g := range s.goldens {
		if g.Kind() == kind {
			return g
		}
	}
	return nil
}

// installGoldens writes every unit of set into /etc/systemd/system and
// each mount's config where its ExecStart names it. No link is made: a test
// chooses which goldens its system has enabled (EnableGoldens).
func (c *Container) installGoldens(set *goldenSet) {
	c.t.Helper()
	if set == nil {
		return // reported by setup as missing
	}
	for unit, text := range set.Units {
		c.WriteFile("/etc/systemd/system/"+unit, text, 0o644)
	}
	for _, g := range set.Mounts {
		c.WriteFile(g.ConfigPath, g.ConfigText, 0o644)
	}
}

// EnableGoldens makes the links of the golden units, exactly as the golden
// directory has them (NixOS' <target>.wants/<unit> and
// <target>.requires/<unit>, from wantedBy and requiredBy): the system then
// has those mounts configured. It reloads systemd when the container runs.
func (c *Container) EnableGoldens(units ...string) {
	c.t.Helper()
	for _, u := range units {
		links := c.s.golden.Links[u]
		if len(links) == 0 {
			c.t.Fatalf("golden %s has no links (nothing wants or requires it)", u)
		}
		for _, l := range links {
			c.MkdirAll("/etc/systemd/system/"+filepath.Dir(l), 0o755)
			p := c.hostPath("/etc/systemd/system/" + l)
			os.Remove(p)
			if err := os.Symlink("../"+u, p); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	if c.running() {
		c.DaemonReload()
	}
}
