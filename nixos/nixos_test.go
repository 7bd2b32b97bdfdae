// Package nixos_test evaluates the NixOS module (nixos/module.nix) with
// nix-instantiate and Nixpkgs' lib only: the module's own test cases, the
// launcher's config vectors (the two must agree), the golden unit files,
// docs/options.md, the flake's vendorHash, and that every .nix file parses.
//
// Needs nix-instantiate and nix-hash on PATH and Nixpkgs' lib at
// $NIXPKGS_LIB (default ../shared/nixpkgs-lib from the repository root).
// A missing tool is a test failure, not a skip.
//
// UPDATE_GOLDEN=1 go test ./nixos/ rewrites tests/golden and
// docs/options.md.
package nixos_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

var update = os.Getenv("UPDATE_GOLDEN") != ""

// repoRoot is the module root: tests run in nixos/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// libArg is the --arg value importing Nixpkgs' lib.
func libArg(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NIXPKGS_LIB")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "nixpkgs-lib")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lib", "default.nix")); err != nil {
		t.Fatalf("Nixpkgs lib not found (set NIXPKGS_LIB to a nixpkgs or nixpkgs.lib checkout): %v", err)
	}
	return "import " + filepath.Join(dir, "lib")
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required for the NixOS module tests: %v", name, err)
	}
	return p
}

// nixEval runs nix-instantiate --eval --strict --json on file with args.
// It returns stdout, and stderr with an error when evaluation failed.
func nixEval(t *testing.T, file string, args ...string) ([]byte, string, error) {
	t.Helper()
	bin := needTool(t, "nix-instantiate")
	full := append([]string{"--eval", "--strict", "--json", file, "--arg", "lib", libArg(t)}, args...)
	cmd := exec.Command(bin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

func mustEval(t *testing.T, v any, file string, args ...string) {
	t.Helper()
	out, stderr, err := nixEval(t, file, args...)
	if err != nil {
		t.Fatalf("nix-instantiate %s %v: %v\n%s", file, args, err, stderr)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decoding nix output: %v", err)
	}
}

// writeJSON writes v to a temporary file for eval.nix's casesFile.
func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// squash folds whitespace runs into one space: Nix indents and wraps
// multi-line error messages.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// ---------------------------------------------------------------------------
// Every .nix file parses.

func TestNixFilesParse(t *testing.T) {
	bin := needTool(t, "nix-instantiate")
	root := repoRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".nix") {
			return nil
		}
		n++
		if out, err := exec.Command(bin, "--parse", p).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", p, err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d .nix files parse", n)
}

// ---------------------------------------------------------------------------
// The module's own cases: tests/cases/*.nix, each a NixOS module with a
// header:
//
//	# expect: ok                      evaluates, renders, no failed assertion
//	# expect: error <text>            fails; the error contains <text>
//	# expect-also: <text>             ... and <text>
//	# warning: <text>                 a warning contains <text>

type caseHeader struct {
	ok       bool
	errors   []string
	warnings []string
	lines    map[string][]string // unit name: lines its rendered file must hold
}

func readCaseHeader(t *testing.T, path string) caseHeader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h caseHeader
	seen := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		switch {
		case line == "expect: ok":
			h.ok, seen = true, true
		case strings.HasPrefix(line, "expect: error "):
			h.errors, seen = append(h.errors, strings.TrimPrefix(line, "expect: error ")), true
		case strings.HasPrefix(line, "expect-also: "):
			h.errors = append(h.errors, strings.TrimPrefix(line, "expect-also: "))
		case strings.HasPrefix(line, "warning: "):
			h.warnings = append(h.warnings, strings.TrimPrefix(line, "warning: "))
		case strings.HasPrefix(line, "unit-line: "):
			unit, want, _ := strings.Cut(strings.TrimPrefix(line, "unit-line: "), " ")
			if h.lines == nil {
				h.lines = map[string][]string{}
			}
			h.lines[unit] = append(h.lines[unit], want)
		}
	}
	if !seen {
		t.Fatalf("%s: no '# expect: ok' or '# expect: error <text>' header", path)
	}
	return h
}

type rendered struct {
	Warnings []string `json:"warnings"`
	Rendered struct {
		Units          map[string]string `json:"units"`
		Etc            map[string]string `json:"etc"`
		SystemPackages []string          `json:"systemPackages"`
		KernelModules  []string          `json:"kernelModules"`
	} `json:"rendered"`
}

func TestModuleCases(t *testing.T) {
	files, err := filepath.Glob("tests/cases/*.nix")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in tests/cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".nix"), func(t *testing.T) {
			h := readCaseHeader(t, file)
			abs, _ := filepath.Abs(file)
			out, stderr, err := nixEval(t, "tests/eval/eval.nix", "-A", "case", "--arg", "file", abs)
			if h.ok {
				if err != nil {
					t.Fatalf("want ok, evaluation failed: %v\n%s", err, stderr)
				}
				var r rendered
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatal(err)
				}
				for _, w := range h.warnings {
					if !slices.ContainsFunc(r.Warnings, func(got string) bool { return strings.Contains(squash(got), w) }) {
						t.Errorf("no warning containing %q in %q", w, r.Warnings)
					}
				}
				if len(h.warnings) == 0 && len(r.Warnings) > 0 {
					t.Errorf("unexpected warnings: %q", r.Warnings)
				}
				for unit, lines := range h.lines {
					text, ok := r.Rendered.Units[unit]
					if !ok {
						t.Errorf("no unit %s rendered", unit)
					}
					for _, want := range lines {
						if !slices.Contains(strings.Split(text, "\n"), want) {
							t.Errorf("%s has no line %q:\n%s", unit, want, text)
						}
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, evaluation succeeded:\n%s", h.errors, out)
			}
			for _, want := range h.errors {
				if !strings.Contains(squash(stderr), squash(want)) {
					t.Errorf("error does not contain %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The launcher's config vectors, mirrored: launcher/testdata/config/<case>.json
// with <case>.expect ("expect: ok" or "expect: error config <field>: ...").

// vectorOption maps a JSON key of the launcher's config to the mount option
// that sets it ("" for name: the mount's attribute name).
var vectorOption = map[string]string{
	"name":            "",
	"diskName":        "diskName",
	"mountPoint":      "mountPoint",
	"region":          "region",
	"authMethod":      "authMethod",
	"credential":      "credentialName",
	"readOnly":        "readOnly",
	"shared":          "shared",
	"maxCacheMB":      "maxCacheMB",
	"targetCacheMB":   "targetCacheMB",
	"logLevel":        "logLevel",
	"extraArgs":       "extraArgs",
	"passEnv":         "environment",
	"readyTimeoutSec": "readyTimeoutSec",
	"stopTimeoutSec":  "stopTimeoutSec",
	"imdsTimeoutSec":  "imdsTimeoutSec",
}

// Fields the module sets itself, or has a default for, so that "is
// required" cannot happen in a module-written config.
var moduleDefaulted = map[string]bool{"name": true, "authMethod": true, "archil": true}

type vector struct {
	id       string
	ok       bool
	field    string // JSON key of the expected error
	problem  string
	name     string
	mount    map[string]any
	outScope string // why this vector cannot be expressed as module options
}

var expectErrorRe = regexp.MustCompile(`^expect: error config ([A-Za-z]+): (.*)$`)

func loadVectors(t *testing.T) []vector {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "launcher", "testdata", "config")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{id: id}
		line := "expect: " + testkit.ReadExpect(t, strings.TrimSuffix(f, ".json")+".expect")
		if line == "expect: ok" {
			v.ok = true
		} else if m := expectErrorRe.FindStringSubmatch(line); m != nil {
			v.field, v.problem = m[1], m[2]
		} else if strings.HasPrefix(line, "expect: error ") {
			v.outScope = "error not about a field"
		} else {
			t.Fatalf("%s.expect: cannot parse %q", id, line)
		}
		if v.outScope == "" {
			v.outScope = v.toMount(raw)
		}
		vs = append(vs, v)
	}
	return vs
}

// toMount turns the vector's JSON into mount options, or says why it is out
// of scope (a JSON-level problem the module can never write, or a field the
// module does not take from the user).
func (v *vector) toMount(raw []byte) string {
	if !v.ok {
		if _, mirrored := vectorOption[v.field]; !mirrored {
			return "field " + v.field + " is not a mount option"
		}
		if strings.HasPrefix(v.problem, "is required") && moduleDefaulted[v.field] {
			return "the module always writes " + v.field
		}
	}
	if !utf8.Valid(raw) || v.problem == "is not valid UTF-8" {
		// Raw bytes, or a \u escape of half a surrogate pair.
		return "not valid UTF-8 (a Nix string cannot be written so)"
	}
	obj, why := decodeObject(raw)
	if why != "" {
		return why
	}
	name, ok := obj["name"].(string)
	if !ok {
		return "name is not a string (it is an attribute name in Nix)"
	}
	mount := map[string]any{}
	for k, val := range obj {
		if val == nil {
			return "null value (the module leaves a key out instead)"
		}
		opt, known := vectorOption[k]
		switch {
		case k == "archil" || k == "name":
			continue
		case !known:
			return "unknown key " + k
		case k == "passEnv":
			if names, ok := stringList(val); ok {
				env := map[string]any{}
				for _, n := range names {
					env[n] = "set-by-test"
				}
				val = env
			}
		}
		mount[opt] = val
	}
	if obj["authMethod"] == "token" {
		mount["authTokenFile"] = "/run/secrets/archil-token"
	}
	v.name, v.mount = name, mount
	return ""
}

// decodeObject decodes one JSON object the way the launcher sees it: no
// duplicate keys, no trailing data; numbers stay exact.
func decodeObject(raw []byte) (map[string]any, string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, "not a JSON object"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "trailing data"
	}
	// Duplicate top-level keys: count them with a token walk.
	dec = json.NewDecoder(bytes.NewReader(raw))
	seen := map[string]bool{}
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
			} else {
				depth--
			}
			// The object opens, or a nested value closes: a key is next.
			expectKey = depth == 1
			continue
		case string:
			if depth == 1 && expectKey {
				if seen[tok] {
					return nil, "duplicate key " + tok
				}
				seen[tok] = true
				expectKey = false
				continue
			}
		}
		if depth == 1 {
			expectKey = true
		}
	}
	for k, val := range obj {
		obj[k] = numbers(val)
	}
	return obj, ""
}

// numbers turns json.Numbers into int64 or float64, recursively.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = numbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = numbers(v[k])
		}
	}
	return v
}

func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var out []string
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

type vectorResult struct {
	ID     string `json:"id"`
	Result struct {
		Names            map[string]string   `json:"names"`
		ThrowingOptions  map[string][]string `json:"throwingOptions"`
		FailedAssertions []string            `json:"failedAssertions"`
		Warnings         []string            `json:"warnings"`
		Renders          bool                `json:"renders"`
	} `json:"result"`
}

func TestLauncherVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) == 0 {
		t.Fatal("no launcher config vectors in launcher/testdata/config")
	}
	type nixCase struct {
		ID     string                    `json:"id"`
		Mounts map[string]map[string]any `json:"mounts"`
	}
	var cases []nixCase
	byID := map[string]*vector{}
	outOfScope := map[string][]string{}
	for i := range vs {
		v := &vs[i]
		if v.outScope != "" {
			outOfScope[v.outScope] = append(outOfScope[v.outScope], v.id)
			continue
		}
		byID[v.id] = v
		cases = append(cases, nixCase{ID: v.id, Mounts: map[string]map[string]any{v.name: v.mount}})
	}
	var results []vectorResult
	mustEval(t, &results, "tests/eval/eval.nix", "-A", "vectors", "--arg", "casesFile", writeJSON(t, cases))

	agreed := 0
	for _, r := range results {
		v := byID[r.ID]
		res := r.Result
		throws := res.ThrowingOptions[v.name]
		if v.ok {
			if len(throws) == 0 && len(res.FailedAssertions) == 0 && res.Renders {
				agreed++
			} else {
				t.Errorf("%s: launcher accepts it, module does not: options failing %q, assertions %q, renders %v",
					v.id, throws, res.FailedAssertions, res.Renders)
			}
			continue
		}
		opt := vectorOption[v.field]
		prefix := res.Names[v.name]
		want := prefix + "." + opt + ":"
		if opt == "" {
			want = prefix + ":"
		}
		named := slices.Contains(throws, opt) && opt != "" ||
			slices.ContainsFunc(res.FailedAssertions, func(m string) bool { return strings.HasPrefix(m, want) })
		if named {
			agreed++
		} else {
			t.Errorf("%s: launcher rejects %s (%s), module does not name %s: options failing %q, assertions %q",
				v.id, v.field, v.problem, strings.TrimSuffix(want, ":"), throws, res.FailedAssertions)
		}
	}
	nOut := 0
	reasons := make([]string, 0, len(outOfScope))
	for why, ids := range outOfScope {
		nOut += len(ids)
		sort.Strings(ids)
		reasons = append(reasons, fmt.Sprintf("  %s: %s", why, strings.Join(ids, ", ")))
	}
	sort.Strings(reasons)
	t.Logf("launcher config vectors: %d agree with the module, %d disagree, %d out of scope:\n%s",
		agreed, len(results)-agreed, nOut, strings.Join(reasons, "\n"))
	fmt.Printf("nixos: %d of %d launcher config vectors agree with the module, %d out of scope\n",
		agreed, len(results), nOut)
}

// ---------------------------------------------------------------------------
// Golden units: tests/golden/config.nix rendered into
// tests/golden/archil-mount-<name>.service and .json, with store paths
// replaced by the stand-ins described in tests/golden/README.md.

const goldenPATH = "/run/wrappers/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

var storeReplacements = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-client/bin/archil`), "/usr/local/bin/archil"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-launch/bin/archil-launch`), "/usr/local/bin/archil-launch"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-mount-([A-Za-z0-9_-]+)-token`), "/usr/local/share/archil/$1.token"},
	{regexp.MustCompile(`/nix/store/[0-9a-z]{32}-archil-mount-([A-Za-z0-9_-]+)\.json`), "/etc/archil/mounts.d/$1.json"},
	{regexp.MustCompile(`(?m)^Environment="PATH=[^"]*"$`), `Environment="PATH=` + goldenPATH + `"`},
}

func toFHS(t *testing.T, what, s string) string {
	t.Helper()
	for _, r := range storeReplacements {
		s = r.re.ReplaceAllString(s, r.repl)
	}
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

// checkGoldenSet renders the eval.nix attribute attr and compares its units
// and JSON configs (n of each) with the files in dir, or rewrites them with
// UPDATE_GOLDEN=1.
func checkGoldenSet(t *testing.T, attr, dir string, n int) rendered {
	t.Helper()
	var r rendered
	mustEval(t, &r, "tests/eval/eval.nix", "-A", attr)

	want := map[string]string{}
	for unit, text := range r.Rendered.Units {
		want[unit+".service"] = toFHS(t, unit, text)
	}
	for path, text := range r.Rendered.Etc {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "archil/mounts.d/"), ".json")
		want["archil-mount-"+name+".json"] = toFHS(t, path, text)
	}
	if len(want) != 2*n {
		t.Errorf("%s renders %d files, want %d units and %d JSON files", attr, len(want), n, n)
	}

	// What every unit must hold, whatever the golden files say.
	for file, text := range want {
		if strings.Contains(text, "fixture-token-not-a-secret") {
			t.Errorf("%s contains the authToken value", file)
		}
		if !strings.HasSuffix(file, ".service") {
			var cfg map[string]any
			if err := json.Unmarshal([]byte(text), &cfg); err != nil {
				t.Errorf("%s: %v", file, err)
			}
			for k, val := range cfg {
				if val == nil {
					t.Errorf("%s: %s is null", file, k)
				}
			}
			continue
		}
		for _, line := range []string{"Type=notify", "NotifyAccess=main", "KillMode=process", "Restart=on-failure", "StartLimitIntervalSec=0", "DeviceAllow=/dev/fuse rw"} {
			if !slices.Contains(strings.Split(text, "\n"), line) {
				t.Errorf("%s: no line %q", file, line)
			}
		}
		for _, forbidden := range []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts", "ProtectKernel", "ProtectControlGroups", "ProtectProc", "ProcSubset", "PrivateIPC", "PrivatePIDs", "PrivateNetwork", "DynamicUser", "Paths=", "TemporaryFileSystem", "RootDirectory", "RootImage", "MountFlags", "LogNamespace", "PrivateUsers"} {
			if strings.Contains(text, forbidden) {
				t.Errorf("%s: %s would give the unit a mount namespace and hide the mount", file, forbidden)
			}
		}
	}

	existing, _ := filepath.Glob(filepath.Join(dir, "archil-mount-*"))
	if update {
		for _, f := range existing {
			if _, keep := want[filepath.Base(f)]; !keep {
				os.Remove(f)
			}
		}
		for file, text := range want {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	for _, f := range existing {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is no longer rendered (UPDATE_GOLDEN=1 removes it)", f)
		}
	}
	for file, text := range want {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("%v (UPDATE_GOLDEN=1 go test ./nixos/ writes it)", err)
			continue
		}
		if string(got) != text {
			t.Errorf("%s differs from the module's output (UPDATE_GOLDEN=1 go test ./nixos/ rewrites it):\n%s",
				file, lineDiff(string(got), text))
		}
	}
	return r
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

// ---------------------------------------------------------------------------
// docs/options.md, generated from the option declarations.

type literal struct {
	Type string `json:"_type"`
	Text string `json:"text"`
}

type optionDoc struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Default     *literal `json:"default"`
	Example     *literal `json:"example"`
}

func renderLiteral(label string, l *literal) string {
	if l == nil {
		return ""
	}
	text := strings.TrimRight(l.Text, "\n")
	if l.Type == "literalMD" {
		return fmt.Sprintf("*%s:* %s\n\n", label, text)
	}
	if strings.Contains(text, "\n") {
		return fmt.Sprintf("*%s:*\n\n```nix\n%s\n```\n\n", label, text)
	}
	return fmt.Sprintf("*%s:* `%s`\n\n", label, text)
}

func renderOptionsDoc(opts []optionDoc) string {
	var b strings.Builder
	b.WriteString("# NixOS options of archil-launch\n\n")
	b.WriteString("<!-- Generated from nixos/module.nix by `UPDATE_GOLDEN=1 go test ./nixos/`; do not edit. -->\n\n")
	for _, o := range opts {
		fmt.Fprintf(&b, "## `%s`\n\n", o.Name)
		// {option}`x` is the NixOS manual's role syntax; plain code here.
		desc := strings.ReplaceAll(strings.TrimSpace(o.Description), "{option}`", "`")
		fmt.Fprintf(&b, "%s\n\n", desc)
		fmt.Fprintf(&b, "*Type:* %s\n\n", o.Type)
		b.WriteString(renderLiteral("Default", o.Default))
		b.WriteString(renderLiteral("Example", o.Example))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func TestOptionsDoc(t *testing.T) {
	var opts []optionDoc
	mustEval(t, &opts, "options-doc.nix")
	if len(opts) < 25 {
		t.Fatalf("only %d options documented", len(opts))
	}
	for _, o := range opts {
		if strings.Contains(o.Name, "mounts.<name>.") && (o.Example == nil || strings.TrimSpace(o.Description) == "") {
			t.Errorf("%s: every mount option needs a description and an example", o.Name)
		}
	}
	doc := renderOptionsDoc(opts)
	path := filepath.Join(repoRoot(t), "docs", "options.md")
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != doc {
		t.Errorf("docs/options.md is not up to date with nixos/module.nix (UPDATE_GOLDEN=1 go test ./nixos/ rewrites it): %v", err)
	}
}

// ---------------------------------------------------------------------------
// vendorHash in nixos/package.nix (used by flake.nix and the module) matches
// go.mod/go.sum: the hash of `go mod vendor`'s output, as buildGoModule
// computes it.

var vendorHashRe = regexp.MustCompile(`vendorHash = (null|"(sha256-[A-Za-z0-9+/=]+)");`)

func TestVendorHash(t *testing.T) {
	nixHash := needTool(t, "nix-hash")
	root := repoRoot(t)
	pkg, err := os.ReadFile("package.nix")
	if err != nil {
		t.Fatal(err)
	}
	m := vendorHashRe.FindSubmatch(pkg)
	if m == nil {
		t.Fatal("package.nix: no vendorHash = \"sha256-...\"; line")
	}
	have := string(m[1])

	vendor := filepath.Join(t.TempDir(), "vendor")
	cmd := exec.Command("go", "mod", "vendor", "-o", vendor)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	want := "null"
	if _, err := os.Stat(vendor); err == nil {
		out, err := exec.Command(nixHash, "--type", "sha256", vendor).Output()
		if err != nil {
			t.Fatalf("nix-hash: %v", err)
		}
		sum, err := hex.DecodeString(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("nix-hash output %q: %v", out, err)
		}
		want = `"sha256-` + base64.StdEncoding.EncodeToString(sum) + `"`
	}
	if have != want {
		t.Errorf("nixos/package.nix has vendorHash = %s; go.mod/go.sum need vendorHash = %s;", have, want)
	}
}

// ---------------------------------------------------------------------------
// nixos/package.nix, evaluated with a stand-in buildGoModule (no Nixpkgs
// here): both programs, with the meta the module relies on (lib.getExe).

func TestPackageEval(t *testing.T) {
	var got map[string]struct {
		Pname       string   `json:"pname"`
		SubPackages []string `json:"subPackages"`
		MainProgram string   `json:"mainProgram"`
	}
	mustEval(t, &got, "tests/eval/package.nix")
	for _, prog := range []string{"archil-launch", "archil-fake"} {
		p := got[prog]
		if p.Pname != prog || p.MainProgram != prog || !slices.Equal(p.SubPackages, []string{"cmd/" + prog}) {
			t.Errorf("package.nix with program = %q: %+v", prog, p)
		}
		if _, err := os.Stat(filepath.Join(repoRoot(t), "cmd", prog)); err != nil {
			t.Errorf("package.nix builds cmd/%s: %v", prog, err)
		}
	}
}

// ---------------------------------------------------------------------------
// The VM test (tests/vm.nix) cannot run here; its node must at least
// evaluate with the module and pass every assertion.

func TestVMTestEvaluates(t *testing.T) {
	var got struct {
		Name       string   `json:"name"`
		TestScript string   `json:"testScript"`
		Node       rendered `json:"node"`
	}
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "vm")
	for _, unit := range []string{"archil-mount-data", "archil-mount-models"} {
		if _, ok := got.Node.Rendered.Units[unit]; !ok {
			t.Errorf("VM node has no %s unit", unit)
		}
	}
	for _, want := range []string{"archil-launch --check", "machine.shutdown()", "fuse.archil"} {
		if !strings.Contains(got.TestScript, want) {
			t.Errorf("VM test script does not contain %q", want)
		}
	}
}

// ---------------------------------------------------------------------------
// unit-name.nix names a mount point's .mount unit as systemd does.

func TestMountUnitName(t *testing.T) {
	escape := needTool(t, "systemd-escape")
	paths := []string{
		"/mnt/data", "/mnt/archil/data", "/srv/a:b_c.d", "/var/lib/x-y",
		"/mnt/my disk", "/mnt/what?", "/mnt/a\\b", "/mnt/%i", "/mnt/@home",
		"/.hidden", "/mnt/.hidden", "/mnt/données", "/mnt/日本語", "/mnt/😀",
		"/mnt/a\u00a0b", "/mnt/" + strings.Repeat("x", 240), "/mnt/" + strings.Repeat("é", 100),
	}
	for _, v := range loadVectors(t) {
		if mp, ok := v.mount["mountPoint"].(string); ok && v.ok {
			paths = append(paths, mp)
		}
	}
	var got []*string
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "mountUnits", "--arg", "casesFile", writeJSON(t, paths))
	hashed := 0
	for i, p := range paths {
		out, err := exec.Command(escape, "--path", "--suffix=mount", p).Output()
		if err != nil {
			t.Fatalf("systemd-escape %q: %v", p, err)
		}
		want := strings.TrimSuffix(string(out), "\n")
		switch {
		case len(want) > 255: // systemd hashes such a name; the module leaves it out
			hashed++
			if got[i] != nil {
				t.Errorf("%q: want no name (systemd hashes %d bytes), got %q", p, len(want), *got[i])
			}
		case got[i] == nil || *got[i] != want:
			t.Errorf("%q: module names %v, systemd-escape %q", p, got[i], want)
		}
	}
	if hashed == 0 {
		t.Error("no path long enough to test the hashed-name case")
	}
	t.Logf("%d mount unit names agree with systemd-escape (%d too long, left out)", len(paths), hashed)
}

// ---------------------------------------------------------------------------
// authToken is checked at evaluation with the launcher's token rules: the
// broker's token vectors (broker/testdata/token) through validate.token.

func TestTokenVectors(t *testing.T) {
	all, err := filepath.Glob(filepath.Join(repoRoot(t), "broker", "testdata", "token", "*.token"))
	if err != nil || len(all) == 0 {
		t.Fatalf("no token vectors: %v", err)
	}
	// What a Nix string cannot be given (the module reads authToken from
	// Nix source): a NUL byte, bytes that are not UTF-8.
	outOfScope := map[string]bool{"bad_nul": true, "bad_latin1_nbsp": true, "bad_latin1_nel": true}
	var files []string
	for _, f := range all {
		if !outOfScope[strings.TrimSuffix(filepath.Base(f), ".token")] {
			files = append(files, f)
		}
	}
	var got []*string
	mustEval(t, &got, "tests/eval/eval.nix", "-A", "tokens", "--arg", "casesFile", writeJSON(t, files))
	for i, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".token")
		wantOK := strings.HasPrefix(testkit.ReadExpect(t, strings.TrimSuffix(f, ".token")+".expect"), "ok")
		if gotOK := got[i] == nil; gotOK != wantOK {
			problem := "accepted"
			if got[i] != nil {
				problem = *got[i]
			}
			t.Errorf("%s: launcher ok=%v, module: %s", id, wantOK, problem)
		}
	}
	t.Logf("%d token vectors checked, %d out of scope", len(files), len(all)-len(files))
}
