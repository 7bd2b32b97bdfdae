//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

// loadGoldens reads every archil-mount-*.service of dir with its config.
func loadGoldens(dir string) ([]*golden, error) {
	units, err := filepath.Glob(filepath.Join(dir, "archil-mount-*.service"))
	if err != nil {
		return nil, err
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("no golden units in %s (archil-mount-<name>.service + .json, rendered by the module)", dir)
	}
	sort.Strings(units)
	var gs []*golden
	for _, u := range units {
		g, err := loadGolden(u)
		if err != nil {
			return nil, fmt.Errorf("golden %s: %w", filepath.Base(u), err)
		}
		gs = append(gs, g)
	}
	return gs, nil
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
