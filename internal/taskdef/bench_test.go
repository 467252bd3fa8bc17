package taskdef

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
)

// biggestTaskDefinition is every-field.json as DescribeTaskDefinition
// returns it: the read-only members set again on top of the parsed file.
func biggestTaskDefinition(b *testing.B) (*types.TaskDefinition, []types.Tag) {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(taskdefsDir, "every-field.json"))
	if err != nil {
		b.Fatal(err)
	}
	td, tags, err := describeOutput(data)
	if err != nil {
		b.Fatal(err)
	}
	return td, tags
}

func BenchmarkRegisterInput(b *testing.B) {
	td, tags := biggestTaskDefinition(b)
	b.ReportAllocs()
	for b.Loop() {
		if in := RegisterInput(td, tags); len(in.ContainerDefinitions) == 0 {
			b.Fatal("no containers")
		}
	}
}

func BenchmarkParseFile(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(taskdefsDir, "every-field.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanDiff(b *testing.B) {
	td, tags := biggestTaskDefinition(b)
	old := RegisterInput(td, tags)
	new := Clone(old)
	if _, err := SetImages(new, []Change{{Container: "app", Image: "web:2"}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(PlanDiff(old, new)) != 1 {
			b.Fatal("want one line")
		}
	}
}

// describeOutput decodes a testdata file the way the ECS client decodes a
// DescribeTaskDefinition response, read-only members included. Timestamps
// printed by the AWS CLI as strings are not the wire format and are left
// out.
func describeOutput(data []byte) (*types.TaskDefinition, []types.Tag, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	td, _ := m["taskDefinition"].(map[string]any)
	for _, k := range []string{"registeredAt", "deregisteredAt", "deleteRequestedAt"} {
		if _, isString := td[k].(string); isString {
			delete(td, k)
		}
	}
	return decodeSDK(td, m["tags"])
}

// TestDescribePathMatchesFilePath: RegisterInput on what DescribeTaskDefinition
// returns gives the same input as ParseFile on the same JSON, and the
// read-only members really were there to drop.
func TestDescribePathMatchesFilePath(t *testing.T) {
	t.Parallel()
	eachTaskdefFile(t, func(t *testing.T, _ string, data []byte) {
		td, tags, err := describeOutput(data)
		if err != nil {
			t.Fatalf("decode as DescribeTaskDefinition output: %v", err)
		}
		if td.TaskDefinitionArn == nil || td.Revision == 0 || td.Status == "" {
			t.Fatalf("testdata lacks read-only members: arn %v, revision %d, status %q", td.TaskDefinitionArn, td.Revision, td.Status)
		}
		want, err := ParseFile(data)
		if err != nil {
			t.Fatal(err)
		}
		// The file's empty values are removed (as the official action
		// removes them: lists, a volume's "host": {}); a describe output
		// keeps them.
		described := RegisterInput(td, tags)
		for i, v := range described.Volumes {
			if v.Host != nil && v.Host.SourcePath == nil {
				described.Volumes[i].Host = nil
			}
		}
		if diff := cmp.Diff(want, described, sdkOpts, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("RegisterInput(describe) differs from ParseFile (-file +describe):\n%s", diff)
		}
	})
}

// BenchmarkParseFileYAML is BenchmarkParseFile with every-field.json
// written as YAML.
func BenchmarkParseFileYAML(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(taskdefsDir, "every-field.json"))
	if err != nil {
		b.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		b.Fatal(err)
	}
	y, err := yaml.Marshal(tree)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(y)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegisters is the check a retried RegisterTaskDefinition makes
// (register.go): the largest task definition against itself described.
func BenchmarkRegisters(b *testing.B) {
	td, tags := biggestTaskDefinition(b)
	sent := RegisterInput(td, tags)
	b.ReportAllocs()
	for b.Loop() {
		if !Registers(sent, td, tags) {
			b.Fatal("not the same revision")
		}
	}
}
