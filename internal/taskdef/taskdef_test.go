package taskdef

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// sdkOpts ignores the SDK's empty noSmithyDocumentSerde markers (and any
// other unexported field) in every SDK struct.
var sdkOpts = cmp.Options{cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !isExportedName(sf.Name())
}, cmp.Ignore())}

func isExportedName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

// TestEveryTaskDefinitionFieldIsAccountedFor is the guard of issue 3: every
// member of types.TaskDefinition is either register-able (a member of
// RegisterTaskDefinitionInput with the same name and type) or on the
// read-only list. A new SDK member that is neither fails here.
func TestEveryTaskDefinitionFieldIsAccountedFor(t *testing.T) {
	t.Parallel()
	src := reflect.TypeOf(types.TaskDefinition{})
	dst := reflect.TypeOf(ecs.RegisterTaskDefinitionInput{})
	for i := 0; i < src.NumField(); i++ {
		f := src.Field(i)
		if !f.IsExported() {
			continue
		}
		df, inInput := dst.FieldByName(f.Name)
		readOnly := isReadOnly(f.Name)
		switch {
		case inInput && readOnly:
			t.Errorf("TaskDefinition.%s: on the read-only list but RegisterTaskDefinitionInput has it; remove it from ReadOnlyFields", f.Name)
		case inInput && df.Type != f.Type:
			t.Errorf("TaskDefinition.%s: type %v, RegisterTaskDefinitionInput.%s has %v; RegisterInput would drop it", f.Name, f.Type, f.Name, df.Type)
		case !inInput && !readOnly:
			t.Errorf("TaskDefinition.%s: neither in RegisterTaskDefinitionInput nor on the read-only list; decide whether ECS accepts it back", f.Name)
		}
	}
	// The other way round: every input member except Tags comes from the
	// task definition, so RegisterInput can fill it.
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		if _, ok := src.FieldByName(f.Name); !ok {
			t.Errorf("RegisterTaskDefinitionInput.%s: not in types.TaskDefinition, RegisterInput cannot fill it", f.Name)
		}
	}
	// Every read-only name is a real member (no stale entries).
	for _, name := range ReadOnlyFields() {
		if _, ok := src.FieldByName(name); !ok {
			t.Errorf("ReadOnlyFields has %q, which types.TaskDefinition does not have", name)
		}
	}
}

// unionSample gives a value for each SDK union interface reachable from a
// task definition; ok is false for a union the test does not know yet.
func unionSample(t reflect.Type, seed *int) (v reflect.Value, ok bool) {
	switch t {
	case reflect.TypeOf((*types.SharingStrategy)(nil)).Elem():
		m := &types.SharingStrategyMemberNvidiaMps{}
		fill(reflect.ValueOf(m).Elem(), seed, nil)
		return reflect.ValueOf(m), true
	}
	return reflect.Value{}, false
}

// fill sets every exported field of v, recursively, to a distinct non-zero
// value. errf reports types it cannot fill.
func fill(v reflect.Value, seed *int, errf func(string, ...any)) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type() == reflect.TypeOf((*time.Time)(nil)) {
			tm := time.Unix(int64(1700000000+n), 0).UTC()
			v.Set(reflect.ValueOf(&tm))
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed, errf)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed, errf)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seed, errf)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, seed, errf)
			fill(e, seed, errf)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		u, ok := unionSample(v.Type(), seed)
		if !ok {
			if errf != nil {
				errf("no sample for union %v: add one to unionSample", v.Type())
			}
			return
		}
		v.Set(u)
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", strings.ToLower(v.Type().Name()), n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint8:
		v.SetUint(uint64(n % 256))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	default:
		if errf != nil {
			errf("cannot fill kind %v (%v)", v.Kind(), v.Type())
		}
	}
}

// zeroPaths lists the paths of exported fields of v that are zero
// (recursively, through pointers, slices, maps and interfaces).
func zeroPaths(path string, v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return []string{path}
		}
		if v.Type() == reflect.TypeOf((*time.Time)(nil)) {
			return nil
		}
		return zeroPaths(path, v.Elem())
	case reflect.Struct:
		var out []string
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, zeroPaths(path+"."+f.Name, v.Field(i))...)
			}
		}
		return out
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		if v.Kind() == reflect.Slice {
			for i := 0; i < v.Len(); i++ {
				out = append(out, zeroPaths(fmt.Sprintf("%s[%d]", path, i), v.Index(i))...)
			}
		} else {
			iter := v.MapRange()
			for iter.Next() {
				out = append(out, zeroPaths(path+"["+iter.Key().String()+"]", iter.Value())...)
			}
		}
		return out
	default:
		if v.IsZero() {
			return []string{path}
		}
	}
	return nil
}

func fullTaskDefinition(t *testing.T) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	td := &types.TaskDefinition{}
	seed := 0
	fill(reflect.ValueOf(td).Elem(), &seed, t.Errorf)
	var tags []types.Tag
	fill(reflect.ValueOf(&tags).Elem(), &seed, t.Errorf)
	if z := zeroPaths("TaskDefinition", reflect.ValueOf(td).Elem()); len(z) > 0 {
		t.Fatalf("fill left zero fields: %v", z)
	}
	return td, tags
}

// TestRegisterInputKeepsEveryField fills every field of a task definition,
// recursively, and checks that RegisterInput carries every register-able
// member over deeply equal, and nothing else.
func TestRegisterInputKeepsEveryField(t *testing.T) {
	t.Parallel()
	td, tags := fullTaskDefinition(t)
	in := RegisterInput(td, tags)

	if z := zeroPaths("RegisterTaskDefinitionInput", reflect.ValueOf(in).Elem()); len(z) > 0 {
		t.Errorf("RegisterInput left members empty: %v", z)
	}
	src := reflect.ValueOf(td).Elem()
	dst := reflect.ValueOf(in).Elem()
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		got, want := dst.Field(i).Interface(), src.FieldByName(f.Name).Interface()
		if diff := cmp.Diff(want, got, sdkOpts); diff != "" {
			t.Errorf("%s differs (-task definition +input):\n%s", f.Name, diff)
		}
	}
	if diff := cmp.Diff(tags, in.Tags, sdkOpts); diff != "" {
		t.Errorf("Tags differ (-want +got):\n%s", diff)
	}
}

// TestRegisterInputSharesNothing mutates every reachable pointer, slice
// element and map entry of the result and checks the source is unchanged,
// and the other way round.
func TestRegisterInputSharesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate string // "input" or "source"
	}{
		{name: "mutating the input leaves the task definition", mutate: "input"},
		{name: "mutating the task definition leaves the input", mutate: "source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td, tags := fullTaskDefinition(t)
			in := RegisterInput(td, tags)
			td2, tags2 := fullTaskDefinition(t) // identical to td, tags
			wantIn := RegisterInput(td2, tags2)

			seed := 1_000_000
			if tt.mutate == "input" {
				scribble(reflect.ValueOf(in).Elem(), &seed)
				if diff := cmp.Diff(td2, td, sdkOpts); diff != "" {
					t.Errorf("task definition changed through the input (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(tags2, tags, sdkOpts); diff != "" {
					t.Errorf("tags changed through the input (-before +after):\n%s", diff)
				}
				return
			}
			scribble(reflect.ValueOf(td).Elem(), &seed)
			scribble(reflect.ValueOf(tags), &seed)
			if diff := cmp.Diff(wantIn, in, sdkOpts); diff != "" {
				t.Errorf("input changed through the task definition (-before +after):\n%s", diff)
			}
		})
	}
}

// scribble overwrites every scalar reachable from v in place (through
// pointers, slices, maps and interfaces), so any memory shared with
// another value shows up as a change there.
func scribble(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			if v.Type() == reflect.TypeOf((*time.Time)(nil)) {
				*v.Interface().(*time.Time) = time.Unix(int64(*seed), 0)
				return
			}
			scribble(v.Elem(), seed)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && v.Field(i).CanSet() {
				scribble(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			scribble(v.Index(i), seed)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			if e.Kind() == reflect.String {
				e.SetString(fmt.Sprintf("scribbled-%d", *seed))
			} else {
				scribble(e, seed)
			}
			v.SetMapIndex(iter.Key(), e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(fmt.Sprintf("scribbled-%d", *seed))
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(int64(*seed))
		}
	case reflect.Uint8:
		if v.CanSet() {
			v.SetUint(uint64(*seed % 256))
		}
	case reflect.Float32, reflect.Float64:
		if v.CanSet() {
			v.SetFloat(float64(*seed))
		}
	}
}

func TestRegisterInputReadOnlyAndTags(t *testing.T) {
	t.Parallel()
	td := &types.TaskDefinition{
		Family:            aws.String("web"),
		TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"),
		Revision:          12,
		Status:            types.TaskDefinitionStatusActive,
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("nginx:1.27")},
		},
	}
	tests := []struct {
		name string
		td   *types.TaskDefinition
		tags []types.Tag
		want *ecs.RegisterTaskDefinitionInput
	}{
		{
			name: "read-only members dropped, no tags gives nil tags",
			td:   td,
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			},
		},
		{
			name: "reserved aws: tags dropped in any case, others kept in order",
			td:   td,
			tags: []types.Tag{
				{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("prod")},
				{Key: aws.String("team"), Value: aws.String("web")},
				{Key: aws.String("AWS:Whatever"), Value: aws.String("x")},
				{Key: aws.String("awsome"), Value: aws.String("kept")},
			},
			want: &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("web"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
				Tags: []types.Tag{
					{Key: aws.String("team"), Value: aws.String("web")},
					{Key: aws.String("awsome"), Value: aws.String("kept")},
				},
			},
		},
		{
			name: "nil task definition",
			td:   nil,
			tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}},
			want: &ecs.RegisterTaskDefinitionInput{Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := RegisterInput(tt.td, tt.tags)
			if diff := cmp.Diff(tt.want, got, sdkOpts); diff != "" {
				t.Errorf("RegisterInput (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitTags(t *testing.T) {
	t.Parallel()
	tags := []types.Tag{
		{Key: aws.String("aws:ecs:clusterName")},
		{Key: aws.String("env")},
		{Key: nil},
		{Key: aws.String("aws")},
	}
	keep, reserved := SplitTags(tags)
	keys := func(ts []types.Tag) []string {
		var out []string
		for _, t := range ts {
			out = append(out, aws.ToString(t.Key))
		}
		return out
	}
	if diff := cmp.Diff([]string{"env", "", "aws"}, keys(keep)); diff != "" {
		t.Errorf("keep (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"aws:ecs:clusterName"}, keys(reserved)); diff != "" {
		t.Errorf("reserved (-want +got):\n%s", diff)
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	td, tags := fullTaskDefinition(t)
	in := RegisterInput(td, tags)
	c := Clone(in)
	if diff := cmp.Diff(in, c, sdkOpts); diff != "" {
		t.Fatalf("Clone differs (-want +got):\n%s", diff)
	}
	seed := 5
	scribble(reflect.ValueOf(c).Elem(), &seed)
	if diff := cmp.Diff(RegisterInput(td, tags), in, sdkOpts); diff != "" {
		t.Errorf("original changed through the clone:\n%s", diff)
	}
	if Clone(nil) != nil {
		t.Errorf("Clone(nil) = non-nil, want nil")
	}
}

func TestFamilyRevision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		wantFamily string
		wantRev    int
		wantOK     bool
	}{
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:12", "web", 12, true},
		{"arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/my_app-2:7", "my_app-2", 7, true},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web", "web", 0, false},
		{"web:12", "web", 12, true},
		{"web", "web", 0, false},
		{"web:0", "web", 0, false},
		{"web:abc", "web:abc", 0, false},
		{"web:", "web:", 0, false},
		{":5", "", 5, false},
		{"", "", 0, false},
		{"arn:aws:ecs:us-east-1:123456789012:service/prod/web", "arn:aws:ecs:us-east-1:123456789012:service/prod/web", 0, false},
		{"web:99999999999999999999", "web", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := Family(tt.in); got != tt.wantFamily {
				t.Errorf("Family(%q) = %q, want %q", tt.in, got, tt.wantFamily)
			}
			rev, ok := Revision(tt.in)
			if ok != tt.wantOK || (ok && rev != tt.wantRev) {
				t.Errorf("Revision(%q) = %d, %v, want %d, %v", tt.in, rev, ok, tt.wantRev, tt.wantOK)
			}
		})
	}
}

func TestReadOnlyFieldsFresh(t *testing.T) {
	t.Parallel()
	a := ReadOnlyFields()
	a[0] = "Family"
	if slices.Contains(ReadOnlyFields(), "Family") {
		t.Errorf("ReadOnlyFields returned shared state: changing the result changed the next call")
	}
}
