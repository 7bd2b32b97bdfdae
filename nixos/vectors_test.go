package nixos_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

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
	"enableXattrs":    "enableXattrs",
	"writebackCache":  "writebackCache",
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
