package report

import (
	"fmt"
	"strings"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The text of a multi-service step (Result.Services): one row per
// service first, then what went wrong in each service that did not
// succeed.

// many reports whether res is a multi-service step's result.
func many(res deployer.Result) bool { return len(res.Services) > 1 }

// summaryMany is the job summary of a multi-service step.
func summaryMany(res deployer.Result) []string {
	sections := []string{summaryHeadline(res), summaryServices(res), summaryImages(res.Services[0]),
		summaryManualRollback(res), summaryPlan(res)}
	for _, s := range res.Services {
		if s.Status.OK() || (len(s.Causes) == 0 && len(s.Events) == 0 && len(s.Logs) == 0 && len(s.Timeline) == 0 && s.Verification == nil) {
			continue
		}
		sections = append(sections, fmt.Sprintf("## %s: %s\n\n%s\n\n", escapeMarkdownLine(s.Service), StatusTitle(s.Status), escapeMarkdownLine(Truncate(OneLine(s.Reason), 1000))))
		sections = append(sections, summaryVerification(s), summaryTimeline(s), summaryCauses(s), summaryEvents(s), summaryLogs(s))
	}
	return sections
}

// summaryServices is the table of a multi-service step: one row per
// service.
func summaryServices(res deployer.Result) string {
	var b strings.Builder
	tableHeader(&b, "Service", "Cluster", "Status", "New revision", "Previous revision", "Duration")
	for _, s := range res.Services {
		dur := "-"
		if !s.StartedAt.IsZero() && !s.FinishedAt.IsZero() {
			dur = formatDuration(s.FinishedAt.Sub(s.StartedAt))
		}
		tableRow(&b, code(s.Service), code(s.Cluster), StatusTitle(s.Status),
			orDashCell(code(taskdef.ShortRevision(s.TaskDefinitionARN))), orDashCell(code(taskdef.ShortRevision(s.PreviousTaskDefinitionARN))), dur)
	}
	b.WriteString("\n")
	return b.String()
}

// causeLinesMany is CauseLines for each service that did not succeed,
// under its name.
func causeLinesMany(res deployer.Result) []string {
	var out []string
	for _, s := range res.Services {
		lines := CauseLines(s)
		if len(lines) == 0 {
			continue
		}
		out = append(out, "service "+s.Service+":")
		for _, l := range lines {
			out = append(out, "  "+l)
		}
	}
	return out
}
