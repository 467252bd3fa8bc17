// Package taskdef turns a running task definition into the input that
// registers an identical new revision, changes container images in that
// input, reads task-definition files, and lists the values that must never
// be printed.
//
// "Lossless" means: every member of the SDK's types.TaskDefinition that
// RegisterTaskDefinition accepts back is deep-copied, and only the members
// ECS computes itself (see ReadOnlyFields) are dropped. The copy is done by
// reflection over the SDK types, so a member added to both
// types.TaskDefinition and ecs.RegisterTaskDefinitionInput in a future SDK
// release is carried over without a code change; the package tests fail
// when a new member is neither register-able nor known to be read-only.
//
// Nothing in this package calls AWS, reads the environment or prints.
package taskdef

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ReadOnlyFields lists, by the SDK's Go field name, the members of
// types.TaskDefinition that ECS computes and RegisterTaskDefinition does not
// accept. They are dropped by RegisterInput. The JSON names, as they appear
// in a task-definition file, are the same with a lower-case first letter.
//
// It returns a fresh slice on every call.
func ReadOnlyFields() []string {
	return []string{
		"TaskDefinitionArn",  // assigned by ECS: family + revision
		"Revision",           // assigned by ECS on register
		"Status",             // ACTIVE / INACTIVE / DELETE_IN_PROGRESS
		"RequiresAttributes", // computed from the container definitions
		"Compatibilities",    // computed; requiresCompatibilities is the input
		"RegisteredAt",       // timestamps and principal of the registration
		"RegisteredBy",
		"DeregisteredAt",
		"DeleteRequestedAt",
	}
}

func isReadOnly(goName string) bool {
	for _, f := range ReadOnlyFields() {
		if f == goName {
			return true
		}
	}
	return false
}

// RegisterInput returns the RegisterTaskDefinition input that registers a
// new revision identical to td: every member of td that the input has (same
// Go field name) is deep-copied, so the result shares no pointer, slice or
// map with td; the read-only members (ReadOnlyFields) are dropped.
//
// tags are the task definition's tags as DescribeTaskDefinition returns
// them with Include=TAGS. Tags whose key starts with "aws:" (in any case)
// are reserved: ECS creates them itself and rejects them on register, so
// they are left out; use SplitTags to report them. A nil td returns an
// input with only the tags.
func RegisterInput(td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{}
	if keep, _ := SplitTags(tags); len(keep) > 0 {
		in.Tags = deepCopy(reflect.ValueOf(keep)).Interface().([]types.Tag)
	}
	if td == nil {
		return in
	}
	src := reflect.ValueOf(td).Elem()
	dst := reflect.ValueOf(in).Elem()
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		sf, ok := src.Type().FieldByName(f.Name)
		if !ok || sf.Type != f.Type || isReadOnly(f.Name) {
			continue
		}
		dst.Field(i).Set(deepCopy(src.FieldByIndex(sf.Index)))
	}
	return in
}

// Clone returns a deep copy of in that shares nothing with it. A nil in
// returns nil.
func Clone(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	if in == nil {
		return nil
	}
	return deepCopy(reflect.ValueOf(in)).Interface().(*ecs.RegisterTaskDefinitionInput)
}

// SplitTags separates tags ECS accepts on RegisterTaskDefinition (keep)
// from those with the reserved "aws:" key prefix, compared without regard
// to case (reserved). Both keep the input order; nil tags give nil, nil.
func SplitTags(tags []types.Tag) (keep, reserved []types.Tag) {
	for _, t := range tags {
		if t.Key != nil && len(*t.Key) >= 4 && strings.EqualFold((*t.Key)[:4], "aws:") {
			reserved = append(reserved, t)
			continue
		}
		keep = append(keep, t)
	}
	return keep, reserved
}

// deepCopy returns a copy of v that shares no pointer, slice or map with
// it. Unexported struct fields are copied by value (the SDK's only ones are
// empty markers; time.Time's location pointer is immutable and may be
// shared).
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return out
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		out.Set(p)
	case reflect.Slice:
		if v.IsNil() {
			return out
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		out.Set(s)
	case reflect.Map:
		if v.IsNil() {
			return out
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m.SetMapIndex(deepCopy(iter.Key()), deepCopy(iter.Value()))
		}
		out.Set(m)
	case reflect.Struct:
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			return out
		}
		out.Set(deepCopy(v.Elem()))
	default:
		out.Set(v)
	}
	return out
}

// Family returns the family of a task definition given as an ARN
// ("arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"), as
// "family:revision" ("web:12") or as a bare family ("web"). Anything else
// is returned unchanged.
func Family(arnOrFamilyRevision string) string {
	fam, _, _ := splitTaskDefinition(arnOrFamilyRevision)
	return fam
}

// Revision returns the revision number of a task definition given as an
// ARN or as "family:revision". ok is false when there is no positive
// revision number (a bare family, an ARN of another resource, malformed
// input).
func Revision(arn string) (rev int, ok bool) {
	fam, rev, ok := splitTaskDefinition(arn)
	return rev, ok && fam != ""
}

// splitTaskDefinition splits "[arn:...:task-definition/]family[:revision]".
func splitTaskDefinition(s string) (family string, rev int, ok bool) {
	rest := s
	if strings.HasPrefix(s, "arn:") {
		const marker = ":task-definition/"
		i := strings.Index(s, marker)
		if i < 0 {
			return s, 0, false
		}
		rest = s[i+len(marker):]
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return rest, 0, false
	}
	digits := rest[i+1:]
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return rest, 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return rest[:i], 0, false
	}
	return rest[:i], n, true
}
