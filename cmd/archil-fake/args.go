package main

import (
	"strconv"
	"strings"
)

// The real client parses its command line the getopt/clap way, and the
// launcher's argv order is only safe if the double does too: a flag that
// takes a value takes the next argument whatever it is (`--region
// --no-fork` makes "--no-fork" the region), `--flag=value` works, and flags
// and positional arguments may come in any order after the subcommand.
// Everything after `--` is positional.

// flagSpec is one flag a subcommand knows.
type flagSpec struct {
	long  string // without the leading "--"
	short byte   // 0: no short form
	value string // the value's name in messages ("N", "REGION"); "" for a switch
	num   bool   // the value is an unsigned integer
	gens  gen    // the clients that know the flag
}

// parsed is a command line parsed against a list of flagSpecs.
type parsed struct {
	pos  []string
	vals map[string]string // last value of each value flag given
	sets map[string]int    // how often each switch was given
}

func (p *parsed) on(long string) bool { return p.sets[long] > 0 }

// parseArgs parses args for a client of generation g. Flags g does not
// know are unknown, as they are to a client of that generation.
func parseArgs(specs []flagSpec, g gen, args []string) (*parsed, error) {
	return parse(specs, g, args, false)
}

// parseGlobal parses the global flags up to the subcommand, which is
// p.pos[0] with its own arguments after it.
func parseGlobal(specs []flagSpec, g gen, args []string) (*parsed, error) {
	return parse(specs, g, args, true)
}

func parse(specs []flagSpec, g gen, args []string, stopAtPositional bool) (*parsed, error) {
	p := &parsed{vals: map[string]string{}, sets: map[string]int{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var err error
		switch {
		case arg == "--":
			p.pos = append(p.pos, args[i+1:]...)
			return p, nil
		case strings.HasPrefix(arg, "--"):
			name, v, ok := strings.Cut(arg[2:], "=")
			i, err = p.take(lookupLong(specs, g, name), arg, v, ok, args, i)
		case len(arg) > 1 && arg[0] == '-':
			// A cluster of short switches (-vv), like clap's.
			for j := 1; j < len(arg) && err == nil; j++ {
				i, err = p.take(lookupShort(specs, g, arg[j]), "-"+arg[j:j+1], "", false, args, i)
			}
		case stopAtPositional:
			p.pos = append(p.pos, args[i:]...)
			return p, nil
		default:
			p.pos = append(p.pos, arg)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// take records one flag found at args[i] and returns the index of the
// last argument it used.
func (p *parsed) take(spec *flagSpec, arg, inline string, hasInline bool, args []string, i int) (int, error) {
	if spec == nil {
		return i, unexpectedArg(arg)
	}
	if spec.value == "" {
		if hasInline {
			return i, usageErr("unexpected value '%s' for '--%s' found; no more were expected", inline, spec.long)
		}
		p.sets[spec.long]++
		return i, nil
	}
	v := inline
	if !hasInline {
		if i+1 == len(args) {
			return i, usageErr("a value is required for '--%s <%s>' but none was supplied", spec.long, spec.value)
		}
		i++
		v = args[i] // whatever it is, like getopt_long
	}
	if spec.num {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return i, usageErr("invalid value '%s' for '--%s <%s>': %w", v, spec.long, spec.value, err)
		}
	}
	p.vals[spec.long] = v
	return i, nil
}

func lookupLong(specs []flagSpec, g gen, name string) *flagSpec {
	for i := range specs {
		if specs[i].long == name && specs[i].gens&g != 0 {
			return &specs[i]
		}
	}
	return nil
}

func lookupShort(specs []flagSpec, g gen, c byte) *flagSpec {
	for i := range specs {
		if specs[i].short != 0 && specs[i].short == c && specs[i].gens&g != 0 {
			return &specs[i]
		}
	}
	return nil
}

// unexpectedArg is clap's error for an argument the client does not know.
func unexpectedArg(arg string) error {
	return usageErr("unexpected argument '%s' found", arg)
}

// positional checks the number of positional arguments; names are the
// ones required, in order.
func (p *parsed) positional(names ...string) error {
	if len(p.pos) > len(names) {
		return unexpectedArg(p.pos[len(names)])
	}
	if len(p.pos) < len(names) {
		return usageErr("the following required arguments were not provided:\n  %s", strings.Join(names[len(p.pos):], "\n  "))
	}
	return nil
}
