package action

import (
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

func TestPauseInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          map[string]string
		wantOnPause deployer.OnPause
		wantResume  deployer.Resume
		wantErr     string // substring naming the input; "" for none
	}{
		{name: "defaults", in: map[string]string{}, wantOnPause: deployer.OnPauseReturn},
		{name: "the runner's default", in: map[string]string{"on-pause": "return"}, wantOnPause: deployer.OnPauseReturn},
		{name: "continue, any case", in: map[string]string{"on-pause": "Continue"}, wantOnPause: deployer.OnPauseContinue},
		{name: "rollback", in: map[string]string{"on-pause": "rollback"}, wantOnPause: deployer.OnPauseRollback},
		{name: "bad on-pause", in: map[string]string{"on-pause": "wait"}, wantErr: `on-pause: "wait" is not one of return, continue, rollback`},
		{name: "resume continue", in: map[string]string{"resume": "continue"}, wantOnPause: deployer.OnPauseReturn, wantResume: deployer.ResumeContinue},
		{name: "resume rollback", in: map[string]string{"resume": " ROLLBACK "}, wantOnPause: deployer.OnPauseReturn, wantResume: deployer.ResumeRollback},
		{name: "bad resume", in: map[string]string{"resume": "abort"}, wantErr: `resume: "abort" is not one of continue, rollback`},
		{name: "resume with an image", in: map[string]string{"resume": "continue", "image": "nginx:1.27"}, wantErr: "resume: resumes the deployment already waiting at a hook and deploys nothing: leave image empty"},
		{name: "resume with a task definition", in: map[string]string{"resume": "continue", "task-definition": "td.json"}, wantErr: "leave task-definition empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &inputParser{get: mapGetter(tt.in)}
			var out parsed
			p.strategyInputs(&out, parseOptions{})
			cfg := out.Config
			var msgs []string
			for _, e := range p.errs {
				msgs = append(msgs, e.Error())
			}
			got := strings.Join(msgs, "\n")
			if tt.wantErr == "" {
				if got != "" {
					t.Fatalf("unexpected errors: %s", got)
				}
				if cfg.OnPause != tt.wantOnPause || cfg.Resume != tt.wantResume {
					t.Errorf("got on-pause %q resume %q, want %q %q", cfg.OnPause, cfg.Resume, tt.wantOnPause, tt.wantResume)
				}
				return
			}
			if !strings.Contains(got, tt.wantErr) {
				t.Errorf("errors: got %q, want %q", got, tt.wantErr)
			}
		})
	}
}
