package action

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMigratingCoversOfficialActions reads the input and output names of
// amazon-ecs-deploy-task-definition and amazon-ecs-render-task-definition
// from testdata (copied from their action.yml) and checks that
// docs/migrating.md has a row naming each in its first column, and that
// no row says "not supported" (CodeDeploy's inputs too are ours now).
func TestMigratingCoversOfficialActions(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/official-actions/inputs-outputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Actions []struct {
			Action, Version string
			Inputs, Outputs []string
		}
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	// The sections, each with its tables: "## <action> (<version>)".
	sections := map[string]string{}
	var current string
	name := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "## ") {
			current = strings.TrimPrefix(line, "## ")
			continue
		}
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 3 {
			t.Errorf("row with fewer than three columns: %s", line)
			continue
		}
		if strings.Contains(strings.ToLower(line), "not supported") {
			t.Errorf("a row says not supported: %s", line)
		}
		for _, m := range name.FindAllStringSubmatch(cells[0], -1) {
			sections[current] += "\x00" + strings.TrimSuffix(strings.Fields(m[1])[0], ":") + "\x00"
		}
	}
	for _, a := range fixture.Actions {
		title := a.Action + " (" + a.Version + ")"
		rows, ok := sections[title]
		if !ok {
			t.Errorf("docs/migrating.md has no section %q", "## "+title)
			continue
		}
		for _, n := range append(append([]string{}, a.Inputs...), a.Outputs...) {
			if !strings.Contains(rows, "\x00"+n+"\x00") {
				t.Errorf("%s: %s has no row in docs/migrating.md", title, n)
			}
		}
		if len(a.Inputs) < 10 || len(a.Outputs) == 0 {
			t.Errorf("%s: the fixture lists %d inputs and %d outputs; it is incomplete", title, len(a.Inputs), len(a.Outputs))
		}
	}
}

// TestMigratingNamesOurInputs: every input the tables say we take is one
// of ours (action.yml), so a renamed input cannot leave a stale row.
func TestMigratingNamesOurInputs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, s := range inputSpecs() {
		ours[s.Name] = true
	}
	for _, o := range outputNames() {
		ours[o] = true
	}
	name := regexp.MustCompile("`([a-z][a-z0-9-]+)`")
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| ") || len(cells) < 3 || strings.HasPrefix(line, "|---") || strings.Contains(cells[1], "ecs-rollout") {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			if !ours[m[1]] {
				t.Errorf("docs/migrating.md maps to %q, which is not an input or output of ours: %s", m[1], line)
			}
		}
	}
}
