package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Vectors runs one subtest per test vector, each file dir/*ext, with the
// outcome its .expect file gives. It fails when fewer than min vectors are
// found, and when a case's name disagrees with its outcome: good_* cases
// expect "ok...", every other case an error.
func Vectors(t *testing.T, dir, ext string, min int, run func(t *testing.T, path, want string)) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(paths) < min {
		t.Fatalf("expected at least %d vectors %s/*%s, found %d (%v)", min, dir, ext, len(paths), err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ext)
		t.Run(name, func(t *testing.T) {
			want := ReadExpect(t, strings.TrimSuffix(p, ext)+".expect")
			if strings.HasPrefix(name, "good_") != strings.HasPrefix(want, "ok") {
				t.Fatalf("case name %q disagrees with its expectation %q", name, want)
			}
			run(t, p, want)
		})
	}
}

// ReadExpect reads a test vector's expected outcome: a file holding one
// line "expect: <outcome>". It returns <outcome> ("ok", "error <text>",
// or what the vector kind defines).
func ReadExpect(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("every vector needs its .expect file: %v", err)
	}
	line := strings.TrimSuffix(string(b), "\n")
	outcome, ok := strings.CutPrefix(line, "expect: ")
	if !ok || outcome == "" || strings.Contains(line, "\n") {
		t.Fatalf("%s: want one line 'expect: <outcome>', got %q", path, line)
	}
	return outcome
}
