package taskdef

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/ecs-rollout/ecs-rollout/internal/sdkcheck"
)

// Validate runs the ECS client's own client-side checks of a
// RegisterTaskDefinition input (the required members of every nested
// shape: a secret's valueFrom, a ulimit's limits, a volume's EFS file
// system ID, ...) without any network call, and reports each problem by
// its JSON path, e.g. "containerDefinitions[0].secrets[1].valueFrom:
// missing, ECS requires it". A nil input is an error. It does not check
// what only ECS checks (valid CPU/memory combinations, role ARNs, ...).
func Validate(in *ecs.RegisterTaskDefinitionInput) error {
	if in == nil {
		return errors.New("no task definition")
	}
	_, err := sdkcheck.Client().RegisterTaskDefinition(context.Background(), in)
	if errors.Is(err, sdkcheck.ErrValid) {
		return nil
	}
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) {
		return fmt.Errorf("validate: %w", err)
	}
	var errs []error
	for _, e := range invalid.Errs() {
		var pe smithy.InvalidParamError
		if !errors.As(e, &pe) {
			errs = append(errs, e)
			continue
		}
		path := sdkPathToJSON(strings.TrimPrefix(pe.Field(), "RegisterTaskDefinitionInput."))
		var req *smithy.ParamRequiredError
		if errors.As(e, &req) {
			errs = append(errs, fmt.Errorf("%s: missing, ECS requires it", path))
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s", path, strings.TrimSuffix(e.Error(), ", "+pe.Field()+".")))
	}
	return errors.Join(errs...)
}

// sdkPathToJSON turns "ContainerDefinitions[0].Secrets[1].ValueFrom" into
// "containerDefinitions[0].secrets[1].valueFrom".
func sdkPathToJSON(p string) string {
	parts := strings.Split(p, ".")
	for i, part := range parts {
		if part != "" && part[0] != '[' {
			parts[i] = jsonName(part)
		}
	}
	return strings.Join(parts, ".")
}
