package taskdef

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Render is what the inputs of aws-actions/amazon-ecs-render-task-definition
// (v1.9) change in a task definition, applied by ApplyRender. The zero
// value changes nothing; every member left empty leaves its part of the
// task definition exactly as it was.
type Render struct {
	// Containers are the containers the container-level members change
	// (container-name, comma-separated as the render action takes it);
	// none means the task definition's only container.
	Containers []string
	// Environment sets (or overwrites) and removes environment variables
	// (environment-variables: NAME=value, or -NAME to remove).
	Environment []Setting
	// EnvironmentFiles are S3 object ARNs that replace the container's
	// environmentFiles (env-files), as the render action replaces them:
	// the files of earlier releases are not kept.
	EnvironmentFiles []string
	// Secrets sets and removes secrets (secrets: NAME=valueFrom, -NAME).
	Secrets []Setting
	// DockerLabels sets and removes labels (docker-labels: key=value, -key).
	DockerLabels []Setting
	// LogDriver replaces logConfiguration.logDriver
	// (log-configuration-log-driver).
	LogDriver types.LogDriver
	// LogOptions sets and removes logConfiguration.options
	// (log-configuration-options: key=value, -key).
	LogOptions []Setting
	// Command replaces the container's command (command); nil leaves it.
	Command []string
	// TaskRoleArn and ExecutionRoleArn replace the task definition's roles
	// (task-role-arn, execution-role-arn).
	TaskRoleArn, ExecutionRoleArn string
	// Cpu and Memory replace the task-level size (cpu, memory), as ECS
	// takes them: "512", "1 vCPU", "2 GB".
	Cpu, Memory string
}

// Setting is one line of a NAME=value input: a value to set, or a name to
// remove (a line "-NAME").
type Setting struct {
	Name   string
	Value  string
	Remove bool
}

// containerLevel reports whether r changes anything inside a container.
func (r Render) containerLevel() bool {
	return len(r.Environment) > 0 || len(r.EnvironmentFiles) > 0 || len(r.Secrets) > 0 || len(r.DockerLabels) > 0 ||
		r.LogDriver != "" || len(r.LogOptions) > 0 || r.Command != nil
}

// Empty reports whether r changes nothing.
func (r Render) Empty() bool {
	return !r.containerLevel() && r.TaskRoleArn == "" && r.ExecutionRoleArn == "" && r.Cpu == "" && r.Memory == ""
}

// Inputs lists the action inputs r sets, in the order of action.yml (for
// messages such as "cannot be combined with revision").
func (r Render) Inputs() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(len(r.Environment) > 0, "environment-variables")
	add(len(r.EnvironmentFiles) > 0, "env-files")
	add(len(r.Secrets) > 0, "secrets")
	add(len(r.DockerLabels) > 0, "docker-labels")
	add(r.LogDriver != "", "log-configuration-log-driver")
	add(len(r.LogOptions) > 0, "log-configuration-options")
	add(r.Command != nil, "command")
	add(r.TaskRoleArn != "", "task-role-arn")
	add(r.ExecutionRoleArn != "", "execution-role-arn")
	add(r.Cpu != "", "cpu")
	add(r.Memory != "", "memory")
	return out
}

// ApplyRender changes in as r says, and nothing else: a variable, secret,
// label or option not named keeps its place and value; a new one is
// added at the end. All problems are checked first and reported at once
// (each naming its input), and in is then left unchanged: a container
// that is not in the task definition, no container-name with several
// containers, and a Fargate task size ECS does not offer.
func ApplyRender(in *ecs.RegisterTaskDefinitionInput, r Render) error {
	if in == nil {
		return errors.New("render: no task definition")
	}
	var errs []error
	var index []int
	if r.containerLevel() {
		names := ContainerNames(in)
		switch {
		case len(r.Containers) == 0 && len(names) == 1:
			index = []int{0}
		case len(r.Containers) == 0:
			errs = append(errs, fmt.Errorf("container-name: required by %s: task definition %s has %d containers (%s)",
				strings.Join(r.Inputs()[:1], ""), describeFamily(in), len(names), listNames(names)))
		}
		for _, c := range r.Containers {
			i := slices.Index(names, c)
			if i < 0 {
				errs = append(errs, fmt.Errorf("container-name: no container %q in task definition %s (containers: %s)", c, describeFamily(in), listNames(names)))
				continue
			}
			index = append(index, i)
		}
	}
	cpu, memory := cmp.Or(r.Cpu, aws.ToString(in.Cpu)), cmp.Or(r.Memory, aws.ToString(in.Memory))
	if (r.Cpu != "" || r.Memory != "") && slices.Contains(in.RequiresCompatibilities, types.CompatibilityFargate) {
		if err := fargateSize(cpu, memory, r.Cpu != ""); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, i := range index {
		applyContainer(&in.ContainerDefinitions[i], r)
	}
	if r.TaskRoleArn != "" {
		in.TaskRoleArn = aws.String(r.TaskRoleArn)
	}
	if r.ExecutionRoleArn != "" {
		in.ExecutionRoleArn = aws.String(r.ExecutionRoleArn)
	}
	if r.Cpu != "" {
		in.Cpu = aws.String(r.Cpu)
	}
	if r.Memory != "" {
		in.Memory = aws.String(r.Memory)
	}
	return nil
}

func applyContainer(c *types.ContainerDefinition, r Render) {
	c.Environment = applyNamed(c.Environment, r.Environment,
		func(kv types.KeyValuePair) *string { return kv.Name },
		func(kv *types.KeyValuePair, v *string) { kv.Value = v },
		func(name, value *string) types.KeyValuePair { return types.KeyValuePair{Name: name, Value: value} })
	if len(r.EnvironmentFiles) > 0 {
		c.EnvironmentFiles = make([]types.EnvironmentFile, 0, len(r.EnvironmentFiles))
		for _, arn := range r.EnvironmentFiles {
			c.EnvironmentFiles = append(c.EnvironmentFiles, types.EnvironmentFile{Type: types.EnvironmentFileTypeS3, Value: aws.String(arn)})
		}
	}
	c.Secrets = applyNamed(c.Secrets, r.Secrets,
		func(sec types.Secret) *string { return sec.Name },
		func(sec *types.Secret, v *string) { sec.ValueFrom = v },
		func(name, value *string) types.Secret { return types.Secret{Name: name, ValueFrom: value} })
	c.DockerLabels = applyMap(c.DockerLabels, r.DockerLabels)
	if r.LogDriver != "" || len(r.LogOptions) > 0 {
		if c.LogConfiguration == nil {
			c.LogConfiguration = &types.LogConfiguration{}
		}
		if r.LogDriver != "" {
			c.LogConfiguration.LogDriver = r.LogDriver
		}
		c.LogConfiguration.Options = applyMap(c.LogConfiguration.Options, r.LogOptions)
	}
	if r.Command != nil {
		c.Command = slices.Clone(r.Command)
	}
}

// applyNamed applies settings to a list of named entries (environment
// variables, secrets) in order: a setting overwrites the value of the
// entry with its name, appends a new entry when there is none, and with
// Remove deletes the entry (nothing when there is none).
func applyNamed[T any](list []T, settings []Setting, name func(T) *string, set func(e *T, value *string), newEntry func(name, value *string) T) []T {
	for _, s := range settings {
		i := slices.IndexFunc(list, func(e T) bool { return aws.ToString(name(e)) == s.Name })
		switch {
		case s.Remove && i >= 0:
			list = slices.Delete(list, i, i+1)
		case s.Remove:
		case i >= 0:
			set(&list[i], aws.String(s.Value))
		default:
			list = append(list, newEntry(aws.String(s.Name), aws.String(s.Value)))
		}
	}
	return list
}

func applyMap(m map[string]string, settings []Setting) map[string]string {
	for _, s := range settings {
		if s.Remove {
			delete(m, s.Name)
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		m[s.Name] = s.Value
	}
	return m
}

// ParseSettings parses a NAME=value input (environment-variables,
// secrets, docker-labels, log-configuration-options): one setting per
// line, blank lines and surrounding spaces ignored, the value everything
// after the first "=" (it may hold "=" and be empty), and a line "-NAME"
// removing NAME. A name set or removed twice is an error. Errors say
// which line and never quote a value (values may be secrets).
func ParseSettings(text string) ([]Setting, error) {
	var out []Setting
	var errs []error
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var s Setting
		name, value, ok := strings.Cut(line, "=")
		switch {
		case !ok && strings.HasPrefix(line, "-"):
			s = Setting{Name: strings.TrimSpace(line[1:]), Remove: true}
		case !ok:
			errs = append(errs, fmt.Errorf("line %d is not NAME=value (or -NAME to remove one)", n))
			continue
		default:
			s = Setting{Name: strings.TrimSpace(name), Value: value}
		}
		if s.Name == "" || strings.ContainsFunc(s.Name, unicode.IsSpace) {
			errs = append(errs, fmt.Errorf("line %d: the name before \"=\" is empty or has spaces", n))
			continue
		}
		if first, dup := seen[s.Name]; dup {
			errs = append(errs, fmt.Errorf("line %d: %s is already on line %d", n, strconv.Quote(s.Name), first))
			continue
		}
		seen[s.Name] = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("line %d: %w", n+1, err))
	}
	return out, errors.Join(errs...)
}

// s3ObjectARN is an S3 object ARN in any partition
// (arn:aws:s3:::bucket/key). The bucket is matched as S3 has ever named
// buckets, not only as it names new ones: before March 1, 2018 a bucket
// in US East (N. Virginia) could hold capitals and underscores and have
// up to 255 characters ("Legacy bucket naming rules",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
// and ECS takes the ARN of an object in such a bucket. The length is
// checked apart (maxBucket).
var s3ObjectARN = regexp.MustCompile(`^arn:aws[a-z-]*:s3:::([A-Za-z0-9._-]+)/.+$`)

// maxBucket is the longest bucket name S3 ever allowed (the legacy rules).
const maxBucket = 255

// ParseEnvFiles parses env-files: one S3 object ARN per line (an ARN
// given twice is kept once). ECS reads an environment file only with the
// .env extension
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html).
func ParseEnvFiles(text string) ([]string, error) {
	var out []string
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		m := s3ObjectARN.FindStringSubmatch(line)
		switch {
		case line == "":
		case m == nil || len(m[1]) < 3 || len(m[1]) > maxBucket:
			// The value is not quoted: an environment file's ARN is never
			// printed (docs/safety.md).
			errs = append(errs, fmt.Errorf("line %d is not an S3 object ARN (arn:aws:s3:::bucket/path/file.env)", i+1))
		case !strings.HasSuffix(line, ".env"):
			errs = append(errs, fmt.Errorf("line %d does not end in .env, which ECS requires of an environment file", i+1))
		case !slices.Contains(out, line):
			out = append(out, line)
		}
	}
	return out, errors.Join(errs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// roleARN is an IAM role ARN in any partition.
var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// CheckRoleARN checks task-role-arn and execution-role-arn: the ARN of an
// IAM role (arn:aws:iam::123456789012:role/name), as the render action
// requires.
func CheckRoleARN(s string) error {
	if !roleARN.MatchString(s) {
		return fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::123456789012:role/name)", truncate(s, 120))
	}
	return nil
}

// LogDrivers are the log drivers ECS accepts, as the SDK knows them.
func LogDrivers() []string {
	var out []string
	for _, d := range types.LogDriver("").Values() {
		out = append(out, string(d))
	}
	return out
}

// CheckLogDriver checks log-configuration-log-driver against the drivers
// ECS accepts (LogDrivers).
func CheckLogDriver(s string) error {
	if !slices.Contains(LogDrivers(), s) {
		return fmt.Errorf("%q is not a log driver ECS takes (%s)", truncate(s, 80), strings.Join(LogDrivers(), ", "))
	}
	return nil
}

// taskSize matches the task-level cpu and memory as ECS takes them: a
// number of CPU units or MiB, or "<n> vCPU" / "<n> GB"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html).
var (
	cpuSize    = regexp.MustCompile(`^(?:[1-9][0-9]{0,5}|[0-9]+(?:\.[0-9]+)? ?(?i:vcpu))$`)
	memorySize = regexp.MustCompile(`^(?:[1-9][0-9]{0,6}|[0-9]+(?:\.[0-9]+)? ?(?i:gb))$`)
)

// CheckTaskSize checks the cpu (isCPU) or memory input.
func CheckTaskSize(s string, isCPU bool) error {
	if isCPU && !cpuSize.MatchString(s) {
		return fmt.Errorf("%q is not a task size: CPU units (256, 1024) or vCPUs (\"1 vCPU\")", truncate(s, 40))
	}
	if !isCPU && !memorySize.MatchString(s) {
		return fmt.Errorf("%q is not a task size: MiB (512, 2048) or GB (\"2 GB\")", truncate(s, 40))
	}
	return nil
}

// units reads a task size as CPU units or MiB; ok is false for a form
// it does not know.
func units(s string, perUnit float64) (int, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	for _, suffix := range []string{"vcpu", "gb"} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, false
			}
			return int(f * perUnit), true
		}
	}
	return 0, false
}

// fargateSize checks a task size against the CPU and memory combinations
// Fargate offers
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size).
// The error names cpu when cpuGiven, memory otherwise.
func fargateSize(cpu, memory string, cpuGiven bool) error {
	c, ok1 := units(cpu, 1024)
	m, ok2 := units(memory, 1024)
	if !ok1 || !ok2 {
		return nil // a form ECS itself will judge
	}
	type rng struct{ lo, hi, step int }
	table := map[int][]rng{
		256:   {{512, 512, 1}, {1024, 2048, 1024}},
		512:   {{1024, 4096, 1024}},
		1024:  {{2048, 8192, 1024}},
		2048:  {{4096, 16384, 1024}},
		4096:  {{8192, 30720, 1024}},
		8192:  {{16384, 61440, 4096}},
		16384: {{32768, 122880, 8192}},
	}
	input := "memory"
	if cpuGiven {
		input = "cpu"
	}
	ranges, ok := table[c]
	if !ok {
		return fmt.Errorf("%s: Fargate offers no task with %d CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384)", input, c)
	}
	for _, r := range ranges {
		if m >= r.lo && m <= r.hi && (m-r.lo)%r.step == 0 {
			return nil
		}
	}
	var offers []string
	for _, r := range ranges {
		if r.lo == r.hi {
			offers = append(offers, strconv.Itoa(r.lo))
		} else {
			offers = append(offers, fmt.Sprintf("%d to %d in steps of %d", r.lo, r.hi, r.step))
		}
	}
	return fmt.Errorf("%s: Fargate offers no task with %d CPU units and %d MiB of memory (with %d CPU units: %s MiB)", input, c, m, c, strings.Join(offers, ", "))
}

// SplitCommand parses the command input: a JSON array of strings
// (["npm", "run", "start"]), or a string split on spaces where quoted
// arguments are kept whole ("sh -c 'echo hello world'" gives sh, -c and
// echo hello world). In double quotes a backslash escapes " and \.
// No shell is involved.
func SplitCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("is empty")
	}
	if strings.HasPrefix(s, "[") {
		var cmd []string
		if err := json.Unmarshal([]byte(s), &cmd); err != nil {
			return nil, fmt.Errorf("is not a JSON array of strings (%v)", err)
		}
		if len(cmd) == 0 {
			return nil, errors.New("is an empty JSON array")
		}
		return cmd, nil
	}
	var out []string
	var cur strings.Builder
	inArg := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case unicode.IsSpace(c):
			if inArg {
				out = append(out, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("has a %c quote that is not closed", quote)
	}
	if inArg {
		out = append(out, cur.String())
	}
	return out, nil
}
