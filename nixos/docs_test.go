package nixos_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
