package taskdef

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Registers reports whether the revision got (as DescribeTaskDefinition
// returns it, with its tags) is what registering sent makes: every member
// sent has the same value in got, tags in any order. A member sent empty
// or not at all may hold anything in got, since ECS fills defaults on
// registration (a container's cpu 0, a port mapping's protocol, empty
// lists); the task-level cpu and memory compare as units ("1 vCPU" is
// 1024). It is how a retried RegisterTaskDefinition recognises the
// revision an attempt that answered an error had registered after all.
func Registers(sent *ecs.RegisterTaskDefinitionInput, got *types.TaskDefinition, tags []types.Tag) bool {
	if sent == nil || got == nil {
		return false
	}
	a, b := Clone(sent), RegisterInput(got, tags)
	for _, in := range []*ecs.RegisterTaskDefinitionInput{a, b} {
		in.Tags, _ = SplitTags(in.Tags)
		slices.SortFunc(in.Tags, func(x, y types.Tag) int { return strings.Compare(aws.ToString(x.Key), aws.ToString(y.Key)) })
	}
	if !sameSize(a.Cpu, b.Cpu, 1024) || !sameSize(a.Memory, b.Memory, 1024) {
		return false
	}
	a.Cpu, a.Memory, b.Cpu, b.Memory = nil, nil, nil, nil
	av, err1 := asJSON(a)
	bv, err2 := asJSON(b)
	return err1 == nil && err2 == nil && subset(av, bv)
}

// sameSize compares a task size sent (nil: not sent) with the one ECS
// stored.
func sameSize(sent, got *string, perUnit float64) bool {
	if sent == nil {
		return true
	}
	if aws.ToString(sent) == aws.ToString(got) {
		return true
	}
	x, ok1 := units(aws.ToString(sent), perUnit)
	y, ok2 := units(aws.ToString(got), perUnit)
	return ok1 && ok2 && x == y
}

func asJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

// subset reports whether every value in sent is in got (see Registers).
func subset(sent, got any) bool {
	switch s := sent.(type) {
	case nil:
		return true
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range s {
			if !subset(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, _ := got.([]any)
		if len(s) == 0 {
			return true
		}
		if len(s) != len(g) {
			return false
		}
		for i := range s {
			if !subset(s[i], g[i]) {
				return false
			}
		}
		return true
	case string: // "", false and 0 are what the SDK does not send (enums and numbers held as values)
		return s == "" || got == s
	case bool:
		return !s || got == s
	case float64:
		return s == 0 || got == s
	}
	return false
}
