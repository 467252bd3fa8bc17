package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/google/go-cmp/cmp"
)

const taskdefsDir = "../../testdata/taskdefs"

// requestJSON is the body the ECS client sends for in: the wire form of
// RegisterTaskDefinition, produced by the SDK's own serializer.
func requestJSON(t testing.TB, in *ecs.RegisterTaskDefinitionInput) map[string]any {
	t.Helper()
	proto := awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113)
	op := smithy.NewOperationSchema(schemas.RegisterTaskDefinition, schemas.RegisterTaskDefinitionRequest, schemas.RegisterTaskDefinitionResponse)
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if err := proto.SerializeRequest(context.Background(), op, in, req); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	body, err := io.ReadAll(req.GetStream())
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return decodeJSON(t, body)
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	return m
}

// fileWant is the file's task definition as JSON with the read-only
// members and reserved tags taken out by hand: what must reach ECS.
func fileWant(t testing.TB, data []byte) map[string]any {
	t.Helper()
	m := decodeJSON(t, data)
	td := m
	if inner, ok := m["taskDefinition"].(map[string]any); ok {
		td = inner
		if tags, ok := m["tags"]; ok {
			td["tags"] = tags
		}
	}
	for _, k := range []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"} {
		delete(td, k)
	}
	// The official action's cleaning of empty values (see officialClean).
	td = officialClean(td).(map[string]any)
	if proxy, ok := td["proxyConfiguration"].(map[string]any); ok && proxy["type"] == "APPMESH" {
		props, _ := proxy["properties"].([]any)
		for _, p := range props {
			for _, k := range []string{"name", "value"} {
				if _, ok := p.(map[string]any)[k]; !ok {
					p.(map[string]any)[k] = ""
				}
			}
		}
	}
	if cs, ok := td["containerDefinitions"].([]any); ok {
		for _, c := range cs {
			env, _ := c.(map[string]any)["environment"].([]any)
			for _, e := range env {
				if _, ok := e.(map[string]any)["value"]; !ok {
					e.(map[string]any)["value"] = ""
				}
			}
		}
	}
	// The one representation the SDK cannot keep: a container's "cpu": 0
	// (ContainerDefinition.Cpu is a plain int32, and 0 is not sent). ECS
	// treats 0 and absent alike and describes an unset cpu as 0.
	if cs, ok := td["containerDefinitions"].([]any); ok {
		for _, c := range cs {
			if c, ok := c.(map[string]any); ok && c["cpu"] == json.Number("0") {
				delete(c, "cpu")
			}
		}
	}
	if tags, ok := td["tags"].([]any); ok {
		var keep []any
		for _, tag := range tags {
			if k, _ := tag.(map[string]any)["key"].(string); !strings.HasPrefix(strings.ToLower(k), "aws:") {
				keep = append(keep, tag)
			}
		}
		if len(keep) == 0 {
			delete(td, "tags")
		} else {
			td["tags"] = keep
		}
	}
	return td
}

func taskdefFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(taskdefsDir, "*.json"))
	if err != nil || len(files) < 7 {
		t.Fatalf("testdata task definitions: %v, %d files, want at least 7", err, len(files))
	}
	return files
}

// eachTaskdefFile runs test in a parallel subtest, named after the file,
// for each real-world task definition in testdata, with its name and bytes.
func eachTaskdefFile(t *testing.T, test func(t *testing.T, name string, data []byte)) {
	t.Helper()
	for _, file := range taskdefFiles(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			test(t, name, data)
		})
	}
}

// TestRealWorldRoundTrip: each real-world task definition goes through
// ParseFile, and the RegisterTaskDefinition request the SDK would send is
// exactly the file minus the read-only members; then one container's image
// changes and nothing else does.
func TestRealWorldRoundTrip(t *testing.T) {
	t.Parallel()
	eachTaskdefFile(t, func(t *testing.T, _ string, data []byte) {
		in, err := ParseFile(data)
		if err != nil {
			t.Fatalf("ParseFile: %v", err)
		}
		want := fileWant(t, data)
		if diff := cmp.Diff(want, requestJSON(t, in)); diff != "" {
			t.Fatalf("register request differs from the file (-file +request):\n%s", diff)
		}

		// Same through the DescribeTaskDefinition path: RegisterInput
		// of the parsed definition changes nothing.
		again := Clone(in)
		names := ContainerNames(again)
		target := names[len(names)-1]
		const newImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/rolled:out-42"
		diffs, err := SetImages(again, []Change{{Container: target, Image: newImage}})
		if err != nil {
			t.Fatalf("SetImages: %v", err)
		}
		if len(diffs) != 1 || diffs[0].Container != target || diffs[0].New != newImage {
			t.Errorf("SetImages diffs = %+v, want one for %s -> %s", diffs, target, newImage)
		}
		got := requestJSON(t, again)
		containers := want["containerDefinitions"].([]any)
		containers[len(containers)-1].(map[string]any)["image"] = newImage
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after SetImages, more than %s's image changed (-want +got):\n%s", target, diff)
		}
	})
}

// TestEveryFieldFileCoversTheSDK checks that every-field.json sets every
// member the SDK can register (somewhere in it), so the round trip above
// really covers every field. It fails when a new SDK member appears: add
// it to the file.
func TestEveryFieldFileCoversTheSDK(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(taskdefsDir, "every-field.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseFile(data)
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	all := map[string]bool{}
	typePaths("", reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), all, map[reflect.Type]bool{})
	set := map[string]bool{}
	setPaths("", reflect.ValueOf(in).Elem(), set)
	var missing []string
	for p := range all {
		if !set[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("every-field.json does not set %d members:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// typePaths lists the leaf member paths of a type ("ContainerDefinitions.Name").
func typePaths(path string, tp reflect.Type, out map[string]bool, seen map[reflect.Type]bool) {
	for tp.Kind() == reflect.Pointer || tp.Kind() == reflect.Slice {
		tp = tp.Elem()
	}
	if tp.Kind() == reflect.Interface {
		seed := 0
		u, ok := unionSample(tp, &seed)
		if !ok {
			out[path+" (unknown union)"] = true
			return
		}
		typePaths(path, u.Type(), out, seen)
		return
	}
	if tp.Kind() != reflect.Struct || seen[tp] {
		out[path] = true
		return
	}
	seen[tp] = true
	defer delete(seen, tp)
	for i := 0; i < tp.NumField(); i++ {
		if f := tp.Field(i); f.IsExported() {
			typePaths(join(path, f.Name), f.Type, out, seen)
		}
	}
}

// setPaths lists the leaf member paths that are set somewhere in v.
func setPaths(path string, v reflect.Value, out map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			setPaths(path, v.Elem(), out)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			if v.Len() > 0 {
				out[path] = true
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			setPaths(path, v.Index(i), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				setPaths(join(path, f.Name), v.Field(i), out)
			}
		}
	default:
		if !v.IsZero() || path != "" && v.Kind() == reflect.Bool {
			out[path] = true
		}
	}
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	const minimal = `"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx:1.27"}]`
	tests := []struct {
		name         string
		data         string
		want         *ecs.RegisterTaskDefinitionInput
		wantStripped []string
		wantErr      []string
	}{
		{
			name: "minimal register JSON",
			data: `{` + minimal + `}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			},
		},
		{
			name: "empty environment values are kept, a missing value becomes \"\" (as the official action's maintainValidObjects)",
			data: `{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "environment": [
				{"name": "EMPTY", "value": ""}, {"name": "SET", "value": "x"}, {"name": "NOVALUE"}]}]}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx"), Environment: []ecsKV{
					{Name: aws.String("EMPTY"), Value: aws.String("")},
					{Name: aws.String("SET"), Value: aws.String("x")},
					{Name: aws.String("NOVALUE"), Value: aws.String("")},
				}}},
			},
		},
		{
			name: "read-only members stripped and reported, the rest kept",
			data: `{"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "revision": 3,
				"status": "ACTIVE", "requiresAttributes": [{"name": "ecs.capability.task-eni"}], "compatibilities": ["EC2", "FARGATE"],
				"registeredAt": "2024-11-03T09:14:22.503000+00:00", "registeredBy": "arn:aws:iam::123456789012:root",
				"deregisteredAt": 1700000000.5, "deleteRequestedAt": 1700000001,
				"cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], ` + minimal + `}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:                  aws.String("web"),
				ContainerDefinitions:    []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
				Cpu:                     aws.String("256"),
				Memory:                  aws.String("512"),
				NetworkMode:             "awsvpc",
				RequiresCompatibilities: []ecsCompat{"FARGATE"},
			},
			wantStripped: []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"},
		},
		{
			name: "describe output wrapper with tags, reserved tag dropped and reported",
			data: `{"taskDefinition": {` + minimal + `, "revision": 4}, "tags": [{"key": "team", "value": "a"}, {"key": "aws:cloudformation:stack-id", "value": "s"}]}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
				Tags:                 []ecsTag{{Key: aws.String("team"), Value: aws.String("a")}},
			},
			wantStripped: []string{"revision", "tag aws:cloudformation:stack-id"},
		},
		{
			name: "tags in a bare file",
			data: `{` + minimal + `, "tags": [{"key": "team", "value": "b"}]}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
				Tags:                 []ecsTag{{Key: aws.String("team"), Value: aws.String("b")}},
			},
		},
		{
			name: "null is the same as absent",
			data: `{` + minimal + `, "taskRoleArn": null, "volumes": null}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			},
		},
		{
			name: "empty lists and objects are removed, as the official action removes them",
			data: `{` + minimal + `, "volumes": [{"name": "v", "host": {}}], "placementConstraints": []}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
				Volumes:              []ecsVolume{{Name: aws.String("v")}},
			},
		},
		{
			name: "container without an image is allowed (an image input may set it)",
			data: `{"family": "web", "containerDefinitions": [{"name": "app"}]}`,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app")}},
			},
		},
		{
			name: "UTF-8 byte order mark is skipped",
			data: "\xef\xbb\xbf{" + minimal + "}",
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []ecsContainer{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			},
		},
		{name: "malformed JSON", data: `{"family": "web",}`, wantErr: []string{"task definition file: malformed JSON: line 1, column 18"}},
		{name: "malformed JSON on a later line", data: "{\n  \"family\": \"web\"\n  \"x\": 1}", wantErr: []string{"malformed JSON: line 3"}},
		{name: "empty file", data: ``, wantErr: []string{"task definition file: empty"}},
		{name: "only whitespace", data: " \n\t", wantErr: []string{"task definition file: empty"}},
		{name: "trailing data", data: `{` + minimal + `} {}`, wantErr: []string{"unexpected data after the top-level object"}},
		{name: "top level array", data: `[{` + minimal + `}]`, wantErr: []string{"top level is an array, want an object"}},
		{name: "top level null", data: `null`, wantErr: []string{"top level is null, want an object"}},
		{
			name:    "unknown top-level field",
			data:    `{` + minimal + `, "serviceName": "web"}`,
			wantErr: []string{`serviceName: unknown field "serviceName"`},
		},
		{
			name:    "unknown nested field with a suggestion",
			data:    `{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "portMapping": [{"containerPort": 80}]}]}`,
			wantErr: []string{`containerDefinitions[0].portMapping: unknown field "portMapping" (did you mean "portMappings"?)`},
		},
		{
			name:    "wrong case is unknown, with a suggestion",
			data:    `{"Family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}`,
			wantErr: []string{`Family: unknown field "Family" (did you mean "family"?)`},
		},
		{
			name:    "unknown field inside the wrapper",
			data:    `{"taskDefinition": {` + minimal + `, "bogus": 1}}`,
			wantErr: []string{`taskDefinition.bogus: unknown field "bogus"`},
		},
		{
			name:    "unknown field next to the wrapper",
			data:    `{"taskDefinition": {` + minimal + `}, "ResponseMetadata": {}}`,
			wantErr: []string{`unknown field "ResponseMetadata" next to "taskDefinition"`},
		},
		{
			name:    "every problem at once",
			data:    `{"family": 5, "containerDefinitions": [{"name": "app", "memory": "512", "essential": "yes", "cpu": 1.5, "portMappings": {"containerPort": 80}}], "x": 1}`,
			wantErr: []string{"containerDefinitions[0].cpu: 1.5 is not a whole number", "containerDefinitions[0].essential: is a string, want true or false", "containerDefinitions[0].memory: is a string, want a whole number", "containerDefinitions[0].portMappings: is an object, want a JSON array", "family: is a number, want a string", `x: unknown field "x"`},
		},
		{
			name:    "int32 overflow",
			data:    `{"family": "web", "containerDefinitions": [{"name": "app", "memory": 4294967296}]}`,
			wantErr: []string{"containerDefinitions[0].memory: 4294967296 is out of range"},
		},
		{
			name:    "a list of nulls is empty",
			data:    `{"family": "web", "containerDefinitions": [null]}`,
			wantErr: []string{"containerDefinitions: missing or empty"},
		},
		{
			name:    "missing family and containers",
			data:    `{"cpu": "256"}`,
			wantErr: []string{"family: missing", "containerDefinitions: missing or empty"},
		},
		{
			name:    "missing family inside the wrapper",
			data:    `{"taskDefinition": {"containerDefinitions": [{"name": "app"}]}}`,
			wantErr: []string{"taskDefinition.family: missing"},
		},
		{
			name:    "empty family",
			data:    `{"family": "", "containerDefinitions": [{"name": "app"}]}`,
			wantErr: []string{"family: missing"},
		},
		{
			name: "members the SDK requires",
			data: `{"family": "web", "containerDefinitions": [{"name": "app", "secrets": [{"name": "A"}]}],
				"volumes": [{"name": "v", "efsVolumeConfiguration": {"rootDirectory": "/"}}]}`,
			wantErr: []string{
				"containerDefinitions[0].secrets[0].valueFrom: missing, ECS requires it",
				"volumes[0].efsVolumeConfiguration.fileSystemId: missing, ECS requires it",
			},
		},
		{
			name:    "members the SDK requires, inside the wrapper",
			data:    `{"taskDefinition": {"family": "web", "containerDefinitions": [{"name": "app", "dependsOn": [{"containerName": "b"}]}]}}`,
			wantErr: []string{"taskDefinition.containerDefinitions[0].dependsOn[0].condition: missing, ECS requires it"},
		},
		{
			name:    "invalid family and container name",
			data:    `{"family": "web app", "containerDefinitions": [{"name": "app.v2"}]}`,
			wantErr: []string{`family: "web app" is not a valid family`, `containerDefinitions[0].name: "app.v2" is not a valid container name`},
		},
		{
			name:    "container without a name",
			data:    `{"family": "web", "containerDefinitions": [{"image": "nginx"}]}`,
			wantErr: []string{"containerDefinitions[0].name: missing"},
		},
		{
			name:    "duplicate container names",
			data:    `{"family": "web", "containerDefinitions": [{"name": "app"}, {"name": "app"}]}`,
			wantErr: []string{`containerDefinitions[1].name: "app" is also the name of containerDefinitions[0]`},
		},
		{
			name:    "wrapper that is not an object",
			data:    `{"taskDefinition": "web:3"}`,
			wantErr: []string{"taskDefinition is a string, want a JSON object"},
		},
		{
			name:    "tags inside the wrapper",
			data:    `{"taskDefinition": {` + minimal + `, "tags": []}}`,
			wantErr: []string{"taskDefinition.tags: tags belong next to"},
		},
		{
			name:    "bad tag shape",
			data:    `{` + minimal + `, "tags": {"team": "a"}}`,
			wantErr: []string{"tags: is an object, want a JSON array"},
		},
		{
			name:    "map value of the wrong type",
			data:    `{"family": "web", "containerDefinitions": [{"name": "app", "dockerLabels": {"a": 1}}]}`,
			wantErr: []string{"containerDefinitions[0].dockerLabels.a: is a number, want a string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, stripped, err := ParseFileStripped([]byte(tt.data))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseFile = %+v, nil; want error containing %q", got, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("ParseFile error =\n%s\nwant it to contain %q", err, w)
					}
				}
				if got != nil {
					t.Errorf("ParseFile returned an input with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, sdkOpts); diff != "" {
				t.Errorf("ParseFile (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStripped, stripped); diff != "" {
				t.Errorf("stripped (-want +got):\n%s", diff)
			}
			// ParseFile agrees with ParseFileStripped.
			plain, err := ParseFile([]byte(tt.data))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if diff := cmp.Diff(got, plain, sdkOpts); diff != "" {
				t.Errorf("ParseFile and ParseFileStripped disagree:\n%s", diff)
			}
		})
	}
}

func TestParseFileTooBig(t *testing.T) {
	t.Parallel()
	data := []byte(`{"family": "web", "containerDefinitions": [{"name": "app"}], "cpu": "` + strings.Repeat(" ", 2<<20) + `"}`)
	if _, err := ParseFile(data); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("ParseFile(2 MiB) error = %v, want a size error", err)
	}
}

// TestSchemaNamesMatchGoNames checks the assumption PlanDiff's paths and
// the schema walk rely on: every Go member of the register input has a
// schema member with the camelCase name jsonName gives it.
func TestSchemaNamesMatchGoNames(t *testing.T) {
	t.Parallel()
	var walk func(path string, tp reflect.Type, s *smithy.Schema, seen map[reflect.Type]bool)
	walk = func(path string, tp reflect.Type, s *smithy.Schema, seen map[reflect.Type]bool) {
		for tp.Kind() == reflect.Pointer {
			tp = tp.Elem()
		}
		switch tp.Kind() {
		case reflect.Slice:
			walk(path+"[]", tp.Elem(), s.ListMember(), seen)
			return
		case reflect.Map:
			walk(path+"{}", tp.Elem(), s.MapValue(), seen)
			return
		case reflect.Interface:
			return // unions: checked by the every-field round trip
		case reflect.Struct:
		default:
			return
		}
		if seen[tp] {
			return
		}
		seen[tp] = true
		defer delete(seen, tp)
		for i := 0; i < tp.NumField(); i++ {
			f := tp.Field(i)
			if !f.IsExported() {
				continue
			}
			m := s.Member(jsonName(f.Name))
			if m == nil {
				t.Errorf("%s: Go member %s has no schema member %q", path, f.Name, jsonName(f.Name))
				continue
			}
			walk(join(path, jsonName(f.Name)), f.Type, m, seen)
		}
	}
	walk("", reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), schemas.RegisterTaskDefinitionRequest, map[reflect.Type]bool{})
}

// Short names for the SDK types in the tables above.
type (
	ecsContainer = types.ContainerDefinition
	ecsKV        = types.KeyValuePair
	ecsCompat    = types.Compatibility
	ecsTag       = types.Tag
	ecsVolume    = types.Volume
	ecsHost      = types.HostVolumeProperties
	ecsPlacement = types.TaskDefinitionPlacementConstraint
)

// officialEmpty and officialClean are, written out plainly for the tests,
// what aws-actions/amazon-ecs-deploy-task-definition v2.6.3 does to a file
// with no keep-null-value-keys: JSON.stringify with a replacer that drops
// every empty value (isEmptyValue: null, "", a list or object with only
// empty values) and the empty elements of a list.
func officialEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		for _, e := range x {
			if !officialEmpty(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !officialEmpty(e) {
				return false
			}
		}
		return true
	}
	return false
}

func officialClean(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !officialEmpty(e) {
				out[k] = officialClean(e)
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range x {
			if !officialEmpty(e) {
				out = append(out, officialClean(e))
			}
		}
		return out
	}
	return v
}
