package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// The parser takes values the getopt way: the launcher's argv order is
// only proved safe against a client that does.
func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  gen
		args []string
		pos  []string
		vals map[string]string
		sets []string
		err  string
	}{
		{name: "value flag takes a flag as its value", gen: gen08,
			args: []string{"d", "m", "--region", "--no-fork"},
			pos:  []string{"d", "m"}, vals: map[string]string{"region": "--no-fork"}},
		{name: "launcher order", gen: gen08,
			args: []string{"d", "m", "--no-fork", "--region", "r", "--shared", "--read-only", "--enable-xattrs",
				"--writeback-cache", "--max-cache-mb", "10", "--target-cache-mb", "5", "--log-metrics"},
			pos:  []string{"d", "m"},
			vals: map[string]string{"region": "r", "max-cache-mb": "10", "target-cache-mb": "5"},
			sets: []string{"enable-xattrs", "log-metrics", "no-fork", "read-only", "shared", "writeback-cache"}},
		{name: "flags before and between positionals", gen: gen08,
			args: []string{"--no-fork", "d", "--region=r", "m"},
			pos:  []string{"d", "m"}, vals: map[string]string{"region": "r"}, sets: []string{"no-fork"}},
		{name: "inline value may hold '='", gen: gen08,
			args: []string{"--region=a=b"}, vals: map[string]string{"region": "a=b"}},
		{name: "empty inline value", gen: gen08,
			args: []string{"--region="}, vals: map[string]string{"region": ""}},
		{name: "last value wins", gen: gen08,
			args: []string{"--region", "a", "--region", "b"}, vals: map[string]string{"region": "b"}},
		{name: "short switch", gen: gen08,
			args: []string{"-f", "d"}, pos: []string{"d"}, sets: []string{"force"}},
		{name: "after -- all positional", gen: gen08,
			args: []string{"--", "--no-fork", "-f"}, pos: []string{"--no-fork", "-f"}},
		{name: "lone dash is positional", gen: gen08,
			args: []string{"-"}, pos: []string{"-"}},
		{name: "old client knows --disable-xattrs", gen: genOld,
			args: []string{"--disable-xattrs"}, sets: []string{"disable-xattrs"}},
		{name: "missing value", gen: gen08, args: []string{"d", "--region"},
			err: "a value is required for '--region <REGION>' but none was supplied"},
		{name: "number", gen: gen08, args: []string{"--max-cache-mb", "-1"},
			err: "invalid value '-1' for '--max-cache-mb <N>'"},
		{name: "number swallowing a flag", gen: gen08, args: []string{"--max-cache-mb", "--no-fork"},
			err: "invalid value '--no-fork' for '--max-cache-mb <N>'"},
		{name: "switch with a value", gen: gen08, args: []string{"--no-fork=1"},
			err: "unexpected value '1' for '--no-fork' found"},
		{name: "unknown", gen: gen08, args: []string{"--bogus"}, err: "unexpected argument '--bogus' found"},
		{name: "unknown short", gen: gen08, args: []string{"-x"}, err: "unexpected argument '-x' found"},
		{name: "0.8 has no --disable-xattrs", gen: gen08, args: []string{"--disable-xattrs"},
			err: "unexpected argument '--disable-xattrs' found"},
		{name: "old client has no --read-only", gen: genOld, args: []string{"--read-only"},
			err: "unexpected argument '--read-only' found"},
		{name: "old client has no --enable-xattrs", gen: genOld, args: []string{"--enable-xattrs"},
			err: "unexpected argument '--enable-xattrs' found"},
		{name: "old client has no --writeback-cache", gen: genOld, args: []string{"--writeback-cache=1"},
			err: "unexpected argument '--writeback-cache=1' found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseArgs(mountFlags, tc.gen, tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.pos, tc.pos) {
				t.Errorf("positional %q, want %q", p.pos, tc.pos)
			}
			if !maps.Equal(p.vals, tc.vals) {
				t.Errorf("values %q, want %q", p.vals, tc.vals)
			}
			if sets := slices.Sorted(maps.Keys(p.sets)); !slices.Equal(sets, tc.sets) {
				t.Errorf("switches %q, want %q", sets, tc.sets)
			}
		})
	}
}

// Global flags stop at the subcommand; -v counts.
func TestParseGlobal(t *testing.T) {
	p, err := parseGlobal(globalFlags, gen08, []string{"-vv", "--log-level", "warn", "mount", "--shared", "-q"})
	if err != nil {
		t.Fatal(err)
	}
	if p.sets["verbose"] != 2 || p.vals["log-level"] != "warn" || !slices.Equal(p.pos, []string{"mount", "--shared", "-q"}) {
		t.Errorf("parsed %+v", p)
	}
	if _, err := parseGlobal(globalFlags, genOld, []string{"-q", "mount"}); err == nil || !strings.Contains(err.Error(), "unexpected argument '-q' found") {
		t.Errorf("old client with -q: %v", err)
	}
}
