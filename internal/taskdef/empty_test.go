package taskdef

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestParseFileEmptyValues: the empty values issue 28 lists are removed
// as amazon-ecs-deploy-task-definition v2.6.3 removes them (its
// cleanNullKeys and maintainValidObjects), reported by path, and kept
// when keep-null-value-keys names them.
func TestParseFileEmptyValues(t *testing.T) {
	t.Parallel()
	file := `{"family": "web", "memory": "", "cpu": "256", "placementConstraints": [],
		"containerDefinitions": [{"name": "app", "image": "nginx", "command": [""], "essential": false, "memoryReservation": 0,
			"repositoryCredentials": {"credentialsParameter": ""},
			"environment": [{"name": "", "value": ""}, {"name": "EMPTY", "value": ""}, {"name": "SET", "value": "x"}],
			"logConfiguration": {}, "secretOptions": [], "dockerLabels": {"a": ""}, "entryPoint": ["sh", ""]}],
		"tags": [{"key": "team", "value": ""}, {}]}`
	app := func() types.ContainerDefinition {
		return types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(false), MemoryReservation: aws.Int32(0),
			Environment: []types.KeyValuePair{{Name: aws.String("EMPTY"), Value: aws.String("")}, {Name: aws.String("SET"), Value: aws.String("x")}},
			EntryPoint:  []string{"sh"}}
	}
	for _, tc := range []struct {
		name        string
		keep        []string
		want        func() *ecs.RegisterTaskDefinitionInput
		wantEmptied []string
	}{
		{"cleaned as the official action", nil, func() *ecs.RegisterTaskDefinitionInput {
			return &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), Cpu: aws.String("256"), ContainerDefinitions: []types.ContainerDefinition{app()},
				Tags: []types.Tag{{Key: aws.String("team")}}}
		}, []string{
			"containerDefinitions[0].command", "containerDefinitions[0].dockerLabels", "containerDefinitions[0].entryPoint[1]",
			"containerDefinitions[0].environment[0]", "containerDefinitions[0].logConfiguration", "containerDefinitions[0].repositoryCredentials",
			"containerDefinitions[0].secretOptions", "memory", "placementConstraints", "tags[0].value", "tags[1]",
		}},
		{"keep-null-value-keys: command, dockerLabels, placementConstraints", []string{"command", "dockerLabels", "placementConstraints"}, func() *ecs.RegisterTaskDefinitionInput {
			c := app()
			// As in the official action: a kept list still loses its empty
			// elements, a kept object its empty members.
			c.Command, c.DockerLabels = []string{}, map[string]string{}
			return &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), Cpu: aws.String("256"), ContainerDefinitions: []types.ContainerDefinition{c},
				PlacementConstraints: []types.TaskDefinitionPlacementConstraint{}, Tags: []types.Tag{{Key: aws.String("team")}}}
		}, []string{
			"containerDefinitions[0].command[0]", "containerDefinitions[0].dockerLabels.a",
			"containerDefinitions[0].entryPoint[1]", "containerDefinitions[0].environment[0]", "containerDefinitions[0].logConfiguration",
			"containerDefinitions[0].repositoryCredentials", "containerDefinitions[0].secretOptions", "memory", "tags[0].value", "tags[1]",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, rep, err := ParseFileReport([]byte(file), tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want(), got, sdkOpts); diff != "" {
				t.Errorf("ParseFileReport (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEmptied, rep.Emptied); diff != "" {
				t.Errorf("emptied (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseFileYAML: a YAML task definition (the official action reads
// files with yaml.parse) gives the same input as the same JSON, with
// YAML 1.2's scalars, anchors and merge keys; YAML's own problems are
// errors with a line.
func TestParseFileYAML(t *testing.T) {
	t.Parallel()
	yamlFile := `# the web service
family: web
cpu: "256"
memory: "512"
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
containerDefinitions:
  - <<: &defaults
      essential: true
      logConfiguration:
        logDriver: awslogs
        options: {awslogs-group: /ecs/web, awslogs-region: us-east-1, awslogs-stream-prefix: web}
    name: app
    image: nginx:1.27
    portMappings:
      - containerPort: 8080
    environment:
      - name: FEATURE
        value: on
      - name: RETRIES
        value: "3"
      - name: EMPTY
        value: ""
    healthCheck:
      command: [CMD-SHELL, "curl -f http://localhost:8080/ || exit 1"]
      interval: 30
`
	jsonFile := `{"family": "web", "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
		"containerDefinitions": [{"name": "app", "image": "nginx:1.27", "essential": true,
			"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
			"portMappings": [{"containerPort": 8080}],
			"environment": [{"name": "FEATURE", "value": "on"}, {"name": "RETRIES", "value": "3"}, {"name": "EMPTY", "value": ""}],
			"healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/ || exit 1"], "interval": 30}}]}`
	want, err := ParseFile([]byte(jsonFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFile([]byte(yamlFile))
	if err != nil {
		t.Fatalf("ParseFile(YAML): %v", err)
	}
	if diff := cmp.Diff(want, got, sdkOpts); diff != "" {
		t.Errorf("YAML and JSON differ (-json +yaml):\n%s", diff)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"a key twice", "family: web\nfamily: api\n", `line 2: key "family" is given twice`},
		{"two documents", "family: web\n---\nfamily: api\n", "a second document"},
		{"bad indentation", "family: web\n containerDefinitions:\n- name: app\n", "malformed YAML: line"},
		{"a number out of range", "family: web\ncontainerDefinitions:\n  - name: app\n    memory: 99999999999999999999\n", "not a whole number in range"},
		{"an unknown member", "family: web\nx-defaults: &d {a: 1}\ncontainerDefinitions:\n  - name: app\n", `x-defaults: unknown field "x-defaults"`},
		{"a list at the top", "- family: web\n", "top level is an array, want an object"},
		{"a wrong type in YAML", "family: web\ncontainerDefinitions:\n  - name: app\n    essential: maybe\n", "containerDefinitions[0].essential: is a string, want true or false"},
	} {
		if _, err := ParseFile([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestMarshalFile: every real-world task definition written by
// MarshalFile reads back (ParseFile) to the same input.
func TestMarshalFile(t *testing.T) {
	t.Parallel()
	eachTaskdefFile(t, func(t *testing.T, _ string, data []byte) {
		in, err := ParseFile(data)
		if err != nil {
			t.Fatal(err)
		}
		file, err := MarshalFile(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseFile(file)
		if err != nil {
			t.Fatalf("ParseFile(MarshalFile): %v\n%s", err, file)
		}
		if diff := cmp.Diff(in, back, sdkOpts); diff != "" {
			t.Errorf("read back (-written +read):\n%s", diff)
		}
	})
}

// TestRemoveEmptyOfficialCases: the cases of
// amazon-ecs-deploy-task-definition v2.6.3's own index.test.js for its
// cleaning (cleanNullKeys, then maintainValidObjects), file in and
// request out, read-only members left aside (ParseFile strips them apart).
func TestRemoveEmptyOfficialCases(t *testing.T) {
	t.Parallel()
	container := `{"name": "sample-container", "logConfiguration": {}, "repositoryCredentials": {"credentialsParameter": ""}, "command": [""],
		"environment": [%s], "secretOptions": [{"name": "", "valueFrom": ""}], "cpu": 0, "essential": false}`
	for _, tc := range []struct {
		name, in, want string
		keep           []string
	}{
		{"cleans null keys", `{"ipcMode": null, "family": "task-def-family"}`, `{"family": "task-def-family"}`, nil},
		{"cleans empty arrays", `{"tags": [], "family": "task-def-family"}`, `{"family": "task-def-family"}`, nil},
		{"cleans empty strings and objects",
			`{"memory": "", "containerDefinitions": [` + fmt.Sprintf(container, `{"name": "hello", "value": "world"}, {"name": "test", "value": ""}, {"name": "", "value": ""}`) + `],
			  "requiresCompatibilities": ["EC2"], "family": "task-def-family"}`,
			`{"family": "task-def-family", "requiresCompatibilities": ["EC2"], "containerDefinitions": [{"name": "sample-container", "cpu": 0, "essential": false,
			  "environment": [{"name": "hello", "value": "world"}, {"name": "test", "value": ""}]}]}`, nil},
		{"preserves empty array values for specified keys", `{"family": "task-def-family", "containerDefinitions": [{"name": "sample-container", "command": [], "environment": [], "essential": true}]}`,
			`{"family": "task-def-family", "containerDefinitions": [{"name": "sample-container", "command": [], "environment": [], "essential": true}]}`, []string{"command", "environment"}},
		{"preserves empty object values for specified keys", `{"family": "task-def-family", "containerDefinitions": [{"name": "sample-container", "essential": true}], "placementConstraints": {}, "volumes": {}}`,
			`{"family": "task-def-family", "containerDefinitions": [{"name": "sample-container", "essential": true}], "placementConstraints": {}, "volumes": {}}`, []string{"placementConstraints", "volumes"}},
		// Their test means the tag to be kept (its assertion runs inside a
		// mock whose failure the test does not see): theirs drops options,
		// whose only member is empty; ours keeps what keep names.
		{"preserves an empty string for a specified key (as their test means)", `{"family": "f", "containerDefinitions": [{"name": "c", "logConfiguration": {"logDriver": "splunk", "options": {"tag": ""}}}]}`,
			`{"family": "f", "containerDefinitions": [{"name": "c", "logConfiguration": {"logDriver": "splunk", "options": {"tag": ""}}}]}`, []string{"environment", "tag"}},
		{"maintains empty keys in proxyConfiguration.properties for APPMESH",
			`{"memory": "", "containerDefinitions": [` + fmt.Sprintf(container, `{"name": "hello", "value": "world"}, {"name": "", "value": ""}`) + `], "requiresCompatibilities": ["EC2"], "family": "task-def-family",
			  "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy", "properties": [{"name": "ProxyIngressPort", "value": "15000"}, {"name": "IgnoredGID", "value": ""},
			    {"name": "EgressIgnoredPorts", "value": ""}, {"value": "some-value"}]}}`,
			`{"family": "task-def-family", "requiresCompatibilities": ["EC2"], "containerDefinitions": [{"name": "sample-container", "cpu": 0, "essential": false, "environment": [{"name": "hello", "value": "world"}]}],
			  "proxyConfiguration": {"type": "APPMESH", "containerName": "envoy", "properties": [{"name": "ProxyIngressPort", "value": "15000"}, {"name": "IgnoredGID", "value": ""},
			    {"name": "EgressIgnoredPorts", "value": ""}, {"name": "", "value": "some-value"}]}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, want := decodeJSON(t, []byte(tc.in)), decodeJSON(t, []byte(tc.want))
			removeEmpty(got, tc.keep)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-theirs +ours):\n%s", diff)
			}
		})
	}
}
