package taskdef

import "strings"

// ShortRevision turns a task definition ARN into the family:revision people
// read ("web:42"). Anything that is not a task definition ARN is returned
// unchanged. It is the one formatter of revisions: the log, the reasons and
// the summary all use it.
func ShortRevision(arn string) string {
	if i := strings.LastIndex(arn, ":task-definition/"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+len(":task-definition/"):]
	}
	return arn
}
