package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// readOnlyJSON are the read-only members as they appear in a task
// definition file (camelCase), in the order they are reported.
var readOnlyJSON = func() []string {
	var out []string
	for _, f := range ReadOnlyFields() {
		out = append(out, strings.ToLower(f[:1])+f[1:])
	}
	return out
}

// maxFileSize bounds a task definition file; ECS itself caps a registered
// task definition at 64 KiB, so 1 MiB leaves room for whitespace.
const maxFileSize = 1 << 20

// ParseFile reads a task definition file as
// aws-actions/amazon-ecs-deploy-task-definition accepts it: JSON or YAML
// (decodeDocument), holding the camelCase members of
// RegisterTaskDefinition, or the taskDefinition object of
// DescribeTaskDefinition (as `aws ecs describe-task-definition --query
// taskDefinition` prints it), or the whole DescribeTaskDefinition output
// {"taskDefinition": {...}, "tags": [...]}.
//
// Empty values ("", [], {}, null, lists of them) are removed as the
// official action removes them (removeEmpty; ParseFileReport keeps the
// members it is told to keep), except that an environment variable set
// to "" stays set; read-only members (taskDefinitionArn, revision,
// status, requiresAttributes, compatibilities, registeredAt,
// registeredBy, deregisteredAt, deleteRequestedAt) are removed; nothing
// else is. Member names are matched exactly as ECS spells them.
//
// Tags with the reserved "aws:" prefix (which describe-task-definition
// prints for CloudFormation-made definitions) are dropped, since ECS
// rejects them on register. A leading UTF-8 byte order mark is skipped.
//
// Errors name the file's field by its JSON path, and all problems are
// reported at once: malformed JSON (with line and column), an unknown
// field (with a suggestion when the name is close to a known one), a value
// of the wrong type or out of range, a missing or invalid family, no
// containerDefinitions, a container without a valid name, or two
// containers with the same name, and every member the ECS client itself
// requires (see Validate). A container may lack an image (an image input
// can set it). The returned input is ready for SetImages and
// RegisterTaskDefinition.
func ParseFile(data []byte) (*ecs.RegisterTaskDefinitionInput, error) {
	in, _, err := ParseFileStripped(data)
	return in, err
}

// ParseFileStripped is ParseFile that also returns what it removed, so the
// caller can warn about it as the official action does: read-only members
// by JSON name (e.g. "revision"), and tags with the reserved "aws:" prefix,
// which ECS rejects on register, as "tag <key>" (e.g. "tag
// aws:cloudformation:stack-name").
func ParseFileStripped(data []byte) (in *ecs.RegisterTaskDefinitionInput, stripped []string, err error) {
	in, rep, err := ParseFileReport(data, nil)
	return in, rep.Stripped, err
}

// FileReport is what ParseFileReport removed from a file.
type FileReport struct {
	// Stripped are the read-only members and reserved tags removed (see
	// ParseFileStripped).
	Stripped []string
	// Emptied are the JSON paths of the empty values removed, as
	// aws-actions/amazon-ecs-deploy-task-definition removes them (see
	// removeEmpty), e.g. "containerDefinitions[0].command".
	Emptied []string
}

// ParseFileReport is ParseFile with the members whose empty value is kept
// (keepEmpty: the keep-null-value-keys input) and a report of what it
// removed.
func ParseFileReport(data []byte, keepEmpty []string) (in *ecs.RegisterTaskDefinitionInput, rep FileReport, err error) {
	in, rep.Stripped, rep.Emptied, err = parseFile(data, keepEmpty)
	return in, rep, err
}

func parseFile(data []byte, keepEmpty []string) (in *ecs.RegisterTaskDefinitionInput, stripped, emptied []string, err error) {
	if len(data) > maxFileSize {
		return nil, nil, nil, fmt.Errorf("task definition file: %d bytes is more than the %d allowed", len(data), maxFileSize)
	}
	// Editors on Windows may start the file with a UTF-8 byte order mark.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	root, err := decodeDocument(data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("task definition file: %w", err)
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, nil, nil, fmt.Errorf("task definition file: top level is %s, want an object", jsonKind(root))
	}

	prefix := ""
	var tags any
	if wrapped, isWrapper := obj["taskDefinition"]; isWrapper {
		// DescribeTaskDefinition output: {"taskDefinition": {...}, "tags": [...]}.
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k != "taskDefinition" && k != "tags" {
				return nil, nil, nil, fmt.Errorf("task definition file: unknown field %q next to \"taskDefinition\" (want only \"taskDefinition\" and \"tags\")", k)
			}
		}
		td, ok := wrapped.(map[string]any)
		if !ok {
			return nil, nil, nil, fmt.Errorf("task definition file: taskDefinition is %s, want a JSON object", jsonKind(wrapped))
		}
		obj, tags, prefix = td, obj["tags"], "taskDefinition."
		if _, dup := obj["tags"]; dup {
			return nil, nil, nil, errors.New(`task definition file: taskDefinition.tags: tags belong next to "taskDefinition", not inside it`)
		}
	} else {
		tags = obj["tags"]
		delete(obj, "tags")
	}

	for _, p := range removeEmpty(obj, keepEmpty) {
		emptied = append(emptied, prefix+p)
	}
	if tags != nil {
		wrap := map[string]any{"tags": tags}
		emptied = append(emptied, removeEmpty(wrap, keepEmpty)...)
		tags = wrap["tags"]
	}

	for _, k := range readOnlyJSON() {
		if _, ok := obj[k]; ok {
			stripped = append(stripped, k)
			delete(obj, k)
		}
	}

	reqSchema := schemas.RegisterTaskDefinitionRequest
	if err := checkShape(strings.TrimSuffix(prefix, "."), obj, reqSchema); err != nil {
		return nil, stripped, emptied, fmt.Errorf("task definition file: %w", err)
	}
	if tags != nil {
		if err := checkShape("tags", tags, reqSchema.Member("tags")); err != nil {
			return nil, stripped, emptied, fmt.Errorf("task definition file: %w", err)
		}
	}

	td, tagList, err := decodeSDK(obj, tags)
	if err != nil {
		return nil, stripped, emptied, fmt.Errorf("task definition file: %w", err)
	}
	// Reserved aws: tags cannot be registered (ECS rejects them); they are
	// dropped like the read-only members and reported.
	_, reserved := SplitTags(tagList)
	for _, t := range reserved {
		stripped = append(stripped, "tag "+aws.ToString(t.Key))
	}
	in = RegisterInput(td, tagList)
	if err := errors.Join(checkRequired(prefix, in), checkSDK(prefix, in)); err != nil {
		return nil, stripped, emptied, fmt.Errorf("task definition file: %w", err)
	}
	return in, stripped, emptied, nil
}

// validName reports whether s is a valid task definition family or
// container name as ECS documents them: 1 to 255 letters, numbers,
// hyphens and underscores.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// checkSDK runs Validate and keeps what checkRequired does not already
// report, with the file's path prefix.
func checkSDK(prefix string, in *ecs.RegisterTaskDefinitionInput) error {
	err := Validate(in)
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var errs []error
	for _, e := range list {
		msg := e.Error()
		if strings.HasPrefix(msg, "family:") || strings.HasPrefix(msg, "containerDefinitions:") {
			continue
		}
		errs = append(errs, errors.New(prefix+msg))
	}
	return errors.Join(errs...)
}

func checkRequired(prefix string, in *ecs.RegisterTaskDefinitionInput) error {
	var errs []error
	switch f := aws.ToString(in.Family); {
	case f == "":
		errs = append(errs, fmt.Errorf("%sfamily: missing, the task definition family is required", prefix))
	case !validName(f):
		errs = append(errs, fmt.Errorf("%sfamily: %q is not a valid family: use up to 255 letters, numbers, hyphens and underscores", prefix, f))
	}
	if len(in.ContainerDefinitions) == 0 {
		errs = append(errs, fmt.Errorf("%scontainerDefinitions: missing or empty, at least one container is required", prefix))
	}
	seen := map[string]int{}
	for i, c := range in.ContainerDefinitions {
		name := aws.ToString(c.Name)
		if name == "" {
			errs = append(errs, fmt.Errorf("%scontainerDefinitions[%d].name: missing, every container needs a name", prefix, i))
			continue
		}
		if !validName(name) {
			errs = append(errs, fmt.Errorf("%scontainerDefinitions[%d].name: %q is not a valid container name: use up to 255 letters, numbers, hyphens and underscores", prefix, i, name))
			continue
		}
		if j, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("%scontainerDefinitions[%d].name: %q is also the name of containerDefinitions[%d]", prefix, i, name, j))
			continue
		}
		seen[name] = i
	}
	return errors.Join(errs...)
}

// checkShape checks v (decoded with UseNumber) against the ECS model
// schema s, so that every problem is reported with its JSON path before
// the SDK's own decoder sees the document.
func checkShape(path string, v any, s *smithy.Schema) error {
	at := func() string {
		if path == "" {
			return "top level"
		}
		return path
	}
	switch s.Type() {
	case smithy.ShapeTypeStructure, smithy.ShapeTypeUnion:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: is %s, want a JSON object", at(), jsonKind(v))
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var errs []error
		for _, k := range keys {
			m := s.Member(k)
			if m == nil {
				errs = append(errs, unknownField(join(path, k), k, s))
				continue
			}
			if obj[k] == nil {
				delete(obj, k) // null is the same as absent
				continue
			}
			if err := checkShape(join(path, k), obj[k], m); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	case smithy.ShapeTypeList, smithy.ShapeTypeSet:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: is %s, want a JSON array", at(), jsonKind(v))
		}
		var errs []error
		for i, e := range list {
			p := path + "[" + strconv.Itoa(i) + "]"
			if e == nil {
				errs = append(errs, fmt.Errorf("%s: is null, want a value", p))
				continue
			}
			if err := checkShape(p, e, s.ListMember()); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	case smithy.ShapeTypeMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: is %s, want a JSON object", at(), jsonKind(v))
		}
		var errs []error
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if obj[k] == nil {
				errs = append(errs, fmt.Errorf("%s: is null, want a value", join(path, k)))
				continue
			}
			if err := checkShape(join(path, k), obj[k], s.MapValue()); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	case smithy.ShapeTypeString, smithy.ShapeTypeEnum:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: is %s, want a string", at(), jsonKind(v))
		}
	case smithy.ShapeTypeBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: is %s, want true or false", at(), jsonKind(v))
		}
	case smithy.ShapeTypeInteger, smithy.ShapeTypeIntEnum, smithy.ShapeTypeShort, smithy.ShapeTypeByte, smithy.ShapeTypeLong:
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: is %s, want a whole number", at(), jsonKind(v))
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %s is not a whole number in range", at(), n)
		}
		if s.Type() != smithy.ShapeTypeLong && (i < math.MinInt32 || i > math.MaxInt32) {
			return fmt.Errorf("%s: %d is out of range", at(), i)
		}
	case smithy.ShapeTypeFloat, smithy.ShapeTypeDouble:
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: is %s, want a number", at(), jsonKind(v))
		}
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
			return fmt.Errorf("%s: %s is out of range", at(), n)
		}
	default:
		// Timestamps, blobs and documents do not occur in a registerable
		// task definition; refuse rather than guess an encoding.
		return fmt.Errorf("%s: this field is not supported in a task definition file", at())
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// unknownField reports k as unknown, suggesting a member that differs only
// in case or a trailing "s".
func unknownField(path, k string, s *smithy.Schema) error {
	names := make([]string, 0, len(s.Members()))
	for name := range s.Members() {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.EqualFold(name, k) || strings.EqualFold(name, k+"s") || strings.EqualFold(name+"s", k) {
			return fmt.Errorf("%s: unknown field %q (did you mean %q?)", path, k, name)
		}
	}
	return fmt.Errorf("%s: unknown field %q", path, k)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonErr adds a line and column to encoding/json's syntax errors.
func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the offending one included.
		line, col := 1, 1
		for _, b := range data[:max(0, min(int(se.Offset)-1, len(data)))] {
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return fmt.Errorf("line %d, column %d: %w", line, col, err)
	}
	return err
}

// decodeSDK decodes the checked document with the ECS client's own
// awsJson 1.1 decoder (the one that reads DescribeTaskDefinition
// responses), so member names, enums and number widths are exactly the
// SDK's.
func decodeSDK(td map[string]any, tags any) (*types.TaskDefinition, []types.Tag, error) {
	body := map[string]any{"taskDefinition": td}
	if tags != nil {
		body["tags"] = tags
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("re-encode: %w", err)
	}
	proto := awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113)
	op := smithy.NewOperationSchema(schemas.DescribeTaskDefinition, schemas.DescribeTaskDefinitionRequest, schemas.DescribeTaskDefinitionResponse)
	resp := &smithyhttp.Response{Response: &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{},
		Body:       io.NopCloser(bytes.NewReader(payload)),
	}}
	out := &ecs.DescribeTaskDefinitionOutput{}
	if err := proto.DeserializeResponse(context.Background(), op, nil, resp, out); err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	if out.TaskDefinition == nil {
		out.TaskDefinition = &types.TaskDefinition{}
	}
	return out.TaskDefinition, out.Tags, nil
}
