package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The 0.8 subcommands that report: version, and status and metrics, which
// ask the running client of a mount point over its control socket.

var (
	versionFlags = []flagSpec{{long: "json", gens: gen08}}
	statusFlags  = versionFlags
	metricsFlags = []flagSpec{{long: "json", gens: gen08}, {long: "reset", gens: gen08}}
)

// versionInfo is what `archil version` reports.
type versionInfo struct {
	Client        string `json:"client"`
	Protocol      string `json:"protocol"`
	LatestRelease string `json:"latest_release"`
}

// report is what a reporting subcommand found: printed as JSON with
// --json, else as its own text.
type report interface{ print(w io.Writer) }

// reporting makes a reporting subcommand: the probe knobs, its flags,
// then get.
func reporting(name string, flags []flagSpec, get func(st *state, p *parsed) (report, error)) func(*state, gen, []string) error {
	return func(st *state, g gen, args []string) error {
		if err := st.probeFaults(name); err != nil {
			return err
		}
		p, err := parseArgs(flags, g, args)
		if err != nil {
			return err
		}
		r, err := get(st, p)
		if err != nil {
			return err
		}
		if p.on("json") {
			return printJSON(r)
		}
		r.print(os.Stdout)
		return nil
	}
}

var (
	runVersion = reporting("version", versionFlags, func(_ *state, p *parsed) (report, error) {
		if err := p.positional(); err != nil {
			return nil, err
		}
		return versionInfo{Client: "v" + version08, Protocol: protocol08, LatestRelease: release08}, nil
	})
	runStatus = reporting("status", statusFlags, func(st *state, p *parsed) (report, error) {
		var s statusInfo
		return &s, ask(st, p, "status", &s)
	})
	runMetrics = reporting("metrics", metricsFlags, func(st *state, p *parsed) (report, error) {
		req := "metrics"
		if p.on("reset") {
			req = "metrics reset"
		}
		var m metricsSnapshot
		return &m, ask(st, p, req, &m)
	})
)

func (v versionInfo) print(w io.Writer) {
	fmt.Fprintf(w, "Archil Client: %s (archil-fake test double)\nProtocol: %s\nLatest Release: %s\n", v.Client, v.Protocol, v.LatestRelease)
}

// ask sends req to the server of the mount point p names and decodes its
// answer into v.
func ask(st *state, p *parsed, req string, v any) error {
	if err := p.positional("<MOUNTPOINT>"); err != nil {
		return err
	}
	mp, err := filepath.Abs(p.pos[0])
	if err != nil {
		return fmt.Errorf("mount point %q: %w", p.pos[0], err)
	}
	conn, err := st.dialCtl(mp)
	if err != nil {
		return noServer(mp, err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req+"\n"); err != nil {
		return fmt.Errorf("failed to talk to the client of %s: %w", mp, err)
	}
	answer, err := readLine(bufio.NewReader(conn))
	if err != nil {
		return fmt.Errorf("the client of %s went away without answering: %w", mp, err)
	}
	if msg, ok := strings.CutPrefix(answer, "error "); ok {
		return fmt.Errorf("%s %s: %s", req, mp, msg)
	}
	body, ok := strings.CutPrefix(answer, "ok ")
	if !ok {
		return fmt.Errorf("%s %s: unexpected answer %q", req, mp, answer)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", req, mp, err)
	}
	return nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("failed to write JSON: %w", err)
	}
	return nil
}
