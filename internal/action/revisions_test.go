package action

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// revisionsSim is the demo world with web:2, web:3 and web:4 registered
// beside web:1, which the service runs.
func revisionsSim(t *testing.T) *ecssim.Server {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("internal", "action", "scenarios", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		td := sc.TaskDefinitions[0]
		td.Revision, td.TaskDefinitionArn = int32(i+2), nil
		sc.TaskDefinitions = append(sc.TaskDefinitions, td)
	}
	return ecssimtest.NewServer(t, sc)
}

func revisionStatus(srv *ecssim.Server) map[string]types.TaskDefinitionStatus {
	out := map[string]types.TaskDefinitionStatus{}
	for _, td := range srv.Sim.TaskDefinitions() {
		out[aws.ToString(td.Family)+":"+strconv.Itoa(int(td.Revision))] = td.Status
	}
	return out
}

// TestKeepRevisionsThroughBinary: keep-revisions 2 in a dry run lists what
// it would deregister and deregisters nothing; the deploy then
// deregisters exactly that after its success (web:3, web:2), keeping the
// newest two (the new web:5 and web:4) and the rollback target web:1.
func TestKeepRevisionsThroughBinary(t *testing.T) {
	t.Parallel()
	srv := revisionsSim(t)
	inputs := map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good",
		"keep-revisions": "2", "poll-interval": "100ms", "timeout": "30s"}
	dry := map[string]string{"dry-run": "true"}
	for k, v := range inputs {
		dry[k] = v
	}
	env := feGitHubEnv(t, srv.URL, dry)
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.stdout)
	}
	if want := "keep-revisions 2: after a success, would deregister 2 revisions of web: web:3, web:2; kept as the newest: web:4; kept as in use: web:1"; !strings.Contains(r.stdout.String(), want) {
		t.Errorf("the dry run's plan lacks %q:\n%s", want, r.stdout)
	}
	for _, c := range srv.Sim.MutatingCalls() {
		t.Errorf("the dry run called %s", c.Op)
	}

	env = feGitHubEnv(t, srv.URL, inputs)
	r = feRunMain(t.Context(), nil, env)
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if r.code != exitOK || out["status"] != "succeeded" {
		t.Fatalf("deploy: exit %d, status %q\n%s", r.code, out["status"], r.stdout)
	}
	if want := "keep-revisions 2: deregistered 2 revisions of web: web:3, web:2; kept as the newest: web:5, web:4; kept as in use: web:1"; !strings.Contains(r.stdout.String(), want) {
		t.Errorf("the log lacks %q:\n%s", want, r.stdout)
	}
	want := map[string]types.TaskDefinitionStatus{"web:1": "ACTIVE", "web:2": "INACTIVE", "web:3": "INACTIVE", "web:4": "ACTIVE", "web:5": "ACTIVE"}
	if got := revisionStatus(srv); !equalStatus(got, want) {
		t.Errorf("revisions after the deploy: %v, want %v", got, want)
	}
}

func equalStatus(a, b map[string]types.TaskDefinitionStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestEnableExecuteCommandThroughBinary: enable-execute-command true is
// on after a success, and back off after a rollback.
func TestEnableExecuteCommandThroughBinary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		image, status string
		want          bool
	}{
		{"web:good", "succeeded", true},
		{"web:crash", "rolled-back", false},
	} {
		t.Run(tt.image, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/" + tt.image,
				"enable-execute-command": "true", "poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s"})
			feRunMain(t.Context(), nil, env)
			if got := readFileCommands(t, env["GITHUB_OUTPUT"])["status"]; got != tt.status {
				t.Fatalf("status %q, want %q", got, tt.status)
			}
			svc, _ := srv.Sim.Service("demo", "web")
			if svc.EnableExecuteCommand != tt.want {
				t.Errorf("enableExecuteCommand at the end: %v, want %v", svc.EnableExecuteCommand, tt.want)
			}
		})
	}
}
