package action

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// actionFile is the part of action.yml the code must agree with.
type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using          string   `yaml:"using"`
		Image          string   `yaml:"image"`
		Entrypoint     string   `yaml:"entrypoint"`
		PostEntrypoint string   `yaml:"post-entrypoint"`
		Args           []string `yaml:"args"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("parse action.yml: %v", err)
	}
	return a
}

// TestActionInputs checks that action.yml declares exactly the inputs the
// code reads, each with a description, and the same defaults.
func TestActionInputs(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	code := map[string]inputSpec{}
	for _, in := range inputSpecs() {
		if _, dup := code[in.Name]; dup {
			t.Errorf("input %s is listed twice in inputSpecs", in.Name)
		}
		code[in.Name] = in
	}
	var missing, extra []string
	for name := range code {
		if _, ok := a.Inputs[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range a.Inputs {
		if _, ok := code[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("action.yml lacks inputs the code reads: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("action.yml declares inputs the code does not read: %v", extra)
	}
	for name, in := range a.Inputs {
		spec, ok := code[name]
		if !ok {
			continue
		}
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", name)
		}
		if in.Required != spec.Required {
			t.Errorf("input %s: got required %v in action.yml, want %v", name, in.Required, spec.Required)
		}
		got := ""
		if in.Default != nil {
			got = *in.Default
		}
		if got != spec.Default {
			t.Errorf("input %s: got default %q in action.yml, want %q as the code uses", name, got, spec.Default)
		}
		if spec.Required && in.Default != nil {
			t.Errorf("required input %s has a default", name)
		}
	}
}

// TestActionDefaultsParse checks that action.yml's defaults, as the runner
// passes them (every input set to its default), parse to the same Config
// as inputs left out.
func TestActionDefaultsParse(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	defaults := map[string]string{}
	for name, in := range a.Inputs {
		if in.Default != nil && *in.Default != "" {
			defaults[name] = *in.Default
		}
	}
	got, err := parseWeb(defaults)
	if err != nil {
		t.Fatalf("parse action.yml's defaults: %v", err)
	}
	want, err := parseWeb(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Config, got.Config); diff != "" {
		t.Errorf("config from action.yml's defaults differs from the code's defaults (-code +action.yml):\n%s", diff)
	}
}

// TestActionOutputs checks that action.yml declares exactly the outputs
// the code writes, each with a description.
func TestActionOutputs(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	var declared []string
	for name, out := range a.Outputs {
		declared = append(declared, name)
		if strings.TrimSpace(out.Description) == "" {
			t.Errorf("output %s has no description", name)
		}
	}
	want := outputNames()
	if diff := cmp.Diff(feSorted(want), feSorted(declared)); diff != "" {
		t.Errorf("outputs (-code +action.yml):\n%s", diff)
	}
}

func TestActionRuns(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	if a.Name == "" || strings.TrimSpace(a.Description) == "" || a.Branding.Icon == "" || a.Branding.Color == "" {
		t.Errorf("action.yml needs a name, a description and branding; got %q, %q, %+v", a.Name, a.Description, a.Branding)
	}
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Errorf("runs: got using %q image %q, want docker and Dockerfile", a.Runs.Using, a.Runs.Image)
	}
	// The post step runs this binary through the link the image carries,
	// which main recognises by its name.
	if a.Runs.PostEntrypoint != "/ecs-rollout-post" {
		t.Errorf("runs.post-entrypoint: got %q, want /ecs-rollout-post", a.Runs.PostEntrypoint)
	}
	if len(a.Runs.Args) > 0 {
		t.Errorf("runs.args: got %v, want none (the main step reads inputs from INPUT_*; args would reach the post step too)", a.Runs.Args)
	}
}

func feSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestHelpGolden keeps --help, which people read, in a golden file.
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	r := feRunMain(t.Context(), []string{"--help"}, map[string]string{})
	path := filepath.Join("testdata", "help.golden")
	if *update {
		if err := os.WriteFile(path, []byte(r.stdout.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -run TestHelpGolden -update): %v", err)
	}
	if diff := cmp.Diff(string(want), r.stdout.String()); diff != "" {
		t.Errorf("--help differs from %s (-want +got):\n%s", path, diff)
	}
}
