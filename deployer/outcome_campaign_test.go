package deployer_test

import (
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// campaignSeedRows are outcome-matrix rows from the seam campaign's failing seeds
// (seams_test.go), each a moment the campaign found and its fix holds.
var campaignSeedRows = []outcomeRow{
	// Seed 2112: our bake-time ends between one and two and a half
	// seconds after the last poll, and both tasks of ours crashed 0.5 s
	// after that poll. The bake's last look used to be skipped within half
	// a poll interval of the last poll, so the step said succeeded with
	// none of our tasks running (rule 2). The seed's own bake (16.4 s)
	// put the end 1.1 s after the poll, at the edge of the one-second
	// window where goroutines at one fake instant decide the order (2 of
	// 20 runs passed the old look and failed the row); at 17.4 s the row
	// passed 40 of 40 runs with the fix and failed 8 of 20 without it.
	{name: "rolling crash loop between the last poll and the end of our bake", strategy: "ROLLING", moment: "the end of our bake", fault: "crash loop 25.5 s after start",
		world: crashAfter("repo/app:2", 25500*time.Millisecond), config: bakeWith(17400 * time.Millisecond),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},
}

func TestOutcomeMatrixCampaignSeeds(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, campaignSeedRows)
}
