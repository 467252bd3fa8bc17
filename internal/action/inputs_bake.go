package action

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// The inputs of the bake: how long to keep watching after the deployment
// completes, and the CloudWatch alarms watched from the update to its end.
const (
	inBakeTime = "bake-time"
	inAlarms   = "alarms"
)

// bakeInputs parses bake-time and alarms. Both need the watch, so it runs
// after runInputs (which parses wait).
func (p *inputParser) bakeInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.BakeTime = p.bakeTime()
	cfg.Alarms = p.alarms()
	if !cfg.Wait {
		if cfg.BakeTime > 0 {
			p.add(inBakeTime, "needs wait: true (with wait: false nothing is watched)")
		}
		if len(cfg.Alarms) > 0 {
			p.add(inAlarms, "needs wait: true (with wait: false nothing is watched)")
		}
	}
}

// bakeTime parses bake-time: a Go duration from 0s (no bake) to
// deployer.MaxBakeTime.
func (p *inputParser) bakeTime() time.Duration {
	s := p.raw(inBakeTime)
	if s == "" || s == "0" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(inBakeTime, fmt.Sprintf("%q is not a duration (e.g. 10m, or 0s for none)", report.Truncate(s, 80)))
	case d < 0:
		p.add(inBakeTime, fmt.Sprintf("%s must not be negative", d))
	case d > deployer.MaxBakeTime:
		p.add(inBakeTime, fmt.Sprintf("%s is too long (at most %s)", d, durationText(deployer.MaxBakeTime)))
	default:
		return d
	}
	return 0
}

// alarms parses the alarms input: CloudWatch alarm names, one per line
// or comma-separated (so a name cannot contain a comma), duplicates
// dropped, at most deployer.MaxAlarms.
func (p *inputParser) alarms() []string {
	var names []string
	seen := map[string]bool{}
	for _, line := range strings.Split(p.raw(inAlarms), "\n") {
		for _, n := range strings.Split(line, ",") {
			n = strings.TrimSpace(n)
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			if len(n) > 255 || strings.IndexFunc(n, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				p.add(inAlarms, fmt.Sprintf("%q is not an alarm name (1 to 255 characters, no control characters)", report.Truncate(n, 80)))
				continue
			}
			names = append(names, n)
		}
	}
	if len(names) > deployer.MaxAlarms {
		p.add(inAlarms, fmt.Sprintf("%d alarms named; at most %d can be watched (one DescribeAlarms call)", len(names), deployer.MaxAlarms))
		return nil
	}
	return names
}
