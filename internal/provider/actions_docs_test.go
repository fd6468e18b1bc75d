package provider

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
)

// The action pages are static templates (templates/actions/*.md.tmpl) rather
// than pages tfplugindocs generates from the schema: `make generate` takes
// the schema from the terraform on PATH, and Terraform before 1.14 (1.11 in
// CI) exports no action schemas, so generated action pages would vanish
// whenever CI regenerates the docs. A template that uses no schema data
// renders the same under every CLI. This test keeps its Schema section equal
// to the action's schema, in the form tfplugindocs would write it.

var updateActionDocs = flag.Bool("update-action-docs", false,
	"rewrite the Schema section of templates/actions/*.md.tmpl from the action schemas")

// actionSchemaMarker starts the part of an action template this test writes.
const actionSchemaMarker = "<!-- schema: written from the action's schema by go test ./internal/provider -run TestActionDocs_Schema -update-action-docs -->"

// TestActionDocs_Schema checks, for every action the provider registers, that
// its template ends with its Schema section and that docs/ has the page
// rendered from it. With -update-action-docs it rewrites the section.
func TestActionDocs_Schema(t *testing.T) {
	ctx := context.Background()
	actions := (&capiscioProvider{}).Actions(ctx)
	pages, _ := filepath.Glob("../../templates/actions/*.md.tmpl")
	if len(pages) != len(actions) {
		t.Errorf("templates/actions has %d pages for %d actions", len(pages), len(actions))
	}
	for _, newAction := range actions {
		a := newAction()
		var meta action.MetadataResponse
		a.Metadata(ctx, action.MetadataRequest{ProviderTypeName: providerTypeName}, &meta)
		var s action.SchemaResponse
		a.Schema(ctx, action.SchemaRequest{}, &s)
		short := strings.TrimPrefix(meta.TypeName, providerTypeName+"_")
		tmplPath := filepath.Join("../../templates/actions", short+".md.tmpl")
		raw, err := os.ReadFile(tmplPath)
		if err != nil {
			t.Errorf("%s has no page: %v", meta.TypeName, err)
			continue
		}
		text := string(raw)
		i := strings.Index(text, actionSchemaMarker)
		if i < 0 {
			t.Errorf("%s has no line %q", tmplPath, actionSchemaMarker)
			continue
		}
		section := actionSchemaMarker + "\n" + actionSchemaMarkdown(s.Schema)
		if want := text[:i] + section; want != text {
			if *updateActionDocs {
				if err := os.WriteFile(tmplPath, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("the Schema section of %s differs from the schema of %s: run\n"+
				"  go test ./internal/provider -run TestActionDocs_Schema -update-action-docs\nthen make generate", tmplPath, meta.TypeName)
			continue
		}
		page, err := os.ReadFile(filepath.Join("../../docs/actions", short+".md"))
		if err != nil || !strings.HasSuffix(string(page), section) {
			t.Errorf("docs/actions/%s.md is missing or out of date: run make generate (%v)", short, err)
		}
	}
}

// actionSchemaMarkdown writes an action schema of string attributes as
// tfplugindocs v0.25.0 does (internal/schemamd): Required, then Optional,
// each sorted by name, "- `name` (String) description".
func actionSchemaMarkdown(s schema.Schema) string {
	var required, optional []string
	for name, attr := range s.Attributes {
		if attr.IsRequired() {
			required = append(required, name)
		} else {
			optional = append(optional, name)
		}
	}
	var b strings.Builder
	b.WriteString("## Schema\n")
	for _, group := range []struct {
		title string
		names []string
	}{{"Required", required}, {"Optional", optional}} {
		if len(group.names) == 0 {
			continue
		}
		sort.Strings(group.names)
		b.WriteString("\n### " + group.title + "\n\n")
		for _, name := range group.names {
			attr := s.Attributes[name]
			b.WriteString("- `" + name + "` (" + typeLabel(attr) + ") " + strings.TrimSpace(attr.GetMarkdownDescription()) + "\n")
		}
	}
	return b.String()
}

func typeLabel(attr schema.Attribute) string {
	if _, ok := attr.(schema.StringAttribute); ok {
		return "String"
	}
	panic("actionSchemaMarkdown: only string attributes are written; extend it for " + attr.GetType().String())
}
