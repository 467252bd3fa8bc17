package taskdef

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MinSecretLen is the shortest value that is replaced wherever it occurs
// in what people read, and the shortest credential the action registers
// with GitHub's ::add-mask:: (the runner then masks it everywhere, inside
// words too). A Redactor replaces a shorter credential only where it
// stands as a whole word ("DB_PASSWORD=hunter2", "token abc."), never
// inside a longer word; see docs/task-definitions.md.
const MinSecretLen = 8

// SecretValues returns every value in in that must never be printed, each
// once, longest first (so a caller that scrubs text replaces a value
// before any shorter value it contains):
//
//   - container environment values (non-empty) and environmentFiles
//     values (S3 object ARNs);
//   - secrets[].valueFrom and logConfiguration.secretOptions[].valueFrom
//     (Secrets Manager / SSM parameter ARNs or names), with the forms
//     ECS and AWS's error messages name them by (ReferenceForms: a
//     secret's ARN without ECS's json-key suffix, its name with and
//     without Secrets Manager's six random characters, a parameter's
//     name with and without its leading slash);
//   - repositoryCredentials.credentialsParameter;
//   - FSx for Windows authorizationConfig.credentialsParameter;
//   - logConfiguration and firelensConfiguration options and Docker labels
//     whose key looks like a credential (contains pass, secret, token,
//     apikey, api_key, api-key, credential, auth or private, in any case).
//
// The caller masks them (::add-mask::) and scrubs its output. A nil in
// gives nil.
func SecretValues(in *ecs.RegisterTaskDefinitionInput) []string {
	if in == nil {
		return nil
	}
	set := map[string]bool{}
	add := func(s *string) {
		if v := aws.ToString(s); v != "" {
			set[v] = true
		}
	}
	addRef := func(s *string) {
		for _, v := range ReferenceForms(aws.ToString(s)) {
			set[v] = true
		}
	}
	addOptions := func(m map[string]string) {
		for k, v := range m {
			if credentialKey(k) && v != "" {
				set[v] = true
			}
		}
	}
	for _, c := range in.ContainerDefinitions {
		for _, e := range c.Environment {
			add(e.Value)
		}
		for _, f := range c.EnvironmentFiles {
			add(f.Value)
		}
		for _, s := range c.Secrets {
			addRef(s.ValueFrom)
		}
		if c.RepositoryCredentials != nil {
			addRef(c.RepositoryCredentials.CredentialsParameter)
		}
		if c.LogConfiguration != nil {
			for _, s := range c.LogConfiguration.SecretOptions {
				addRef(s.ValueFrom)
			}
			addOptions(c.LogConfiguration.Options)
		}
		if c.FirelensConfiguration != nil {
			addOptions(c.FirelensConfiguration.Options)
		}
		addOptions(c.DockerLabels)
	}
	for _, v := range in.Volumes {
		if f := v.FsxWindowsFileServerVolumeConfiguration; f != nil && f.AuthorizationConfig != nil {
			addRef(f.AuthorizationConfig.CredentialsParameter)
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// MaskValues returns the subset of SecretValues that are credentials,
// whatever their length: secret and credential references
// (secrets[].valueFrom, log secretOptions, repositoryCredentials, with
// their ReferenceForms), environment files, credential-keyed options and
// labels, and the environment values whose name or value looks like a
// credential (API_TOKEN, DB_PASSWORD, an access key ID, a URL with a
// password, a private key). The action redacts them from everything it
// prints (a Redactor) and registers those of MinSecretLen bytes or more
// with ::add-mask::. Plain configuration values (AWS_REGION=us-east-1,
// ACCOUNT=123456789012, APP=web) are left out on purpose: GitHub masks a
// value everywhere, in ARNs and step outputs too, and drops job outputs
// that contain a masked value. Those values are never printed by the
// action itself; SecretValues, the full list, is what log lines are
// scrubbed with.
func MaskValues(in *ecs.RegisterTaskDefinitionInput) []string {
	if in == nil {
		return nil
	}
	plain := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		for _, e := range c.Environment {
			if v := aws.ToString(e.Value); v != "" && !credentialKey(aws.ToString(e.Name)) && !credentialValue(v) {
				plain[v] = true
			}
		}
	}
	var out []string
	for _, v := range SecretValues(in) {
		if !plain[v] {
			out = append(out, v)
		}
	}
	return out
}

// credentialValue reports whether a value looks like a credential by its
// shape, whatever its name.
func credentialValue(v string) bool {
	switch {
	case len(v) == 20 && (strings.HasPrefix(v, "AKIA") || strings.HasPrefix(v, "ASIA")):
		return true
	case strings.Contains(v, "-----BEGIN"):
		return true
	case strings.Contains(v, "://") && strings.Contains(v, "@"):
		return true // a URL with user information
	}
	for _, p := range []string{"ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "sk_live_", "glpat-"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// credentialKey reports whether an option or label key looks like it
// names a credential.
func credentialKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"pass", "secret", "token", "apikey", "api_key", "api-key", "credential", "auth", "private"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Summary is PlanDiff under the name the dry-run code may prefer.
func Summary(old, new *ecs.RegisterTaskDefinitionInput) []string { return PlanDiff(old, new) }

// PlanDiff describes, one line per difference, how new differs from old,
// for the dry-run plan: "container app: image repo:1 -> repo:2",
// "container app: environment FOO changed (value hidden)",
// "task definition: memory 512 -> 1024", ... Containers, environment
// variables, secrets, volumes and tags are matched by name; other lists by
// position.
//
// Values are never shown for environment variables, environment files,
// secrets, repository credentials, log secret options, credential-like options and labels,
// FSx authorization, and container commands and entry points. As a last
// guard, a printed value equal to any value SecretValues returns for old or
// new is shown as "***", and such a value of 6 or more bytes is starred
// out wherever it appears inside a printed value. Identical definitions give nil; a nil argument is
// treated as an empty task definition.
func PlanDiff(old, new *ecs.RegisterTaskDefinitionInput) []string {
	if old == nil {
		old = &ecs.RegisterTaskDefinitionInput{}
	}
	if new == nil {
		new = &ecs.RegisterTaskDefinitionInput{}
	}
	var out []string
	g := newGuard(old, new)

	// Task-level members other than those matched by name below.
	td := func(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
		c := *in
		c.ContainerDefinitions, c.Volumes, c.Tags = nil, nil, nil
		return &c
	}
	diffLeaves(g, "task definition: ", flatten(reflect.ValueOf(td(old))), flatten(reflect.ValueOf(td(new))), &out)

	// Containers by name, in new's order, then the removed ones.
	oldC := map[string]types.ContainerDefinition{}
	for _, c := range old.ContainerDefinitions {
		oldC[aws.ToString(c.Name)] = c
	}
	newNames := map[string]bool{}
	for _, c := range new.ContainerDefinitions {
		name := aws.ToString(c.Name)
		newNames[name] = true
		prev, ok := oldC[name]
		if !ok {
			out = append(out, fmt.Sprintf("container %s: added (image %s)", name, g.value(orNone(aws.ToString(c.Image)))))
			continue
		}
		diffContainer(g, "container "+name+": ", prev, c, &out)
	}
	for _, c := range old.ContainerDefinitions {
		if name := aws.ToString(c.Name); !newNames[name] {
			out = append(out, fmt.Sprintf("container %s: removed", name))
		}
	}

	// Volumes by name.
	oldV := map[string]types.Volume{}
	for _, v := range old.Volumes {
		oldV[aws.ToString(v.Name)] = v
	}
	newV := map[string]bool{}
	for _, v := range new.Volumes {
		name := aws.ToString(v.Name)
		newV[name] = true
		prev, ok := oldV[name]
		if !ok {
			out = append(out, fmt.Sprintf("volume %s: added", name))
			continue
		}
		diffLeaves(g, "volume "+name+": ", flatten(reflect.ValueOf(prev)), flatten(reflect.ValueOf(v)), &out)
	}
	for _, v := range old.Volumes {
		if name := aws.ToString(v.Name); !newV[name] {
			out = append(out, fmt.Sprintf("volume %s: removed", name))
		}
	}

	// Tags by key (tag values are not secret).
	oldT, newT := tagMap(old.Tags), tagMap(new.Tags)
	for _, k := range sortedKeys(newT) {
		if ov, ok := oldT[k]; !ok {
			out = append(out, fmt.Sprintf("tag %s: added (%s)", k, g.value(newT[k])))
		} else if ov != newT[k] {
			out = append(out, fmt.Sprintf("tag %s: %s -> %s", k, g.value(ov), g.value(newT[k])))
		}
	}
	for _, k := range sortedKeys(oldT) {
		if _, ok := newT[k]; !ok {
			out = append(out, fmt.Sprintf("tag %s: removed", k))
		}
	}

	return out
}

// guard is the last line of defence of PlanDiff: every value it prints
// (never names or paths) passes through it. A value equal to a secret
// becomes "***"; a secret of minGuardLen bytes or more inside a value is
// replaced by "***". Shorter secrets ("on", "8080") are only caught whole,
// so ordinary numbers and words stay readable.
type guard []string

const minGuardLen = 6

func newGuard(old, new *ecs.RegisterTaskDefinitionInput) guard {
	g := append(SecretValues(old), SecretValues(new)...)
	slices.SortFunc(g, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return g
}

func (g guard) value(v string) string {
	for _, s := range g {
		if v == s {
			return "***"
		}
	}
	for _, s := range g {
		if len(s) >= minGuardLen {
			v = strings.ReplaceAll(v, s, "***")
		}
	}
	return v
}

func diffContainer(g guard, prefix string, a, b types.ContainerDefinition, out *[]string) {
	if ai, bi := aws.ToString(a.Image), aws.ToString(b.Image); ai != bi {
		*out = append(*out, fmt.Sprintf("%simage %s -> %s", prefix, g.value(orNone(ai)), g.value(orNone(bi))))
	}
	diffNamed(prefix+"environment ", "value", pairs(a.Environment), pairs(b.Environment), out)
	diffNamed(prefix+"secret ", "valueFrom", secretPairs(a.Secrets), secretPairs(b.Secrets), out)
	a.Image, b.Image = nil, nil
	a.Environment, b.Environment = nil, nil
	a.Secrets, b.Secrets = nil, nil
	diffLeaves(g, prefix, flatten(reflect.ValueOf(a)), flatten(reflect.ValueOf(b)), out)
}

// diffNamed reports added, removed and changed names without values.
func diffNamed(prefix, what string, a, b []namedValue, out *[]string) {
	am := map[string]string{}
	for _, p := range a {
		am[p.name] = p.value
	}
	bm := map[string]bool{}
	for _, p := range b {
		bm[p.name] = true
		ov, ok := am[p.name]
		switch {
		case !ok:
			*out = append(*out, fmt.Sprintf("%s%s added (%s hidden)", prefix, p.name, what))
		case ov != p.value:
			*out = append(*out, fmt.Sprintf("%s%s changed (%s hidden)", prefix, p.name, what))
		}
	}
	for _, p := range a {
		if !bm[p.name] {
			*out = append(*out, fmt.Sprintf("%s%s removed", prefix, p.name))
		}
	}
}

type namedValue struct{ name, value string }

func pairs(kv []types.KeyValuePair) []namedValue {
	out := make([]namedValue, 0, len(kv))
	for _, p := range kv {
		v := "\x00unset"
		if p.Value != nil {
			v = *p.Value
		}
		out = append(out, namedValue{aws.ToString(p.Name), v})
	}
	return out
}

func secretPairs(s []types.Secret) []namedValue {
	out := make([]namedValue, 0, len(s))
	for _, p := range s {
		out = append(out, namedValue{aws.ToString(p.Name), aws.ToString(p.ValueFrom)})
	}
	return out
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// leaf is one scalar in a flattened value, at a JSON-like path.
type leaf struct {
	path   string
	value  string
	hidden bool
}

// flatten lists the scalars of v by path ("portMappings[0].containerPort",
// "logConfiguration.options.awslogs-group"). Nil pointers, slices and maps
// and zero non-pointer scalars (unset enums) are left out.
func flatten(v reflect.Value) []leaf {
	var out []leaf
	var walk func(path string, v reflect.Value, hidden bool, ptr bool)
	walk = func(path string, v reflect.Value, hidden bool, ptr bool) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem(), hidden, true)
			}
		case reflect.Struct:
			// A union member (types.SharingStrategyMemberNvidiaMps) holds
			// its value in Value; its JSON name is the part after "Member".
			if _, member, ok := strings.Cut(v.Type().Name(), "Member"); ok && member != "" && v.Type().NumField() > 0 && v.Type().Field(0).Name == "Value" {
				walk(joinPath(path, jsonName(member)), v.Field(0), hidden, false)
				return
			}
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				name := jsonName(f.Name)
				walk(joinPath(path, name), v.Field(i), hidden || hiddenField(name), false)
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(path+"["+strconv.Itoa(i)+"]", v.Index(i), hidden, false)
			}
		case reflect.Map:
			keys := v.MapKeys()
			slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				walk(joinPath(path, k.String()), v.MapIndex(k), hidden || credentialKey(k.String()), false)
			}
		default:
			if !ptr && v.IsZero() {
				return
			}
			s := fmt.Sprint(v.Interface())
			if v.Kind() == reflect.String && s == "" {
				s = `""`
			}
			out = append(out, leaf{path: path, value: s, hidden: hidden})
		}
	}
	walk("", v, false, false)
	return out
}

// hiddenField reports members whose values may hold credentials.
func hiddenField(jsonName string) bool {
	switch jsonName {
	case "environment", "environmentFiles", "secrets", "secretOptions", "repositoryCredentials", "authorizationConfig", "command", "entryPoint":
		return true
	}
	return false
}

func jsonName(goName string) string {
	if strings.HasPrefix(goName, "FSx") {
		return "fsx" + goName[3:]
	}
	return strings.ToLower(goName[:1]) + goName[1:]
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// diffLeaves appends one line per path whose value differs, in b's order
// then a's leftovers.
func diffLeaves(g guard, prefix string, a, b []leaf, out *[]string) {
	am := make(map[string]leaf, len(a))
	for _, l := range a {
		am[l.path] = l
	}
	bm := make(map[string]bool, len(b))
	for _, l := range b {
		bm[l.path] = true
		o, ok := am[l.path]
		switch {
		case ok && o.value == l.value:
		case l.hidden && ok:
			*out = append(*out, fmt.Sprintf("%s%s changed (value hidden)", prefix, l.path))
		case l.hidden:
			*out = append(*out, fmt.Sprintf("%s%s added (value hidden)", prefix, l.path))
		case ok:
			*out = append(*out, fmt.Sprintf("%s%s %s -> %s", prefix, l.path, g.value(o.value), g.value(l.value)))
		default:
			*out = append(*out, fmt.Sprintf("%s%s (none) -> %s", prefix, l.path, g.value(l.value)))
		}
	}
	for _, l := range a {
		if bm[l.path] {
			continue
		}
		if l.hidden {
			*out = append(*out, fmt.Sprintf("%s%s removed (value hidden)", prefix, l.path))
		} else {
			*out = append(*out, fmt.Sprintf("%s%s %s -> (none)", prefix, l.path, g.value(l.value)))
		}
	}
}
