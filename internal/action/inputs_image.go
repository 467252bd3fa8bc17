package action

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The inputs that choose the revision deployed: new images for the running
// revision's containers, a task-definition file, or an existing revision.
const (
	inImage          = "image"
	inContainerName  = "container-name"
	inImages         = "images"
	inTaskDefinition = "task-definition"
	inRevision       = "revision"
)

// imageInputs parses image, container-name, images, task-definition and
// revision. It reads the task-definition file, if one is named, through
// opts.ReadFile; the values that must never be printed go to out.Secrets.
func (p *inputParser) imageInputs(out *parsed, opts parseOptions) {
	cfg := &out.Config
	cfg.Images = p.images()
	var err error
	cfg.TaskDefinition, out.Secrets, err = p.taskDefinition(opts)
	if err != nil {
		p.add(inTaskDefinition, err.Error())
	}
	p.checkContainersInFile(cfg)
	cfg.Revision = p.revision()
}

func (p *inputParser) images() []deployer.ContainerImage {
	image, name, list := p.raw(inImage), p.raw(inContainerName), p.raw(inImages)
	if list != "" {
		if image != "" {
			p.add(inImages, "cannot be used together with image: list every container in images")
		}
		if name != "" && !p.renderChangesContainer() {
			p.add(inContainerName, "cannot be used with images: name each container in images (container=image)")
		}
		p.checkContainerNames()
		imgs, err := parseImagesList(list)
		if err != nil {
			for _, e := range inputErrors(err) {
				p.errs = append(p.errs, e)
			}
		}
		return imgs
	}
	if image == "" {
		switch {
		case name != "" && p.renderChangesContainer():
			p.checkContainerNames() // it names the containers the render inputs change
		case name != "":
			p.add(inContainerName, "is set but image is not: give the new image for "+strconv.Quote(name))
		}
		return nil
	}
	bad := !p.checkContainerNames()
	if err := validateImage(image); err != nil {
		p.add(inImage, err.Error())
		bad = true
	}
	if bad {
		return nil
	}
	// Errors about the container (not found, several to choose from)
	// name the input that chose it.
	input := inImage
	if name != "" {
		input = inContainerName
	}
	// Several containers, comma-separated as the render action takes
	// them, get the same image.
	names := p.containerNames()
	if len(names) == 0 {
		names = []string{""}
	}
	out := make([]deployer.ContainerImage, 0, len(names))
	for _, n := range names {
		out = append(out, deployer.ContainerImage{Container: n, Image: image, Input: input})
	}
	return out
}

// checkContainerNames checks container-name: one container name, or
// several separated by commas (as the render action takes them), each
// once. false when it is bad (the problem recorded).
func (p *inputParser) checkContainerNames() bool {
	ok := true
	seen := map[string]bool{}
	for _, n := range strings.Split(p.raw(inContainerName), ",") {
		n = strings.TrimSpace(n)
		switch {
		case p.raw(inContainerName) == "":
			return true
		case !validECSName(n):
			p.add(inContainerName, fmt.Sprintf("%q is not a container name (up to 255 letters, numbers, hyphens and underscores; several are separated by commas)", report.Truncate(n, 80)))
			ok = false
		case seen[n]:
			p.add(inContainerName, fmt.Sprintf("container %q is named twice", n))
			ok = false
		}
		seen[n] = true
	}
	return ok
}

// parseImagesList parses the images input: one container=image per line,
// blank lines and surrounding spaces ignored. Every bad line is reported
// (as an *inputError for "images" naming the line), all at once.
func parseImagesList(s string) ([]deployer.ContainerImage, error) {
	var out []deployer.ContainerImage
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &inputError{Input: inImages, Msg: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name, image, ok := strings.Cut(line, "=")
		name, image = strings.TrimSpace(name), strings.TrimSpace(image)
		switch {
		case !ok || name == "" || image == "":
			bad(n, "%q is not container=image", report.Truncate(line, 80))
			continue
		case !validECSName(name):
			bad(n, "%q is not a container name (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(name, 80))
			continue
		}
		if first, dup := seen[name]; dup {
			bad(n, "container %q is listed twice (first on line %d)", name, first)
			continue
		}
		seen[name] = n
		if err := validateImage(image); err != nil {
			bad(n, "%s", err)
			continue
		}
		out = append(out, deployer.ContainerImage{Container: name, Image: image, Input: inImages})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &inputError{Input: inImages, Msg: fmt.Sprintf("line %d: %v", n+1, err)})
	}
	if len(errs) == 0 && len(out) == 0 {
		errs = append(errs, &inputError{Input: inImages, Msg: "no container=image line"})
	}
	return out, errors.Join(errs...)
}

// validateImage checks an image reference as Docker and ECS understand it.
func validateImage(ref string) error { return taskdef.ValidateImage(ref) }

// taskDefinition reads and parses the task-definition file (JSON or
// YAML), if named, with keep-null-value-keys.
func (p *inputParser) taskDefinition(opts parseOptions) (*ecs.RegisterTaskDefinitionInput, []string, error) {
	path := p.raw(inTaskDefinition)
	if path == "" {
		return nil, nil, nil
	}
	if !filepath.IsAbs(path) && opts.Workspace != "" {
		path = filepath.Join(opts.Workspace, path)
	}
	if opts.ReadFile == nil {
		return nil, nil, fmt.Errorf("cannot read %s", path)
	}
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	in, rep, err := taskdef.ParseFileReport(data, p.keepNullValueKeys())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range rep.Stripped {
		p.notes = append(p.notes, fmt.Sprintf("task-definition: ignoring %s (ECS sets it itself)", s))
	}
	if len(rep.Emptied) > 0 {
		p.notes = append(p.notes, fmt.Sprintf("task-definition: removed the empty values of %s, as amazon-ecs-deploy-task-definition does (keep-null-value-keys keeps a member's)", listShort(rep.Emptied, 10)))
	}
	return in, taskdef.MaskValues(in), nil
}

// checkContainersInFile checks that the containers named by image or images
// exist in the task-definition file, when one is given.
func (p *inputParser) checkContainersInFile(cfg *deployer.Config) {
	if cfg.TaskDefinition == nil {
		return
	}
	var names []string
	have := map[string]bool{}
	for _, c := range cfg.TaskDefinition.ContainerDefinitions {
		if c.Name != nil {
			names = append(names, *c.Name)
			have[*c.Name] = true
		}
	}
	for _, ci := range cfg.Images {
		input := ci.Input
		if input == inImage {
			input = inContainerName
		}
		switch {
		case ci.Container == "" && len(names) > 1:
			p.add(inContainerName, fmt.Sprintf("required: the task definition file has %d containers (%s)", len(names), strings.Join(names, ", ")))
		case ci.Container != "" && !have[ci.Container]:
			p.add(input, fmt.Sprintf("container %q is not in the task definition file (it has %s)", ci.Container, strings.Join(names, ", ")))
		}
	}
}

// revision parses the revision input: an existing task definition to
// promote, as family:revision or ARN (not a bare family, which would
// deploy whatever revision is the latest at the time).
func (p *inputParser) revision() string {
	s := p.raw(inRevision)
	if s == "" {
		return ""
	}
	var others []string
	for _, name := range []string{inImage, inImages, inTaskDefinition} {
		if p.raw(name) != "" {
			others = append(others, name)
		}
	}
	if len(others) > 0 {
		p.add(inRevision, fmt.Sprintf("cannot be combined with %s: a promoted revision is deployed as it is", strings.Join(others, " or ")))
	}
	fam := taskdef.Family(s)
	if _, ok := taskdef.Revision(s); !ok || !validECSName(fam) ||
		(strings.HasPrefix(s, "arn:") && !strings.Contains(s, ":task-definition/")) {
		p.add(inRevision, fmt.Sprintf("%q is not a task definition revision: give family:revision (web:41) or its ARN", report.Truncate(s, 120)))
		return ""
	}
	return s
}
