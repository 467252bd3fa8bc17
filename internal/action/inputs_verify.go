package action

import "github.com/ecs-rollout/ecs-rollout/deployer"

// The input of the verify phase (docs/verify.md): check the revision's
// images, secrets, log groups and roles before anything changes.
const inVerify = "verify"

// verifyInputs parses verify (default true).
func (p *inputParser) verifyInputs(out *parsed, _ parseOptions) {
	out.Config.Verify = p.boolean(inVerify, true)
}

// reportVerifyProblems gives each problem the verify phase found its own
// error annotation when there are several (the reason, annotated once
// more at the end, joins them).
func reportVerifyProblems(con *console, res deployer.Result) {
	for _, r := range append([]deployer.Result{res}, res.Services...) {
		if v := r.Verification; v != nil && len(v.Problems) > 1 {
			for _, p := range v.Problems {
				con.errorf("%s", p)
			}
		}
	}
}
