package action

import (
	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// The inputs of ECS's own deployment strategies (BLUE_GREEN, LINEAR,
// CANARY): what to do at a PAUSE hook, and resuming a paused deployment.
const (
	inOnPause = "on-pause"
	inResume  = "resume"
)

// strategyInputs parses on-pause and resume. A resume run deploys nothing:
// it acts on the deployment already waiting, so image, images and
// task-definition cannot come with it.
func (p *inputParser) strategyInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.OnPause = deployer.OnPause(p.enum(inOnPause, string(deployer.OnPauseReturn),
		string(deployer.OnPauseReturn), string(deployer.OnPauseContinue), string(deployer.OnPauseRollback)))
	if p.raw(inResume) == "" {
		return
	}
	cfg.Resume = deployer.Resume(p.enum(inResume, "", string(deployer.ResumeContinue), string(deployer.ResumeRollback)))
	for _, in := range []string{inImage, inImages, inTaskDefinition} {
		if p.raw(in) != "" {
			p.add(inResume, "resumes the deployment already waiting at a hook and deploys nothing: leave "+in+" empty")
		}
	}
}
