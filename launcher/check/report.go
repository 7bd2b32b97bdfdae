package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one JSON object.
func (r *CheckReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as a table for people: one row per finding,
// then a summary line.
func (r *CheckReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MOUNT\tCHECK\tRESULT\tSTATE\tDETAIL")
	row := func(mount string, it CheckItem) {
		result := "ok"
		switch {
		case !it.OK:
			result = "FAIL"
		case len(it.Warnings) > 0:
			result = "warn"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mount, it.Check, result, it.State, tableCell(it.Detail))
		for _, warn := range it.Warnings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mount, it.Check, "warn", "", tableCell(warn))
		}
	}
	for _, it := range r.Host {
		row("(host)", it)
	}
	for _, m := range r.Mounts {
		name := m.Name
		if name == "" {
			name = m.Config
		}
		for _, it := range m.Checks {
			row(name, it)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bad := 0
	for _, m := range r.Mounts {
		if !m.OK {
			bad++
		}
	}
	verdict := "all good"
	if !r.OK {
		verdict = "problems found"
	}
	_, err := fmt.Fprintf(w, "%d mount(s), %d with problems: %s\n", len(r.Mounts), bad, verdict)
	return err
}

// tableCell keeps a table row on one line whatever a detail holds.
func tableCell(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}
