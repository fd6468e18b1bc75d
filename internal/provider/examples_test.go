package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/capiscio/terraform-provider-capiscio/internal/registryserver/registrytest"
)

var (
	// sourceRe finds the provider source addresses a configuration requires.
	sourceRe = regexp.MustCompile(`source\s*=\s*"([^"]+)"`)
	// pemFileRe finds the key files an example reads, such as the public key
	// that the key custody guide makes with openssl.
	pemFileRe = regexp.MustCompile(`file\("\$\{path\.module\}/([^"/]+\.pem)"\)`)
)

// TestExamples_Validate runs terraform validate, with the real provider
// binary, on every example directory under examples/ that is a whole
// configuration needing no other provider than this one (the docs' snippets
// and the AWS, Google and Kubernetes guides, which need providers that cannot
// be installed offline, are left out). tfplugindocs only copies examples into
// the docs; this checks that what users copy matches the schema.
func TestExamples_Validate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	t.Parallel()
	dirs := selfContainedExamples(t, "../../examples")
	for _, want := range []string{"quickstart", "guides/large-fleets", "guides/rotation", "guides/key-custody/generate"} {
		if !contains(dirs, want) {
			t.Fatalf("example %s was not found among %v: the walk is broken", want, dirs)
		}
	}
	tf := newCLIRun(t, registrytest.Start(t))
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			work := t.TempDir()
			text := copyTF(t, filepath.Join("../../examples", dir), work)
			if actionBlockRe.MatchString(text) {
				if ok, why := actionsCLI(t); !ok {
					t.Skip(why)
				}
			}
			for _, m := range pemFileRe.FindAllStringSubmatch(text, -1) {
				writeFile(t, filepath.Join(work, m[1]), newTestKey(t).PEM) // the Ed25519 public key a user would make
			}
			cmd := exec.Command(cliPath(), "validate", "-no-color")
			cmd.Dir, cmd.Env = work, tf.env
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "The configuration is valid") {
				t.Errorf("terraform validate examples/%s: %v\n%s", dir, err, out)
			}
		})
	}
}

// selfContainedExamples lists the directories (relative to root) whose .tf
// files declare required_providers and require capiscio/capiscio alone.
func selfContainedExamples(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".tf" || seen[filepath.Dir(path)] {
			return err
		}
		dir := filepath.Dir(path)
		seen[dir] = true
		var text strings.Builder
		files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			text.Write(b)
		}
		if !strings.Contains(text.String(), "required_providers") {
			return nil
		}
		for _, m := range sourceRe.FindAllStringSubmatch(text.String(), -1) {
			if m[1] != "capiscio/capiscio" {
				return nil
			}
		}
		rel, _ := filepath.Rel(root, dir)
		dirs = append(dirs, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	return dirs
}

// copyTF copies the .tf files of from into to and returns their text.
func copyTF(t *testing.T, from, to string) string {
	t.Helper()
	var all strings.Builder
	files, _ := filepath.Glob(filepath.Join(from, "*.tf"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, filepath.Base(f)), string(b))
		all.Write(b)
	}
	return all.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
