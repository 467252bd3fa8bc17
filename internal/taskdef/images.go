package taskdef

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/distribution/reference"
)

// Change asks for one container's image to change.
type Change struct {
	// Container is the container's name; "" means the task definition's
	// only container (an error when it has several).
	Container string
	// Image is the new image reference; it must pass ValidateImage.
	Image string
	// Input names the action input the change came from ("image",
	// "images", "container-name", ...) so errors can name it. When empty,
	// errors name "container-name" for a named container and "image"
	// otherwise.
	Input string
}

func (c Change) input() string {
	switch {
	case c.Input != "":
		return c.Input
	case c.Container != "":
		return "container-name"
	default:
		return "image"
	}
}

// Diff is one container's image before and after SetImages.
type Diff struct {
	Container string
	Old       string
	New       string
}

// ContainerNames returns the names of in's containers in definition order
// (containers without a name are listed as ""). A nil in gives nil.
func ContainerNames(in *ecs.RegisterTaskDefinitionInput) []string {
	if in == nil {
		return nil
	}
	names := make([]string, 0, len(in.ContainerDefinitions))
	for _, c := range in.ContainerDefinitions {
		names = append(names, aws.ToString(c.Name))
	}
	return names
}

// SetImages sets the image of each named container in in and returns one
// Diff per change, in the order of changes. Containers not named keep
// their image (sidecars are never touched).
//
// All changes are checked before any is applied: when one is invalid,
// SetImages changes nothing and returns every problem at once (joined with
// errors.Join), each naming its input: an invalid image reference, an
// unknown container (the error lists the containers), Container "" when
// the task definition has several containers, or the same container named
// twice. A nil in is an error.
func SetImages(in *ecs.RegisterTaskDefinitionInput, changes []Change) ([]Diff, error) {
	if in == nil {
		return nil, errors.New("set images: no task definition")
	}
	names := ContainerNames(in)
	td := "task definition " + describeFamily(in)
	list := listNames(names)

	var errs []error
	index := make([]int, len(changes))
	seen := make(map[int]string, len(changes))
	for i, c := range changes {
		index[i] = -1
		if err := ValidateImage(c.Image); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.input(), err))
		}
		switch {
		case c.Container == "" && len(names) == 1:
			index[i] = 0
		case c.Container == "" && len(names) == 0:
			errs = append(errs, fmt.Errorf("%s: %s has no containers", c.input(), td))
			continue
		case c.Container == "":
			errs = append(errs, fmt.Errorf("%s: %s has %d containers (%s): set container-name, or name each container in images as container=image",
				c.input(), td, len(names), list))
			continue
		default:
			for j, n := range names {
				if n == c.Container {
					index[i] = j
					break
				}
			}
			if index[i] < 0 {
				errs = append(errs, fmt.Errorf("%s: no container %q in %s (containers: %s)", c.input(), c.Container, td, list))
				continue
			}
		}
		if prev, dup := seen[index[i]]; dup {
			errs = append(errs, fmt.Errorf("%s: container %q is given more than once (also in %s)", c.input(), names[index[i]], prev))
			continue
		}
		seen[index[i]] = c.input()
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	diffs := make([]Diff, 0, len(changes))
	for i, c := range changes {
		cd := &in.ContainerDefinitions[index[i]]
		diffs = append(diffs, Diff{Container: names[index[i]], Old: aws.ToString(cd.Image), New: c.Image})
		cd.Image = aws.String(c.Image)
	}
	return diffs, nil
}

func describeFamily(in *ecs.RegisterTaskDefinitionInput) string {
	if f := aws.ToString(in.Family); f != "" {
		return f
	}
	return "(no family)"
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		if n == "" {
			n = `""`
		}
		q[i] = n
	}
	return strings.Join(q, ", ")
}

// ValidateImage reports whether ref is a valid container image reference
// as Docker and ECS understand it: a repository name (lower case, with an
// optional registry host such as an ECR URI) with an optional tag and/or
// digest, e.g. "nginx:1.27",
// "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2.3" or
// "repo@sha256:<64 hex>". The error quotes ref and says what is wrong.
func ValidateImage(ref string) error {
	if ref == "" {
		return errors.New("image reference is empty")
	}
	if strings.TrimSpace(ref) != ref || strings.ContainsAny(ref, " \t\r\n") {
		return fmt.Errorf("invalid image reference %q: contains whitespace", ref)
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return nil
}
