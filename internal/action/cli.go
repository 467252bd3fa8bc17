package action

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X github.com/ecs-rollout/ecs-rollout/internal/action.version=v1.2.3" (.ci/build.sh).
var version = ""

// run dispatches to the subcommand named by args[0] (deploy by default).
func (e *cmdEnv) run(ctx context.Context, args []string) int {
	// GitHub runs the post step with the main step's entrypoint, inputs and
	// no arguments; only the post step sees the state the main step saved.
	// (STATE_* variables exist only in a post step.)
	if len(args) == 0 && e.getenv("STATE_"+stateStarted) != "" {
		return e.runPost(ctx, nil)
	}
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			fmt.Fprintln(e.stdout, "ecs-rollout", buildVersion())
			return exitOK
		case "post":
			return e.runPost(ctx, args[1:])
		case "demo":
			return e.runDemo(ctx, args[1:])
		case "sim":
			return e.runSim(ctx, args[1:])
		case "verify":
			// The preflight and the verify phase alone (docs/verify.md):
			// exit 0 when the revision would deploy, 1 otherwise.
			return e.runDeployWith(ctx, args[1:], map[string]string{inDryRun: "true", inVerify: "true"})
		case "deploy":
			args = args[1:]
		case "help":
			args = []string{"--help"}
		default:
			if !strings.HasPrefix(args[0], "-") {
				fmt.Fprintf(e.stderr, "ecs-rollout: unknown command %q (commands: deploy, verify, post, demo, sim, version; see --help)\n", args[0])
				return exitUsage
			}
		}
	}
	return e.runDeploy(ctx, args)
}

// github reports whether the process runs as a GitHub Action: inside a
// GitHub Actions job (GITHUB_ACTIONS=true), or given a runner's output file
// (GITHUB_OUTPUT) as a runner-like harness does.
func (e *cmdEnv) github() bool {
	return e.getenv("GITHUB_ACTIONS") == "true" || e.getenv("GITHUB_OUTPUT") != ""
}

// inputsInEnv reports whether any INPUT_<NAME> variable of the action is set.
func (e *cmdEnv) inputsInEnv() bool {
	for _, in := range inputSpecs() {
		if e.getenv(inputEnvName(in.Name)) != "" {
			return true
		}
	}
	return false
}

// buildVersion returns the version set at link time, or the module version
// Go recorded, or "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// inputFlag is the flag.Value of one input in CLI mode. It keeps the text
// as given, so flags and INPUT_* variables share one parser. Boolean
// inputs may be given without a value (--dry-run); a list input (images)
// may be repeated, one container=image per flag.
type inputFlag struct {
	kind  inputKind
	value string
	set   bool
}

func (f *inputFlag) String() string { return f.value }

func (f *inputFlag) Set(s string) error {
	if f.kind == kindList && f.set {
		f.value += "\n" + s
	} else {
		f.value = s
	}
	f.set = true
	return nil
}

// IsBoolFlag lets a boolean input be given as --name alone.
func (f *inputFlag) IsBoolFlag() bool { return f.kind == kindBool }

// defineInputFlags defines one flag per input on fs and returns the getter
// parseInputs reads them with (a flag left out reads as "", which means
// the default).
func defineInputFlags(fs *flag.FlagSet) func(string) string {
	flags := map[string]*inputFlag{}
	for _, in := range inputSpecs() {
		f := &inputFlag{kind: in.Kind}
		flags[in.Name] = f
		fs.Var(f, in.Name, in.Usage)
	}
	return func(name string) string {
		if f, ok := flags[name]; ok {
			return f.value
		}
		return ""
	}
}

// printUsage prints --help: the commands, every input flag with its
// default, the other flags and the exit codes.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	b.WriteString(`Usage: ecs-rollout [deploy] --service NAME [--image IMAGE] [flags]
       ecs-rollout verify --service NAME [--image IMAGE] [flags]
       ecs-rollout post | demo | sim | version

Deploys a new image to an Amazon ECS service with a rolling update, watches
its own deployment and rolls back to the previous revision when it fails.
AWS credentials, AWS_REGION and AWS_ENDPOINT_URL_ECS come from the
environment. Outputs are printed as name=value lines on stdout; the log goes
to stderr. verify runs only the checks made before any change (the
preflight, with the images, secrets, log groups and roles verified) and
changes nothing: exit 0 when the revision would deploy, 1 otherwise.

Inputs (the same names as the GitHub Action's inputs):
`)
	specs := inputSpecs()
	width := 0
	for _, in := range specs {
		width = max(width, len(in.Name))
	}
	for _, in := range specs {
		def := "(default: " + in.Default + ")"
		switch {
		case in.Required:
			def = "(required)"
		case in.Default == "":
			def = "(default: none)"
		}
		fmt.Fprintf(&b, "  --%-*s  %s %s\n", width, in.Name, in.Usage, def)
	}
	b.WriteString("\nOther flags:\n")
	isInput := map[string]bool{}
	for _, in := range specs {
		isInput[in.Name] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !isInput[f.Name] {
			fmt.Fprintf(&b, "  --%-*s  %s\n", width, f.Name, f.Usage)
		}
	})
	fmt.Fprintf(&b, "  --%-*s  %s\n", width, "help", "print this help")
	b.WriteString(`
Exit codes:
  0  the deployment succeeded (or the dry run passed)
  1  it did not (rolled back, failed, rollback failed, cancelled) or an input is invalid
  2  command-line usage error
`)
	io.WriteString(w, b.String())
}
