package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// logsTimeout bounds the time spent reading log excerpts.
const logsTimeout = 15 * time.Second

// maxDiagnosed bounds the stopped tasks the diagnosis examines: the
// causes of a crash loop are the same in the first few hundred tasks as
// in the thousandth.
const maxDiagnosed = 300

// diagnose collects why our deployment failed: the distinct causes of
// its stopped tasks, the service events since it began, and the tail of
// each failing container's log. It fills the Result and returns a
// one-sentence headline naming the main cause ("" when none is known).
// It never fails the run: problems become notes.
func (r *run) diagnose(ctx context.Context) string {
	j := r.ours
	if j == nil || j.id == "" {
		return ""
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	if _, err := j.checkStopped(ctx, func() bool { return len(j.stopped) >= maxDiagnosed }); err != nil {
		r.d.emit(EventWarning, "diagnosis: %v", err)
	}
	r.res.Causes = groupCauses(j.failedTasks)
	since := r.res.StartedAt.Add(-time.Second) // our clock: allow for skew
	if !j.createdAt.IsZero() {
		since = j.createdAt // ECS's clock, the one events are stamped with
	}
	r.res.Events = eventsSince(r.events.all, since)
	if r.cfg.LogLines > 0 && r.d.logs != nil {
		// Log excerpts are a courtesy: they must not hold up the rollback
		// watch on a slow or unreachable Logs endpoint.
		lctx, cancel := context.WithTimeout(ctx, logsTimeout)
		r.res.Logs = r.logTails(lctx, j.failedTasks)
		cancel()
	}
	return headline(r.res.Causes, len(j.failedTasks))
}

// causeKey identifies a distinct cause.
type causeKey struct {
	stopCode, reason, container, containerReason string
	exit                                         int32
	hasExit                                      bool
}

// failingContainer picks the container that explains a task's stop: an
// essential one that exited non-zero or carries a reason.
func failingContainer(t types.Task) (types.Container, bool) {
	for _, c := range t.Containers {
		if c.ExitCode != nil && *c.ExitCode != 0 {
			return c, true
		}
	}
	for _, c := range t.Containers {
		if aws.ToString(c.Reason) != "" {
			return c, true
		}
	}
	return types.Container{}, false
}

// groupCauses groups failed tasks by distinct cause, most frequent first.
func groupCauses(tasks []types.Task) []Cause {
	var out []Cause
	index := map[causeKey]int{}
	for _, t := range tasks {
		k := causeKey{stopCode: string(t.StopCode), reason: strings.TrimSpace(aws.ToString(t.StoppedReason))}
		if c, ok := failingContainer(t); ok {
			k.container = aws.ToString(c.Name)
			k.containerReason = strings.TrimSpace(aws.ToString(c.Reason))
			if c.ExitCode != nil {
				k.exit, k.hasExit = *c.ExitCode, true
			}
		}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			c := Cause{StopCode: k.stopCode, StoppedReason: k.reason, Container: k.container,
				ContainerReason: k.containerReason, ExampleTaskID: taskID(aws.ToString(t.TaskArn))}
			if k.hasExit {
				c.ExitCode = aws.Int32(k.exit)
			}
			out = append(out, c)
		}
		out[i].Count++
	}
	slices.SortStableFunc(out, func(a, b Cause) int { return b.Count - a.Count })
	return out
}

// headline names the main cause in one sentence.
func headline(causes []Cause, total int) string {
	if len(causes) == 0 {
		return ""
	}
	c := causes[0]
	of := fmt.Sprintf("in %d of %d %s", c.Count, total, plural(total, "task", "tasks"))
	lower := strings.ToLower(c.StoppedReason + " " + c.ContainerReason)
	switch {
	case strings.Contains(lower, "cannotpull"):
		return "image pull failed: " + cmp.Or(c.ContainerReason, c.StoppedReason)
	case strings.Contains(lower, "health check"):
		return fmt.Sprintf("health checks failed: %s %s", strings.TrimSuffix(c.StoppedReason, "."), of)
	case c.ExitCode != nil:
		s := fmt.Sprintf("container %q exited with code %d", c.Container, *c.ExitCode)
		if c.ContainerReason != "" {
			s += " (" + c.ContainerReason + ")"
		}
		return s + " " + of
	default:
		return strings.TrimSuffix(cmp.Or(c.ContainerReason, c.StoppedReason, c.StopCode), ".") + " " + of
	}
}

// eventsSince returns the events (oldest first) at or after since, with
// repeats of the same message dropped: the summary lists each once.
func eventsSince(events []types.ServiceEvent, since time.Time) []ServiceEvent {
	var out []ServiceEvent
	seen := map[string]bool{}
	for _, e := range events {
		at := aws.ToTime(e.CreatedAt)
		if at.Before(since) {
			continue
		}
		msg := aws.ToString(e.Message)
		if seen[msg] {
			continue
		}
		seen[msg] = true
		out = append(out, serviceEvent(e))
	}
	return out
}

// logTails reads the last lines of each distinct failing container's
// awslogs stream, one GetLogEvents call per container. Secret values of
// the task definition are scrubbed from the lines.
func (r *run) logTails(ctx context.Context, tasks []types.Task) []LogExcerpt {
	var out []LogExcerpt
	done := map[string]bool{}
	for _, t := range tasks {
		c, ok := failingContainer(t)
		if !ok {
			continue
		}
		name := aws.ToString(c.Name)
		if done[name] {
			continue
		}
		done[name] = true
		ex, ok, unreachable := r.logTail(ctx, name, taskID(aws.ToString(t.TaskArn)))
		if !ok {
			continue
		}
		out = append(out, ex)
		if unreachable {
			// No answer from the endpoint at all: the other streams would
			// wait for the same silence.
			return out
		}
	}
	return out
}

// logTail reads the last lines of one container's awslogs stream in one
// task, scrubbed of the task definition's secret values; ok is false when
// the container does not log to awslogs, unreachable is true when the
// Logs endpoint did not answer at all.
func (r *run) logTail(ctx context.Context, container, task string) (ex LogExcerpt, ok, unreachable bool) {
	group, stream, region, ok := awslogsStream(r.register, container, task)
	if !ok {
		return LogExcerpt{}, false, false
	}
	ex = LogExcerpt{Container: container, TaskID: task, Stream: group + " " + stream}
	opt := func(o *cloudwatchlogs.Options) {
		if region != "" {
			o.Region = region
		}
	}
	outp, err := r.d.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(stream),
		Limit:         aws.Int32(int32(min(r.cfg.LogLines, 10000))),
		StartFromHead: aws.Bool(false),
	}, opt)
	var ae smithy.APIError
	switch {
	case err == nil:
		redact := taskdef.LogRedactor(r.register)
		for _, e := range outp.Events {
			ex.Lines = append(ex.Lines, redact.Redact(strings.TrimRight(aws.ToString(e.Message), "\n")))
		}
		if len(ex.Lines) == 0 {
			ex.Note = "the log stream is empty"
		}
	case errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "AccessDenied"):
		ex.Note = "no permission to read the log (logs:GetLogEvents)"
	case errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException":
		ex.Note = "the log stream does not exist (yet)"
	case !errors.As(err, &ae):
		ex.Note = fmt.Sprintf("CloudWatch Logs is not reachable: %v", err)
		return ex, true, true
	default:
		ex.Note = fmt.Sprintf("could not read the log: %v", err)
	}
	return ex, true, false
}

// awslogsStream finds where a container of the task definition logs.
func awslogsStream(in *ecs.RegisterTaskDefinitionInput, container, task string) (group, stream, region string, ok bool) {
	if in == nil {
		return "", "", "", false
	}
	for _, cd := range in.ContainerDefinitions {
		if aws.ToString(cd.Name) != container || cd.LogConfiguration == nil || cd.LogConfiguration.LogDriver != types.LogDriverAwslogs {
			continue
		}
		opts := cd.LogConfiguration.Options
		group, prefix := opts["awslogs-group"], opts["awslogs-stream-prefix"]
		if group == "" || prefix == "" {
			return "", "", "", false
		}
		return group, prefix + "/" + container + "/" + task, opts["awslogs-region"], true
	}
	return "", "", "", false
}

// taskID is the last part of a task ARN.
func taskID(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
