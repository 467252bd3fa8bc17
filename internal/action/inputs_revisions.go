package action

// keep-revisions: the official deploy action's users' ask #145 (open since
// 2020), not an input of that action.
const (
	inKeepRevisions  = "keep-revisions"
	maxKeepRevisions = 10000
)

// revisionsInputs parses keep-revisions (after wait, which it needs).
func (p *inputParser) revisionsInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	n, ok := p.optionalIntIn(inKeepRevisions, 1, maxKeepRevisions)
	if !ok {
		return
	}
	cfg.KeepRevisions = n
	if !cfg.Wait && !cfg.DryRun {
		p.add(inKeepRevisions, "needs wait: true: old revisions are deregistered only after a success the step has seen")
	}
}
