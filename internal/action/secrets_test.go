package action

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Secret values planted in the running task definition, the task
// definition file, the environment and the failing task's log.
const (
	plantEnvValue     = "env-value-s3cr3t-9d1f0c"
	plantEnvValue2    = "sidecar-env-s3cr3t-77ab"
	plantSecretARN    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf"
	plantSSMParam     = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key"
	plantRepoCreds    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dockerhub-creds-XyZ123"
	plantLogSecretARN = "arn:aws:ssm:us-east-1:123456789012:parameter/splunk-token"
	plantFileEnvValue = "file-env-s3cr3t-5e6f"
	plantFileSecret   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:file/secret-Q1w2E3"
)

// secretScenario is slowScenario with secrets everywhere a task
// definition can hold them, and a crashing image that logs one.
func secretScenario() ecssim.Scenario {
	sc := slowScenario()
	td := &sc.TaskDefinitions[0].TaskDefinition
	td.ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
	td.TaskRoleArn = aws.String("arn:aws:iam::123456789012:role/web-task")
	app := &td.ContainerDefinitions[0]
	app.Environment = []types.KeyValuePair{
		{Name: aws.String("API_TOKEN"), Value: aws.String(plantEnvValue)},
		{Name: aws.String("PLAIN"), Value: aws.String("x")},
	}
	app.Secrets = []types.Secret{
		{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String(plantSecretARN)},
		{Name: aws.String("API_KEY"), ValueFrom: aws.String(plantSSMParam)},
	}
	app.RepositoryCredentials = &types.RepositoryCredentials{CredentialsParameter: aws.String(plantRepoCreds)}
	app.LogConfiguration = &types.LogConfiguration{
		LogDriver: types.LogDriverAwslogs,
		Options:   map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1"},
		SecretOptions: []types.Secret{
			{Name: aws.String("splunk-token"), ValueFrom: aws.String(plantLogSecretARN)},
		},
	}
	td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{
		Name: aws.String("sidecar"), Image: aws.String("repo/sidecar:1"), Essential: aws.Bool(false),
		Environment: []types.KeyValuePair{{Name: aws.String("SIDECAR_TOKEN"), Value: aws.String(plantEnvValue2)}},
	})
	sc.ImageRules[1].Logs = []string{
		"starting with API_TOKEN=" + plantEnvValue,
		"connecting with " + plantEnvValue2,
		"panic: cannot reach the database",
	}
	return sc
}

// plantedSecrets are every planted value that must never be printed.
func plantedSecrets() []string {
	return []string{plantEnvValue, plantEnvValue2, plantSecretARN, plantSSMParam, plantRepoCreds, plantLogSecretARN,
		plantFileEnvValue, plantFileSecret, testAWSSecret, testSessionToken}
}

// TestSecretsNeverWritten runs the binary (a succeeded run, a rolled-back
// run with log excerpts, a dry run, and a run with a task-definition file)
// with secrets planted everywhere, and scans every byte it writes: stdout,
// stderr, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE. A planted
// value may appear only on stdout, and only after an ::add-mask:: line for
// it (GitHub then masks it); anywhere else it is a leak.
func TestSecretsNeverWritten(t *testing.T) {
	t.Parallel()
	taskDefFile := func(t *testing.T, dir string) string {
		in := map[string]any{
			"family":                  "web",
			"networkMode":             "awsvpc",
			"requiresCompatibilities": []string{"FARGATE"},
			"cpu":                     "256",
			"memory":                  "512",
			"executionRoleArn":        "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
			"containerDefinitions": []map[string]any{{
				"name": "app", "image": "repo/app:1", "essential": true,
				"environment": []map[string]string{{"name": "FILE_TOKEN", "value": plantFileEnvValue}},
				"secrets":     []map[string]string{{"name": "FILE_SECRET", "valueFrom": plantFileSecret}},
			}},
		}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "taskdef.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return "taskdef.json"
	}
	tests := []struct {
		name       string
		inputs     map[string]string
		file       bool
		wantStatus string
	}{
		{"succeeded", map[string]string{"image": "repo/app:2"}, false, "succeeded"},
		{"rolled back with log lines", map[string]string{"image": "repo/app:crash", "log-lines": "20"}, false, "rolled-back"},
		{"dry run", map[string]string{"image": "repo/app:2", "dry-run": "true"}, false, "dry-run"},
		{"task-definition file, rolled back", map[string]string{"image": "repo/app:crash"}, true, "rolled-back"},
		{"task-definition file, dry run", map[string]string{"image": "repo/app:2", "dry-run": "true"}, true, "dry-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, secretScenario())
			r := newActionRun(t, srv, tt.inputs)
			if tt.file {
				r.env["INPUT_TASK-DEFINITION"] = taskDefFile(t, r.dir)
			}
			r.run()
			if got := r.outputs()["status"]; got != tt.wantStatus {
				t.Fatalf("status: got %q, want %q\n%s", got, tt.wantStatus, r.dump())
			}
			files := map[string]string{
				"stdout":              r.stdout.String(),
				"stderr":              r.stderr.String(),
				"GITHUB_OUTPUT":       readText(t, r.output),
				"GITHUB_STEP_SUMMARY": readText(t, r.sum),
				"GITHUB_STATE":        readText(t, r.state),
			}
			for _, leak := range findLeaks(files, plantedSecrets()) {
				t.Error(leak)
			}
			if tt.file {
				// The file's values pass through the action: they must be
				// announced with ::add-mask:: before anything else.
				for _, v := range []string{plantFileEnvValue, plantFileSecret} {
					if !strings.Contains(r.stdout.String(), "::add-mask::"+v+"\n") {
						t.Errorf("no ::add-mask:: line for the task-definition file's value %q", v)
					}
				}
			}
		})
	}
}

// findLeaks returns one message per planted value found where it must
// not be, with the file and the line around it.
func findLeaks(files map[string]string, secrets []string) []string {
	var leaks []string
	for name, content := range files {
		for _, s := range secrets {
			masked := false
			for i, line := range strings.Split(content, "\n") {
				if name == "stdout" && line == "::add-mask::"+s {
					masked = true
					continue
				}
				if !strings.Contains(line, s) {
					continue
				}
				if name == "stdout" && masked {
					continue // GitHub masks it from here on
				}
				leaks = append(leaks, fmt.Sprintf("%s line %d leaks %q: %s", name, i+1, s, around(line, s)))
			}
		}
	}
	return leaks
}

// around cuts line down to the secret and 60 characters on each side.
func around(line, s string) string {
	i := strings.Index(line, s)
	lo, hi := max(0, i-60), min(len(line), i+len(s)+60)
	return line[lo:hi]
}

// TestFindLeaks checks the scanner itself: it must catch what it is for.
func TestFindLeaks(t *testing.T) {
	t.Parallel()
	const s = "planted-value"
	tests := []struct {
		name  string
		files map[string]string
		want  int
	}{
		{"clean", map[string]string{"stdout": "all fine\n", "GITHUB_OUTPUT": "reason=ok\n"}, 0},
		{"in stdout", map[string]string{"stdout": "token=planted-value\n"}, 1},
		{"in stdout before its mask", map[string]string{"stdout": "token=planted-value\n::add-mask::planted-value\n"}, 1},
		{"in stdout after its mask", map[string]string{"stdout": "::add-mask::planted-value\ntoken=planted-value\n"}, 0},
		{"in the summary despite a mask", map[string]string{"stdout": "::add-mask::planted-value\n", "GITHUB_STEP_SUMMARY": "| planted-value |\n"}, 1},
		{"in an output", map[string]string{"GITHUB_OUTPUT": "reason<<EOF\nplanted-value\nEOF\n"}, 1},
		{"in the state", map[string]string{"GITHUB_STATE": "checkpoint=planted-value\n"}, 1},
		{"in stderr", map[string]string{"stderr": "error: planted-value\n"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := findLeaks(tt.files, []string{s}); len(got) != tt.want {
				t.Errorf("got %d leaks %q, want %d", len(got), got, tt.want)
			}
		})
	}
}
