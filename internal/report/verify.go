package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// summaryVerification is the preflight's verification (docs/verify.md):
// the problems that stopped the deploy, the checks that could not be
// made, and what was verified.
func summaryVerification(res deployer.Result) string {
	v := res.Verification
	if v == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Preflight: verified before any change (%d calls, %s)\n\n", v.Calls, formatDuration(v.Duration.Round(time.Millisecond)))
	for _, p := range v.Problems {
		fmt.Fprintf(&b, "- ❌ %s\n", escapeMarkdownLine(Truncate(OneLine(p), maxCellChars)))
	}
	for _, n := range v.Notices {
		fmt.Fprintf(&b, "- ℹ️ %s\n", escapeMarkdownLine(Truncate(OneLine(strings.TrimPrefix(n, "verify: ")), maxCellChars)))
	}
	for _, c := range v.Checked {
		fmt.Fprintf(&b, "- ✅ %s\n", escapeMarkdownLine(Truncate(OneLine(c), maxCellChars)))
	}
	if len(v.Problems)+len(v.Notices)+len(v.Checked) == 0 {
		b.WriteString("Nothing to verify.\n")
	}
	b.WriteString("\n")
	return b.String()
}
