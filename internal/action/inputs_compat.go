package action

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Inputs of aws-actions/amazon-ecs-deploy-task-definition (v2.6.3) that
// tune how it talks to AWS, taken with the same names and formats. They
// only tune our polling and retries; what is watched and decided stays
// ours.
const (
	// wait-max-delay-seconds: the longest wait between two polls; ours
	// polls every poll-interval, so it shortens poll-interval to it.
	inWaitMaxDelaySeconds = "wait-max-delay-seconds"
	// max-retries: the official action's maxAttempts (attempts per AWS
	// call, the first included); ours sets the same of our retryer.
	inMaxRetries = "max-retries"
	// keep-null-value-keys: the members of the task-definition file whose
	// empty value is kept (read by inputs_image.go's taskDefinition).
	inKeepNullValueKeys = "keep-null-value-keys"
)

// maxAttemptsLimit bounds max-retries: at the 20 s backoff cap, 100
// attempts already let one call retry for about half an hour.
const maxAttemptsLimit = 100

// compatInputs parses wait-max-delay-seconds (after watchInputs, which
// set the poll interval) and max-retries, and notes a keep-null-value-keys
// without a file to apply to.
func (p *inputParser) compatInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	if n, ok := p.optionalIntIn(inWaitMaxDelaySeconds, 1, int(maxPollInterval/time.Second)); ok {
		if d := time.Duration(n) * time.Second; cfg.PollInterval > d {
			cfg.PollInterval = d
			p.notes = append(p.notes, fmt.Sprintf("%s: polling every %s at most", inWaitMaxDelaySeconds, d))
		}
	}
	if n, ok := p.optionalIntIn(inMaxRetries, 1, maxAttemptsLimit); ok {
		out.MaxAttempts = n
	}
	if p.raw(inKeepNullValueKeys) != "" && p.raw(inTaskDefinition) == "" {
		p.notes = append(p.notes, fmt.Sprintf("%s: no task-definition file, so no empty value to keep (a revision copied from ECS is registered as it is)", inKeepNullValueKeys))
	}
}

// keepNullValueKeys is keep-null-value-keys as the official action reads
// it: member names separated by commas, spaces around them ignored; or,
// as its own tests write it, a JSON array of names (["environment",
// "tag"]), which its comma split would garble.
func (p *inputParser) keepNullValueKeys() []string {
	s := p.raw(inKeepNullValueKeys)
	if strings.HasPrefix(s, "[") {
		var list []string
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			p.add(inKeepNullValueKeys, "is not a JSON array of member names, nor names separated by commas")
			return nil
		}
		s = strings.Join(list, ",")
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// withMaxAttempts is getenv with AWS_MAX_ATTEMPTS set to attempts
// (max-retries) when that is more than 0.
func withMaxAttempts(getenv func(string) string, attempts int) func(string) string {
	if attempts <= 0 {
		return getenv
	}
	return func(k string) string {
		if k == "AWS_MAX_ATTEMPTS" {
			return strconv.Itoa(attempts)
		}
		return getenv(k)
	}
}

// listShort joins the first n of list with commas, and says how many more
// there are.
func listShort(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}
