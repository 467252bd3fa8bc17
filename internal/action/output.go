package action

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The names of the action's outputs, in the order they are written.
const (
	outTaskDefinitionARN         = "task-definition-arn"
	outPreviousTaskDefinitionARN = "previous-task-definition-arn"
	outDeploymentID              = "deployment-id"
	outCodeDeployDeploymentID    = "codedeploy-deployment-id"
	outServiceDeploymentARN      = "service-deployment-arn"
	outPreDeployTaskARN          = "pre-deploy-task-arn"
	outRunTaskARN                = "run-task-arn"
	outStatus                    = "status"
	outReason                    = "reason"
	outResults                   = "results"
	outTaskDefinition            = "task-definition" // the rendered revision's file (deploy.go, writeRendered)
)

// outputNames lists every output the code writes, in the order written.
// TestActionOutputs (action_test.go) checks that action.yml declares
// exactly these.
//
// To add an output: a name constant above; its name here; the same
// output in action.yml; its value in resultOutputs (from the
// deployer.Result; report.OneLine for text); a row in the README's
// outputs table. Values are masked like every other line.
func outputNames() []string {
	return []string{outTaskDefinitionARN, outPreviousTaskDefinitionARN, outDeploymentID, outCodeDeployDeploymentID, outServiceDeploymentARN, outPreDeployTaskARN, outRunTaskARN, outStatus, outReason, outResults, outTaskDefinition}
}

// The keys saved with GITHUB_STATE for the post step (read back as
// STATE_<key>).
const (
	stateStarted    = "started"    // "true" as soon as the main step runs
	stateCheckpoint = "checkpoint" // JSON of the last deployer.Checkpoint
	stateDone       = "done"       // "true" once the main step has a result and owes the post step nothing
)

// console writes everything a run shows: log lines, groups, annotations,
// outputs, the job summary and the saved state. In GitHub mode it speaks
// workflow commands on stdout and writes GitHub's files; in CLI mode it
// logs plain lines to stderr and prints outputs as name=value on stdout.
//
// Every line, annotation, output and the job summary pass through a
// redactor that replaces the registered credentials with "***", whatever
// their length (taskdef.Redactor: short ones where they stand as a whole
// word). GitHub masks those of taskdef.MinSecretLen bytes or more too,
// once ::add-mask:: was issued; the CLI has only the redactor.
type console struct {
	mu      sync.Mutex
	gh      *githubactions.Action // nil in CLI mode
	getenv  func(string) string
	raw     io.Writer // stdout, unredacted: only for ::add-mask::
	log     *redactWriter
	out     *redactWriter // CLI outputs (stdout)
	inGroup bool
	secrets []string        // the credentials registered by mask, in order
	masked  map[string]bool // the same, as a set
	// summaryFile is where the CLI writes the job summary (--summary);
	// summaryAppend appends to it instead of replacing it.
	summaryFile   string
	summaryAppend bool
	// owed is set while the last checkpoint saved says the post step must
	// act (a rollback the run could not issue or see through); finish
	// then does not record the run as done over it.
	owed bool
}

// newConsole returns a console for GitHub mode when github is true.
func newConsole(github bool, getenv func(string) string, stdout, stderr io.Writer) *console {
	c := &console{getenv: getenv, raw: stdout}
	if github {
		c.log = &redactWriter{w: stdout}
		c.out = c.log
		c.gh = githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(c.log))
	} else {
		c.log = &redactWriter{w: stderr}
		c.out = &redactWriter{w: stdout}
	}
	return c
}

// mask registers credentials that must never be printed (the deployer's
// EventSecrets: taskdef.MaskValues), of any length: every one is redacted
// from what the console writes. In GitHub mode those of
// taskdef.MinSecretLen bytes or more are also announced with
// ::add-mask:: (multi-line values line by line, as the runner masks per
// line); a shorter one is not, since the runner would blank it out inside
// every word that contains it ("abc" in "abcdef"), so the redactor alone
// keeps it out of what we print (see docs/task-definitions.md).
func (c *console) mask(values []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.masked == nil {
		c.masked = map[string]bool{}
	}
	for _, v := range values {
		for _, part := range append([]string{v}, strings.Split(v, "\n")...) {
			part = strings.TrimSpace(strings.TrimSuffix(part, "\r"))
			if part == "" || c.masked[part] {
				continue
			}
			c.masked[part] = true
			if c.gh != nil && len(part) >= taskdef.MinSecretLen {
				fmt.Fprintf(c.raw, "::add-mask::%s\n", escapeCommandData(part))
			}
			c.secrets = append(c.secrets, part)
		}
	}
	r := taskdef.NewRedactor(c.secrets)
	c.log.setRedactor(r)
	c.out.setRedactor(r)
}

// redact applies the registered masks to s.
func (c *console) redact(s string) string { return c.log.redact(s) }

// escapeCommandData escapes a workflow command's message as the toolkit does.
func escapeCommandData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// infof logs a plain line.
func (c *console) infof(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh != nil {
		c.gh.Infof(format, args...)
		return
	}
	fmt.Fprintf(c.log, format+"\n", args...)
}

// warnf logs a warning (an annotation in GitHub mode).
func (c *console) warnf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh != nil {
		c.gh.Warningf(format, args...)
		return
	}
	fmt.Fprintf(c.log, "warning: "+format+"\n", args...)
}

// errorf logs an error (a plain ::error:: annotation in GitHub mode).
func (c *console) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh != nil {
		c.gh.Errorf(format, args...)
		return
	}
	fmt.Fprintf(c.log, "error: "+format+"\n", args...)
}

// noticef logs a notice (an annotation in GitHub mode).
func (c *console) noticef(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh != nil {
		c.gh.Noticef(format, args...)
		return
	}
	fmt.Fprintf(c.log, format+"\n", args...)
}

// group starts a log group (a heading in CLI mode), ending any open one.
func (c *console) group(title string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endGroupLocked()
	if c.gh != nil {
		c.gh.Group(title)
		c.inGroup = true
		return
	}
	fmt.Fprintf(c.log, "\n== %s ==\n", title)
}

// endGroup ends the open log group, if any.
func (c *console) endGroup() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endGroupLocked()
}

func (c *console) endGroupLocked() {
	if c.gh != nil && c.inGroup {
		c.gh.EndGroup()
	}
	c.inGroup = false
}

// stopCommands stops the runner from processing workflow commands until
// the returned function is called (GitHub mode; a no-op in CLI mode).
func (c *console) stopCommands() (resume func()) {
	if c.gh == nil {
		return func() {}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return func() {}
	}
	token := hex.EncodeToString(b[:])
	c.mu.Lock()
	fmt.Fprintf(c.raw, "::stop-commands::%s\n", token)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		fmt.Fprintf(c.raw, "::%s::\n", token)
		c.mu.Unlock()
	}
}

// report turns one deployer event into log lines; it is the deployer's
// reporter. It prints what the deployer reports, when it reports it: a
// progress line when the counts changed (or a heartbeat), each new
// service event as it arrives. Checkpoints are saved for the post step
// (GitHub mode only).
func (c *console) report(ev deployer.Event) {
	if ev.Service != "" && ev.Message != "" && ev.Kind != deployer.EventServiceEvent {
		// Several services in one step: each line names its service (ECS's
		// events name theirs), and a service's phase is a line, not a
		// group (the services' phases interleave).
		ev.Message = "[" + ev.Service + "] " + ev.Message
		if ev.Kind == deployer.EventPhase {
			ev.Kind = deployer.EventInfo
		}
	}
	switch ev.Kind {
	case deployer.EventPhase:
		c.group(ev.Message)
	case deployer.EventProgress:
		c.infof("%s", report.Progress(ev))
	case deployer.EventServiceEvent:
		c.infof("%s", report.ServiceEvent(ev))
	case deployer.EventWarning:
		c.warnf("%s", ev.Message)
	case deployer.EventNotice:
		c.noticef("%s", ev.Message)
	case deployer.EventCheckpoint:
		if ev.State != nil {
			c.saveCheckpoint(*ev.State)
		}
	case deployer.EventSecrets:
		c.mask(ev.Secrets)
	default:
		c.infof("%s", ev.Message)
	}
}

// saveCheckpoint saves the state the post step needs. It does nothing
// outside GitHub or when the runner gives no GITHUB_STATE file.
func (c *console) saveCheckpoint(cp deployer.Checkpoint) {
	c.mu.Lock()
	c.owed = cp.Phase.PostStepMustAct()
	c.mu.Unlock()
	b, err := json.Marshal(cp)
	if err != nil {
		return
	}
	c.saveState(stateCheckpoint, string(b))
}

// saveState saves one key for the post step (GitHub mode with a
// GITHUB_STATE file only); a failure to write it is a warning.
func (c *console) saveState(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh == nil || c.getenv("GITHUB_STATE") == "" {
		return
	}
	if err := fileCommand(func() { c.gh.SaveState(k, v) }); err != nil {
		c.gh.Warningf("could not save state for the post step: %v", err)
	}
}

// fileCommand runs a go-githubactions file command, which panics when it
// cannot write its file, and returns that failure as an error.
func fileCommand(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// outputs writes the step outputs: to GITHUB_OUTPUT in GitHub mode, as
// name=value lines on stdout in CLI mode (newlines in a value are escaped
// as %0A there).
func (c *console) outputs(kv map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range outputNames() {
		v, ok := kv[name]
		if !ok {
			continue
		}
		// GitHub's output file is written as it is: redact it here.
		v = c.log.redact(v)
		if c.gh == nil {
			fmt.Fprintf(c.out, "%s=%s\n", name, strings.ReplaceAll(v, "\n", "%0A"))
			continue
		}
		if c.getenv("GITHUB_OUTPUT") == "" {
			// A runner without output files: the deprecated command.
			c.gh.IssueCommand(&githubactions.Command{Name: "set-output", Message: v, Properties: githubactions.CommandProperties{"name": name}})
			continue
		}
		if err := fileCommand(func() { c.gh.SetOutput(name, v) }); err != nil {
			c.gh.Warningf("could not write output %s: %v", name, err)
		}
	}
}

// summary appends Markdown to the job summary (GITHUB_STEP_SUMMARY) in
// GitHub mode, and writes it to the --summary file in CLI mode.
func (c *console) summary(md string) {
	md = c.redact(md)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gh != nil && c.getenv("GITHUB_STEP_SUMMARY") != "" {
		if err := fileCommand(func() { c.gh.AddStepSummary(md) }); err != nil {
			c.gh.Warningf("could not write the job summary: %v", err)
		}
	}
	if c.summaryFile != "" {
		if err := writeSummaryFile(c.summaryFile, md, c.summaryAppend); err != nil {
			fmt.Fprintf(c.log, "warning: could not write the summary to %s: %v\n", c.summaryFile, err)
		}
	}
}

// writeSummaryFile writes (or appends) the summary to a file of the CLI.
func writeSummaryFile(path, md string, appendTo bool) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(md + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resultOutputs are the step outputs for a result.
func resultOutputs(res deployer.Result) map[string]string {
	return map[string]string{
		outTaskDefinitionARN:         res.TaskDefinitionARN,
		outPreviousTaskDefinitionARN: res.PreviousTaskDefinitionARN,
		outDeploymentID:              res.DeploymentID,
		outCodeDeployDeploymentID:    codeDeployDeploymentID(res),
		outServiceDeploymentARN:      res.ServiceDeploymentARN,
		outPreDeployTaskARN:          res.PreDeployTaskARN,
		outRunTaskARN:                runTaskARN(res),
		outStatus:                    string(res.Status),
		outReason:                    report.OneLine(res.Reason),
		outResults:                   resultsJSON(res),
	}
}

// runTaskARN is the run-task-arn output as the deploy action writes it:
// the JSON array of the tasks run-task started (one here; [] when RunTask
// started none), and empty without run-task.
func runTaskARN(res deployer.Result) string {
	if res.PreDeployMode != deployer.PreDeployRunTask {
		return ""
	}
	arns := []string{}
	if res.PreDeployTaskARN != "" {
		arns = append(arns, res.PreDeployTaskARN)
	}
	b, _ := json.Marshal(arns)
	return string(b)
}

// codeDeployDeploymentID is the CodeDeploy deployment of a CODE_DEPLOY
// service (the first one of a multi-service step), as the official
// action's codedeploy-deployment-id output names it.
func codeDeployDeploymentID(res deployer.Result) string {
	if res.Strategy == deployer.StrategyCodeDeploy {
		return res.DeploymentID
	}
	for _, s := range res.Services {
		if s.Strategy == deployer.StrategyCodeDeploy {
			return s.DeploymentID
		}
	}
	return ""
}

// serviceResult is one entry of the results output.
type serviceResult struct {
	Cluster                   string `json:"cluster"`
	Service                   string `json:"service"`
	Status                    string `json:"status"`
	Reason                    string `json:"reason"`
	TaskDefinitionARN         string `json:"task-definition-arn"`
	PreviousTaskDefinitionARN string `json:"previous-task-definition-arn"`
	DeploymentID              string `json:"deployment-id"`
	// EarlySuccess: the deployment succeeded under ECS's early success
	// criteria with this share of the desired count running (the rest
	// scaling outside the deployment; docs/strategy-rolling.md).
	EarlySuccess *deployer.EarlySuccess `json:"early-success,omitempty"`
}

// resultsJSON is the results output: one object per service, in the
// order given (one for a single service).
func resultsJSON(res deployer.Result) string {
	services := res.Services
	if len(services) == 0 {
		services = []deployer.Result{res}
	}
	out := make([]serviceResult, 0, len(services))
	for _, s := range services {
		out = append(out, serviceResult{Cluster: s.Cluster, Service: s.Service, Status: string(s.Status), Reason: report.OneLine(s.Reason),
			TaskDefinitionARN: s.TaskDefinitionARN, PreviousTaskDefinitionARN: s.PreviousTaskDefinitionARN, DeploymentID: s.DeploymentID,
			EarlySuccess: s.EarlySuccess})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "[]"
	}
	return string(b)
}

// finish reports a deployment's result: the causes in a log group,
// outputs, an annotation (::error:: with the reason for every status but
// succeeded and dry-run, a ::notice:: with the final state otherwise), the
// job summary, and the "done" state for the post step, unless the last
// checkpoint leaves the post step a rollback to finish. It returns the
// exit code.
func (c *console) finish(res deployer.Result) int {
	c.endGroup()
	if len(res.Causes) > 0 || len(res.Logs) > 0 {
		c.group("Why it failed")
		// Log lines are the application's words: a line starting with
		// "::" must not be taken for a workflow command.
		resume := c.stopCommands()
		for _, l := range report.CauseLines(res) {
			c.infof("%s", l)
		}
		resume()
		c.endGroup()
	}
	if s := report.ManualRollback(res, true); s != "" {
		c.infof("%s", s)
	}
	c.outputs(resultOutputs(res))
	if res.Status.OK() {
		c.noticef("%s", report.Headline(res))
	} else {
		c.errorf("%s", report.Headline(res))
	}
	c.summary(report.Summary(res))
	c.mu.Lock()
	owed := c.owed
	c.mu.Unlock()
	if !owed {
		c.saveState(stateDone, "true")
	}
	if res.Status.OK() {
		return exitOK
	}
	return exitFail
}

// redactWriter replaces secret values in everything written through it.
// Callers write whole lines, so a secret is never split across writes.
type redactWriter struct {
	mu sync.Mutex
	w  io.Writer
	r  *taskdef.Redactor
}

func (w *redactWriter) setRedactor(r *taskdef.Redactor) {
	w.mu.Lock()
	w.r = r
	w.mu.Unlock()
}

func (w *redactWriter) redact(s string) string {
	w.mu.Lock()
	r := w.r
	w.mu.Unlock()
	return r.Redact(s)
}

func (w *redactWriter) Write(p []byte) (int, error) {
	s := w.redact(string(p))
	if _, err := io.WriteString(w.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// badInput reports invalid inputs: one error (annotation) per problem,
// status "failed" with the reason in the outputs, and exit code 1. Nothing
// was sent to AWS.
func (c *console) badInput(err error) int {
	var msgs []string
	if ies := inputErrors(err); len(ies) > 0 {
		for _, ie := range ies {
			msgs = append(msgs, ie.Error())
		}
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		c.errorf("%s", m)
	}
	reason := "invalid input: " + strings.Join(msgs, "; ")
	c.outputs(map[string]string{outStatus: string(deployer.StatusFailed), outReason: report.OneLine(reason)})
	c.summary(report.InvalidInputSummary(msgs))
	return exitFail
}
