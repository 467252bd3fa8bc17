package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Caps that keep the job summary far below GitHub's 1 MiB limit.
const (
	maxSummaryBytes  = 128 << 10 // the whole summary
	maxCauseRows     = 20
	maxEventRows     = 30
	maxLogExcerpts   = 10
	maxLogLinesShown = 50 // per excerpt: the newest lines
	maxLineChars     = 300
	maxCellChars     = 500
)

// Summary renders a deployment's result as the job summary
// (GitHub-flavoured Markdown). It is a pure function of res. The first line
// is the headline: the outcome and the reason. Sections follow in order of
// importance; any that would push the summary past maxSummaryBytes is
// replaced by a note, so the summary is always complete Markdown.
func Summary(res deployer.Result) string {
	if many(res) {
		return join(summaryMany(res))
	}
	return join([]string{
		summaryHeadline(res),
		summaryFacts(res),
		summaryImages(res),
		summaryVerification(res), // verify.go
		summaryManualRollback(res),
		summaryPlan(res),
		summaryTimeline(res),
		summaryAlarms(res),
		summaryCauses(res),
		summaryEvents(res),
		summaryLogs(res),
	})
}

// join puts the sections together within maxSummaryBytes.
func join(sections []string) string {
	var b strings.Builder
	for _, s := range sections {
		if s == "" {
			continue
		}
		if b.Len()+len(s) > maxSummaryBytes {
			title, _, _ := strings.Cut(s, "\n")
			fmt.Fprintf(&b, "_%s omitted: the summary would exceed %d KiB; see the step log._\n\n", strings.TrimLeft(title, "# "), maxSummaryBytes>>10)
			continue
		}
		b.WriteString(s)
	}
	return b.String()
}

// StatusTitle is the outcome in words, with a sign ("✅ Deployed"): the
// start of the summary's headline.
func StatusTitle(s deployer.Status) string {
	switch s {
	case deployer.StatusSucceeded:
		return "✅ Deployed"
	case deployer.StatusRolledBack:
		return "↩️ Rolled back"
	case deployer.StatusFailed:
		return "❌ Failed"
	case deployer.StatusRollbackFailed:
		return "🚨 Rollback failed"
	case deployer.StatusRollbackIssued:
		return "↪️ Rollback issued, not seen settled"
	case deployer.StatusCancelled:
		return "⏹️ Cancelled"
	case deployer.StatusDryRun:
		return "📝 Dry run"
	case deployer.StatusPaused:
		return "⏸️ Paused"
	case deployer.StatusRegistered:
		return "🗂️ Registered"
	case "":
		return "❔ Unknown outcome"
	}
	return "❔ " + string(s)
}

// The summary* functions each render one section of the summary, or ""
// when the result has nothing for it.

func summaryHeadline(res deployer.Result) string {
	h := "## " + StatusTitle(res.Status)
	if r := OneLine(res.Reason); r != "" {
		h += ": " + escapeMarkdownLine(Truncate(r, 1000))
	}
	return h + "\n\n"
}

func summaryFacts(res deployer.Result) string {
	var rows [][2]string
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, [2]string{k, v})
		}
	}
	add("Service", code(res.Service))
	add("Cluster", code(res.Cluster))
	add("Status", code(string(res.Status)))
	add("Strategy", code(res.Strategy))
	add("Deployment", code(res.DeploymentID))
	add("Service deployment", code(res.ServiceDeploymentARN))
	add("Rollback deployment", code(res.RollbackDeploymentID))
	if res.Promoted {
		add("Promoted revision", promotedCell(res))
	} else {
		add("New revision", code(taskdef.ShortRevision(res.TaskDefinitionARN)))
	}
	add("Previous revision", code(taskdef.ShortRevision(res.PreviousTaskDefinitionARN)))
	if res.PreDeployMode == deployer.PreDeployRunTask {
		add("One-off task (run-task)", code(res.PreDeployTaskARN))
	} else {
		add("Pre-deploy task", code(res.PreDeployTaskARN))
	}
	if res.Last != (deployer.Counts{}) {
		add("Last seen", cell(res.Last.String()))
	}
	if !res.StartedAt.IsZero() && !res.FinishedAt.IsZero() {
		add("Duration", formatDuration(res.FinishedAt.Sub(res.StartedAt)))
	}
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		tableRow(&b, r[0], r[1])
	}
	b.WriteString("\n")
	return b.String()
}

// promotedCell names a promoted revision, and says so when its family is
// not the one the service ran.
func promotedCell(res deployer.Result) string {
	c := code(taskdef.ShortRevision(res.TaskDefinitionARN)) + " (existing revision, not registered by this run"
	if fam, was := taskdef.Family(res.TaskDefinitionARN), taskdef.Family(res.PreviousTaskDefinitionARN); was != "" && fam != was {
		c += "; family " + code(fam) + ", the service ran " + code(was)
	}
	return c + ")"
}

func summaryImages(res deployer.Result) string {
	if len(res.Images) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Images\n\n")
	tableHeader(&b, "Container", "Old image", "New image")
	for _, im := range res.Images {
		newImage := code(im.New)
		if im.New == im.Old {
			newImage = "unchanged"
		}
		tableRow(&b, cell(im.Container), orDashCell(code(im.Old)), orDashCell(newImage))
	}
	b.WriteString("\n")
	return b.String()
}

func summaryManualRollback(res deployer.Result) string {
	if res.ManualRollback == "" {
		return ""
	}
	title := "### Finish the rollback by hand"
	if res.Status != deployer.StatusRollbackFailed {
		title = "### Roll back by hand"
	}
	return title + "\n\n" + fence(res.ManualRollback, "sh") + "\n"
}

func summaryPlan(res deployer.Result) string {
	if len(res.Plan) == 0 || res.Status != deployer.StatusDryRun {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Plan (nothing was changed)\n\n")
	for i, step := range res.Plan {
		fmt.Fprintf(&b, "%d. %s\n", i+1, escapeMarkdownLine(Truncate(OneLine(step), maxCellChars)))
	}
	b.WriteString("\n")
	return b.String()
}

func summaryTimeline(res deployer.Result) string {
	if len(res.Timeline) == 0 {
		return ""
	}
	start := res.StartedAt
	if start.IsZero() {
		start = res.Timeline[0].At
	}
	var b strings.Builder
	b.WriteString("### Timeline\n\n")
	tableHeader(&b, "Milestone", "Time (UTC)", "Since start", "Since previous")
	prev := start
	for _, m := range res.Timeline {
		tableRow(&b, cell(m.Name), clock(m.At), formatDuration(m.At.Sub(start)), formatDuration(m.At.Sub(prev)))
		prev = m.At
	}
	b.WriteString("\n")
	return b.String()
}

// summaryAlarms lists the watched alarms (and those behind ECS's own
// alarm rollback): the state at start, each change during the run with
// its time and CloudWatch's reason.
func summaryAlarms(res deployer.Result) string {
	if len(res.Alarms) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Alarms\n\n")
	tableHeader(&b, "Alarm", "At start", "Changes during the run (UTC)")
	for _, a := range res.Alarms {
		name := code(a.Name)
		if a.Composite {
			name += " (composite)"
		}
		switch {
		case a.Triggered && a.ByECS:
			name += " — triggered ECS's rollback"
		case a.Triggered:
			name += " — failed the deployment"
		}
		start := orDashCell(cell(string(a.Start)))
		if a.StartReason != "" {
			start += "<br>" + cell(a.StartReason)
		}
		changes := make([]string, 0, len(a.Changes))
		for _, c := range a.Changes {
			changes = append(changes, fmt.Sprintf("%s → **%s**: %s", clock(c.At), cell(string(c.State)), cell(c.Reason)))
		}
		ch := strings.Join(changes, "<br>")
		if ch == "" && !a.ByECS {
			ch = "no change"
		}
		tableRow(&b, name, start, orDashCell(ch))
	}
	b.WriteString("\n")
	return b.String()
}

func summaryCauses(res deployer.Result) string {
	if len(res.Causes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Why tasks stopped\n\n")
	tableHeader(&b, "Tasks", "Container", "Exit code", "Stop code", "Reason", "Example task")
	causes, hidden := first(res.Causes, maxCauseRows)
	for _, c := range causes {
		exit := "–"
		if c.ExitCode != nil {
			exit = fmt.Sprint(*c.ExitCode)
		}
		var reasons []string
		for _, r := range []string{c.StoppedReason, c.ContainerReason} {
			if r != "" {
				reasons = append(reasons, r)
			}
		}
		tableRow(&b, fmt.Sprint(c.Count), orDashCell(cell(c.Container)), exit,
			orDashCell(cell(c.StopCode)), orDashCell(cell(strings.Join(reasons, " — "))), orDashCell(code(c.ExampleTaskID)))
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "\n_%d more causes not shown._\n", hidden)
	}
	b.WriteString("\n")
	return b.String()
}

func summaryEvents(res deployer.Result) string {
	if len(res.Events) == 0 {
		return ""
	}
	events, hidden := last(res.Events, maxEventRows)
	var b strings.Builder
	b.WriteString("### Service events\n\n")
	if hidden > 0 {
		fmt.Fprintf(&b, "_%d earlier events not shown._\n\n", hidden)
	}
	tableHeader(&b, "Time (UTC)", "Message")
	for _, ev := range events {
		tableRow(&b, clock(ev.At), cell(ev.Message))
	}
	b.WriteString("\n")
	return b.String()
}

func summaryLogs(res deployer.Result) string {
	if len(res.Logs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("### Logs of failing containers\n\n")
	logs, hidden := first(res.Logs, maxLogExcerpts)
	for _, l := range logs {
		title := "container " + l.Container
		if l.TaskID != "" {
			title += " in task " + l.TaskID
		}
		lines, _ := last(l.Lines, maxLogLinesShown)
		if len(lines) > 0 {
			title += fmt.Sprintf(" (last %d lines)", len(lines))
		}
		fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", escapeHTML(title))
		if l.Note != "" {
			fmt.Fprintf(&b, "_%s_\n\n", escapeMarkdownLine(OneLine(l.Note)))
		}
		if l.Stream != "" {
			fmt.Fprintf(&b, "Log stream: %s\n\n", code(l.Stream))
		}
		if len(lines) > 0 {
			shown := make([]string, len(lines))
			for i, line := range lines {
				shown[i] = Truncate(strings.TrimRight(line, "\r\n"), maxLineChars)
			}
			b.WriteString(fence(strings.Join(shown, "\n"), "text"))
			b.WriteString("\n")
		}
		b.WriteString("</details>\n\n")
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "_%d more log excerpts in the step log._\n\n", hidden)
	}
	return b.String()
}

// first returns at most the first n items and how many it left out.
func first[T any](items []T, n int) ([]T, int) {
	if len(items) > n {
		return items[:n], len(items) - n
	}
	return items, 0
}

// last returns at most the last n items and how many it left out.
func last[T any](items []T, n int) ([]T, int) {
	if len(items) > n {
		return items[len(items)-n:], len(items) - n
	}
	return items, 0
}

// tableHeader writes the header of a Markdown table with the columns cols.
func tableHeader(b *strings.Builder, cols ...string) {
	tableRow(b, cols...)
	b.WriteString("|" + strings.Repeat("---|", len(cols)) + "\n")
}

// tableRow writes one row of a Markdown table; the cells are already safe
// (cell, code, orDashCell).
func tableRow(b *strings.Builder, cells ...string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// clock is the time of day of t in UTC, as the summary's tables show it.
func clock(t time.Time) string {
	return t.UTC().Format("15:04:05")
}

// cell makes text safe inside a Markdown table cell: one line, pipes
// escaped, HTML special characters escaped, capped in length.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = Truncate(strings.TrimSpace(s), maxCellChars)
	s = escapeHTML(s)
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", "<br>")
	s = strings.ReplaceAll(s, "\r", "")
	return s
}

// code formats s as inline code, safe in a table cell; "" stays "".
func code(s string) string {
	if s == "" {
		return ""
	}
	s = Truncate(OneLine(s), maxCellChars)
	s = strings.ReplaceAll(s, "|", "\\|")
	ticks := "`"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return ticks + pad + s + pad + ticks
}

func orDashCell(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// fence wraps text in a fenced code block longer than any backtick run in it.
func fence(text, lang string) string {
	ticks := "```"
	for strings.Contains(text, ticks) {
		ticks += "`"
	}
	return ticks + lang + "\n" + text + "\n" + ticks + "\n"
}

// escapeHTML escapes the characters GitHub would take for HTML.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escapeMarkdownLine makes text safe as one line of Markdown prose.
func escapeMarkdownLine(s string) string {
	return escapeHTML(OneLine(s))
}

// formatDuration prints a duration for people: 2m13s, 850ms, 0s.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
