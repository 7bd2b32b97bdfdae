package nixos_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// ---------------------------------------------------------------------------
// Golden units: tests/golden/config.nix evaluated in NixOS, written out as
// NixOS writes /etc/systemd/system (each archil unit's text, and the
// <target>.wants/<unit> and <target>.requires/<unit> links) plus the
// mount configs, with store paths replaced by the stand-ins described in
// tests/golden/README.md. The container suite (e2e) installs exactly these.

var storeReplacements = []struct {
	re   *regexp.Regexp
	repl string
}{
	// This project's packages and files, where the container suite puts them.
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-client/bin/archil\b`), "/usr/local/bin/archil"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-launch-[^/]+/bin/archil-launch\b`), "/usr/local/bin/archil-launch"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-mount-([A-Za-z0-9_-]+)-token\b`), "/usr/local/share/archil/$1.token"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-mount-([A-Za-z0-9_-]+)\.json\b`), "/etc/archil/mounts.d/$1.json"},
	// Any other package: its tree is the distribution's /usr (bin/systemctl,
	// lib/locale/locale-archive, share/zoneinfo).
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-[^/\s"]+/`), "/usr/"},
}

var pathLineRe = regexp.MustCompile(`(?m)^Environment="PATH=([^"]*)"$`)

// toFHS maps the store paths of a rendered file to their stand-ins; the
// PATH of a unit keeps each directory once.
func toFHS(t *testing.T, what, s string) string {
	t.Helper()
	for _, r := range storeReplacements {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	s = pathLineRe.ReplaceAllStringFunc(s, func(line string) string {
		var dirs []string
		for _, d := range strings.Split(pathLineRe.FindStringSubmatch(line)[1], ":") {
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
		return `Environment="PATH=` + strings.Join(dirs, ":") + `"`
	})
	if strings.Contains(s, "/nix/store") {
		t.Errorf("%s: store path without a stand-in:\n%s", what, s)
	}
	return s
}

func TestGoldenUnits(t *testing.T) {
	r := checkGoldenSet(t, "golden", filepath.Join("tests", "golden"), 5)
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "mounts.inline.authToken") }) {
		t.Errorf("no authToken warning for the inline mount: %q", r.Warnings)
	}
	checkGoldenSet(t, "escaping", filepath.Join("tests", "golden", "escaping"), 3)
}

// goldenFile is one file of a golden directory: a regular file's content,
// or a symlink's target.
type goldenFile struct{ text, link string }

// checkGoldenSet renders the eval.nix attribute attr (n mounts) and
// compares its files with dir, or rewrites dir with UPDATE_GOLDEN=1.
func checkGoldenSet(t *testing.T, attr, dir string, n int) rendered {
	t.Helper()
	var r rendered
	start := time.Now()
	mustEval(t, &r, "tests/eval/eval.nix", "-A", attr)
	took := time.Since(start)
	t.Logf("%s: NixOS evaluation and rendering in %s", attr, took.Round(time.Millisecond))
	fmt.Printf("nixos: goldens %q evaluated under NixOS in %s\n", attr, took.Round(time.Millisecond))

	want := map[string]goldenFile{}
	for unit, u := range r.Rendered.Units {
		want[unit] = goldenFile{text: toFHS(t, unit, u.Text)}
		for _, l := range u.Links {
			want[l] = goldenFile{link: "../" + unit}
		}
	}
	configs := 0
	for path, text := range r.Rendered.Etc {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "archil/mounts.d/"), ".json")
		want["archil-mount-"+name+".json"] = goldenFile{text: toFHS(t, path, text)}
		configs++
	}
	if configs != n {
		t.Errorf("%s renders %d mount configs, want %d", attr, configs, n)
	}
	for file, f := range want {
		checkGoldenFile(t, file, f.text)
	}

	have := readGoldenDir(t, dir)
	if update {
		writeGoldenDir(t, dir, have, want)
		return r
	}
	for file := range have {
		if _, ok := want[file]; !ok {
			t.Errorf("%s is no longer rendered (UPDATE_GOLDEN=1 go test ./nixos/ removes it)", filepath.Join(dir, file))
		}
	}
	for file, f := range want {
		got, ok := have[file]
		switch {
		case !ok:
			t.Errorf("%s is missing (UPDATE_GOLDEN=1 go test ./nixos/ writes it)", filepath.Join(dir, file))
		case got.link != f.link:
			t.Errorf("%s links to %q, NixOS to %q (UPDATE_GOLDEN=1 go test ./nixos/ rewrites it)", file, got.link, f.link)
		case got.text != f.text:
			t.Errorf("%s differs from the module's output (UPDATE_GOLDEN=1 go test ./nixos/ rewrites it):\n%s",
				file, lineDiff(got.text, f.text))
		}
	}
	return r
}

// mountUnitLines are held by every mount's unit, whatever the goldens say;
// namespaceSettings by none (each would hide the mount).
var (
	mountUnitLines    = []string{"Type=notify", "NotifyAccess=main", "KillMode=process", "LimitCORE=1", "Restart=on-failure", "StartLimitIntervalSec=0", "DeviceAllow=/dev/fuse rw"}
	namespaceSettings = []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts", "ProtectKernel", "ProtectControlGroups", "ProtectProc", "ProcSubset", "PrivateIPC", "PrivatePIDs", "PrivateNetwork", "DynamicUser", "Paths=", "TemporaryFileSystem", "RootDirectory", "RootImage", "MountFlags", "LogNamespace", "PrivateUsers"}
)

// checkGoldenFile checks what every rendered file must hold.
func checkGoldenFile(t *testing.T, file, text string) {
	t.Helper()
	if strings.Contains(text, "fixture-token-not-a-secret") {
		t.Errorf("%s contains the authToken value", file)
	}
	switch {
	case strings.HasSuffix(file, ".json"):
		var cfg map[string]any
		if err := json.Unmarshal([]byte(text), &cfg); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		for k, val := range cfg {
			if val == nil {
				t.Errorf("%s: %s is null", file, k)
			}
		}
	case strings.HasPrefix(file, "archil-mount-") && strings.HasSuffix(file, ".service"):
		lines := strings.Split(text, "\n")
		for _, line := range mountUnitLines {
			if !slices.Contains(lines, line) {
				t.Errorf("%s: no line %q", file, line)
			}
		}
		for _, forbidden := range namespaceSettings {
			if strings.Contains(text, forbidden) {
				t.Errorf("%s: %s would give the unit a mount namespace and hide the mount", file, forbidden)
			}
		}
	}
}

// readGoldenDir reads the archil files and the links of dir (not README.md,
// config.nix or subdirectories of other golden sets).
func readGoldenDir(t *testing.T, dir string) map[string]goldenFile {
	t.Helper()
	have := map[string]goldenFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			if p != dir && !isLinkDir(rel) {
				return filepath.SkipDir
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			have[rel] = goldenFile{link: target}
		case strings.HasPrefix(d.Name(), "archil-"):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			have[rel] = goldenFile{text: string(b)}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return have
}

func isLinkDir(name string) bool {
	return !strings.Contains(name, "/") && (strings.HasSuffix(name, ".wants") || strings.HasSuffix(name, ".requires") || strings.HasSuffix(name, ".upholds"))
}

// writeGoldenDir replaces what readGoldenDir found with want.
func writeGoldenDir(t *testing.T, dir string, have, want map[string]goldenFile) {
	t.Helper()
	for file := range have {
		if err := os.Remove(filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
		if d := filepath.Dir(file); d != "." {
			os.Remove(filepath.Join(dir, d)) // only once empty
		}
	}
	for file, f := range want {
		p := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.link != "" {
			err := os.Symlink(f.link, p)
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lineDiff lists the lines only in a (-) and only in b (+).
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	if len(out) == 0 {
		return "(same lines, different order or repetition)"
	}
	return strings.Join(out, "\n")
}
