package deployer_test

import (
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// campaignSeedRows are outcome-matrix rows from the seam campaign's failing seeds
// (seams_test.go), each a moment the campaign found and its fix holds.
var campaignSeedRows = []outcomeRow{
	// Seed 2112: our bake-time ends 1.4 s after the last poll, and both
	// tasks of ours crashed 0.5 s after that poll. The bake's last look
	// used to be skipped within half a poll interval of the last poll, so
	// the step said succeeded with none of our tasks running (rule 2).
	{name: "rolling crash loop between the last poll and the end of our bake", strategy: "ROLLING", moment: "the end of our bake", fault: "crash loop 25.5 s after start",
		world: crashAfter("repo/app:2", 25500*time.Millisecond), config: bakeWith(16400 * time.Millisecond),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},
}

func TestOutcomeMatrixCampaignSeeds(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, campaignSeedRows)
}
