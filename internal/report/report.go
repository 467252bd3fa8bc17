// Package report is everything people read about a deployment: the
// progress lines of the log, the causes of a failure, the one-line
// headline, the job summary (Markdown) and the summary of invalid inputs.
//
// It is pure: every function turns deployer values into text and writes
// nothing. Where the text goes (workflow commands, files, masking) is the
// console's business, in package main. Task counts are formatted by
// deployer.Counts.String and revisions by taskdef.ShortRevision, here and
// everywhere else.
package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Progress is the log line of one progress event: the deployer's message,
// or the counts when it gave none.
func Progress(ev deployer.Event) string {
	if ev.Message != "" || ev.Counts == nil {
		return ev.Message
	}
	return "deployment: " + ev.Counts.String()
}

// ServiceEvent is the log line of a service event ECS wrote while we
// watched: its text on one line, marked as ECS's words (which also keeps
// a message from being read as a workflow command).
func ServiceEvent(ev deployer.Event) string {
	msg := ev.Message
	if msg == "" && ev.ServiceEvent != nil {
		msg = ev.ServiceEvent.Message
	}
	return "ECS: " + OneLine(msg)
}

// Headline is the one line that says how a run ended: for a run that
// passed, what was deployed where (or that a dry run changed nothing); for
// any other, the reason.
func Headline(res deployer.Result) string {
	if !res.Status.OK() {
		return OneLine(res.Reason)
	}
	if res.Status == deployer.StatusPaused {
		return "Paused: " + OneLine(res.Reason)
	}
	if res.Status == deployer.StatusRegistered || (res.Service == "" && !many(res)) {
		return OneLine(res.Reason) // register only: no service to name
	}
	if many(res) {
		if res.Status == deployer.StatusDryRun {
			return fmt.Sprintf("Dry run for %d services (%s): nothing changed", len(res.Services), res.Service)
		}
		parts := make([]string, 0, len(res.Services))
		for _, s := range res.Services {
			parts = append(parts, fmt.Sprintf("%s (%s)", s.Service, taskdef.ShortRevision(s.TaskDefinitionARN)))
		}
		return fmt.Sprintf("Deployed to %d services: %s", len(res.Services), strings.Join(parts, ", "))
	}
	if res.Status == deployer.StatusDryRun {
		return fmt.Sprintf("Dry run for service %s in cluster %s: nothing changed. %s", res.Service, res.Cluster, res.Reason)
	}
	s := fmt.Sprintf("Deployed %s to service %s in cluster %s", taskdef.ShortRevision(res.TaskDefinitionARN), res.Service, res.Cluster)
	if res.Reason != "" {
		s += ": " + OneLine(res.Reason)
	} else if res.DeploymentID != "" {
		s += " (deployment " + res.DeploymentID + ")"
	}
	return s
}

// ManualRollback is the log text giving the command to roll back by hand,
// or "" when the result has none. finish says whether a rollback was
// started (and is to be finished) rather than left to the user.
func ManualRollback(res deployer.Result, finish bool) string {
	if res.ManualRollback == "" {
		return ""
	}
	if finish {
		return "To finish the rollback by hand:\n  " + res.ManualRollback
	}
	return "To roll back by hand:\n  " + res.ManualRollback
}

// CauseLines is the diagnosis in the log: one line per cause, then the
// newest lines of each failing container's log, indented.
func CauseLines(res deployer.Result) []string {
	if many(res) {
		return causeLinesMany(res)
	}
	var out []string
	for _, c := range res.Causes {
		out = append(out, "- "+CauseText(c))
	}
	for _, l := range res.Logs {
		head := fmt.Sprintf("last log lines of container %s in task %s:", l.Container, l.TaskID)
		if l.Note != "" {
			head = fmt.Sprintf("logs of container %s in task %s: %s", l.Container, l.TaskID, l.Note)
		}
		out = append(out, head)
		lines, _ := last(l.Lines, maxLogLinesShown)
		for _, line := range lines {
			out = append(out, "    "+line)
		}
	}
	return out
}

// CauseText describes one cause in a sentence.
func CauseText(c deployer.Cause) string {
	var parts []string
	n := fmt.Sprintf("%d task", c.Count)
	if c.Count != 1 {
		n += "s"
	}
	parts = append(parts, n)
	if c.Container != "" {
		parts = append(parts, "container "+c.Container)
	}
	if c.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("exit code %d", *c.ExitCode))
	}
	if c.StopCode != "" {
		parts = append(parts, c.StopCode)
	}
	if c.StoppedReason != "" {
		parts = append(parts, c.StoppedReason)
	}
	if c.ContainerReason != "" {
		parts = append(parts, c.ContainerReason)
	}
	if c.ExampleTaskID != "" {
		parts = append(parts, "e.g. task "+c.ExampleTaskID)
	}
	return strings.Join(parts, ", ")
}

// InvalidInputSummary is the job summary of a run stopped by invalid
// inputs: one bullet per problem; nothing was changed.
func InvalidInputSummary(problems []string) string {
	var b strings.Builder
	b.WriteString("### ❌ ecs-rollout: invalid input, nothing was changed\n\n")
	for _, m := range problems {
		b.WriteString("- " + escapeMarkdownLine(m) + "\n")
	}
	return b.String()
}

// OneLine folds a text onto one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Truncate shortens s to at most n bytes and an ellipsis, for messages
// that quote what a user or ECS gave. It never cuts a character in two.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
