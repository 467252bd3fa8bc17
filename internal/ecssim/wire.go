package ecssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecsdocument "github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/smithy-go"
	smithydocument "github.com/aws/smithy-go/document"

	"github.com/ecs-rollout/ecs-rollout/internal/sdkcheck"
)

// apiError is an error returned to the client in awsJson1_1 form.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errClient(format string, a ...any) *apiError {
	return &apiError{Code: "ClientException", Message: fmt.Sprintf(format, a...), Status: 400}
}

func errInvalidParam(format string, a ...any) *apiError {
	return &apiError{Code: "InvalidParameterException", Message: fmt.Sprintf(format, a...), Status: 400}
}

func errSerialization(format string, a ...any) *apiError {
	return &apiError{Code: "SerializationException", Message: fmt.Sprintf(format, a...), Status: 400}
}

// The errors with fixed wording, made fresh for each use.
func errClusterNotFound() *apiError {
	return &apiError{Code: "ClusterNotFoundException", Message: "Cluster not found.", Status: 400}
}

func errServiceNotFound() *apiError {
	return &apiError{Code: "ServiceNotFoundException", Message: "Service not found.", Status: 400}
}

func errServiceNotActive() *apiError {
	return &apiError{Code: "ServiceNotActiveException", Message: "Service was not ACTIVE.", Status: 400}
}

func errThrottling() *apiError {
	return &apiError{Code: "ThrottlingException", Message: "Rate exceeded", Status: 400}
}

func errServer() *apiError {
	return &apiError{Code: "ServerException", Message: "Service Unavailable. Please try again later.", Status: 500}
}

func errLogStreamNotFound() *apiError {
	return &apiError{Code: "ResourceNotFoundException", Message: "The specified log stream does not exist.", Status: 400}
}

func errLogGroupNotFound() *apiError {
	return &apiError{Code: "ResourceNotFoundException", Message: "The specified log group does not exist.", Status: 400}
}

// statusForCode is the HTTP status ECS uses for an error code.
func statusForCode(code string) int {
	switch code {
	case "ServerException", "InternalFailure", "ServiceUnavailableException":
		return 500
	}
	return 400
}

// decodeStrict decodes an awsJson1_1 document into v (a pointer to an SDK
// input or type struct). Member names are the lowerCamelCase wire names of
// the exported Go fields. Unknown members, values of the wrong type and
// malformed JSON are reported as SerializationException.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return errSerialization("could not parse request body as JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errSerialization("unexpected data after the JSON document")
	}
	if err := assign(reflect.ValueOf(v).Elem(), raw, ""); err != nil {
		return errSerialization("%v", err)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// wireName is the JSON member name of an exported Go field.
func wireName(field string) string {
	r, n := utf8.DecodeRuneInString(field)
	return string(unicode.ToLower(r)) + field[n:]
}

// fieldByWireName finds the exported field of struct type t serialized as name.
func fieldByWireName(t reflect.Type, name string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Name == "ResultMetadata" {
			continue
		}
		if wireName(f.Name) == name {
			return i, true
		}
	}
	return 0, false
}

func assign(dst reflect.Value, raw any, path string) error {
	if raw == nil {
		return nil // JSON null: leave the zero value, as the SDKs do
	}
	if dst.Type() == timeType {
		n, ok := raw.(json.Number)
		if !ok {
			return fmt.Errorf("%s: expected a timestamp (epoch seconds)", pathOr(path))
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %w", pathOr(path), err)
		}
		sec, frac := math.Modf(f)
		dst.Set(reflect.ValueOf(time.Unix(int64(sec), int64(frac*1e9)).UTC()))
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		nv := reflect.New(dst.Type().Elem())
		if err := assign(nv.Elem(), raw, path); err != nil {
			return err
		}
		dst.Set(nv)
		return nil
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected an object", pathOr(path))
		}
		for k, val := range obj {
			i, ok := fieldByWireName(dst.Type(), k)
			if !ok {
				return fmt.Errorf("unknown member %q in %s", k, structName(dst.Type(), path))
			}
			if err := assign(dst.Field(i), val, joinPath(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if dst.Type().Elem().Kind() == reflect.Uint8 { // blob
			s, ok := raw.(string)
			if !ok {
				return fmt.Errorf("%s: expected a base64 string", pathOr(path))
			}
			dst.SetBytes([]byte(s))
			return nil
		}
		arr, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("%s: expected a list", pathOr(path))
		}
		sl := reflect.MakeSlice(dst.Type(), len(arr), len(arr))
		for i, e := range arr {
			if err := assign(sl.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(sl)
		return nil
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a map", pathOr(path))
		}
		m := reflect.MakeMapWithSize(dst.Type(), len(obj))
		for k, e := range obj {
			ev := reflect.New(dst.Type().Elem()).Elem()
			if err := assign(ev, e, joinPath(path, k)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		dst.Set(m)
		return nil
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("%s: expected a string", pathOr(path))
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return fmt.Errorf("%s: expected a boolean", pathOr(path))
		}
		dst.SetBool(b)
		return nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		n, ok := raw.(json.Number)
		if !ok {
			return fmt.Errorf("%s: expected a number", pathOr(path))
		}
		i, err := n.Int64()
		if err != nil || dst.OverflowInt(i) {
			return fmt.Errorf("%s: expected an integer, got %s", pathOr(path), n)
		}
		dst.SetInt(i)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := raw.(json.Number)
		if !ok {
			return fmt.Errorf("%s: expected a number", pathOr(path))
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %w", pathOr(path), err)
		}
		dst.SetFloat(f)
		return nil
	case reflect.Interface:
		if dst.Type() == documentType { // e.g. lifecycleHooks[].hookDetails: kept as given
			dst.Set(reflect.ValueOf(ecsdocument.NewLazyDocument(plainJSON(raw))))
			return nil
		}
		return fmt.Errorf("%s: unions are not supported by the simulator", pathOr(path))
	}
	return fmt.Errorf("%s: unsupported type %s", pathOr(path), dst.Type())
}

var documentType = reflect.TypeOf((*ecsdocument.Interface)(nil)).Elem()

// plainJSON turns the json.Numbers of a decoded document into int64 or
// float64, which the SDK's document encoder writes as numbers.
func plainJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainJSON(e)
		}
		return out
	}
	return v
}

func structName(t reflect.Type, path string) string {
	if path == "" {
		return strings.TrimSuffix(t.Name(), "Input")
	}
	return path
}

func pathOr(p string) string {
	if p == "" {
		return "request"
	}
	return p
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

// encodeJSON renders an SDK output struct in awsJson1_1: members under
// their lowerCamelCase wire names; nil pointers, slices and maps and empty
// enum strings left out; non-pointer numbers and booleans always written
// (as ECS does, e.g. "pendingCount": 0); timestamps as epoch seconds.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeValue(b *bytes.Buffer, v reflect.Value) error {
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		b.WriteString(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		if m, ok := v.Interface().(smithydocument.Marshaler); ok && v.Kind() == reflect.Interface { // a document, as given
			raw, err := m.MarshalSmithyDocument()
			if err != nil {
				return fmt.Errorf("encode document: %w", err)
			}
			b.Write(raw)
			return nil
		}
		return encodeValue(b, v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			fv := v.Field(i)
			if omitMember(fv) {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			name, _ := json.Marshal(wireName(f.Name))
			b.Write(name)
			b.WriteByte(':')
			if err := encodeValue(b, fv); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s, _ := json.Marshal(v.Bytes())
			b.Write(s)
			return nil
		}
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeValue(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			ks, _ := json.Marshal(k.String())
			b.Write(ks)
			b.WriteByte(':')
			if err := encodeValue(b, v.MapIndex(k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case reflect.String:
		s, _ := json.Marshal(v.String())
		b.Write(s)
		return nil
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
		return nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
		return nil
	case reflect.Float32, reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
		return nil
	}
	return fmt.Errorf("encode: unsupported type %s", v.Type())
}

func omitMember(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	case reflect.String:
		return v.Len() == 0
	}
	return false
}

// validator runs the SDK's own required-member validation of an input,
// without sending anything.
type validator struct {
	client *ecs.Client
}

func newValidator() *validator { return &validator{client: sdkcheck.Client()} }

// validateWith calls op (a method of the validator's client) with in and
// turns a validation failure into an InvalidParameterException.
func validateWith[In, Out any](op func(context.Context, *In, ...func(*ecs.Options)) (Out, error), in *In) error {
	_, err := op(context.Background(), in)
	if err == nil || errors.Is(err, sdkcheck.ErrValid) {
		return nil
	}
	var ip smithy.InvalidParamsError
	if errors.As(err, &ip) {
		msg := strings.TrimSpace(strings.ReplaceAll(ip.Error(), "\n", " "))
		return errInvalidParam("%s", msg)
	}
	return nil
}
