package ecssim

import (
	"bytes"
	"context"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logsschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecsschemas "github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/google/go-cmp/cmp"
)

// fill sets every exported member of v (recursively) to a non-zero value,
// so a round trip shows any member lost or renamed.
func fill(v reflect.Value, path string, depth int) {
	if depth > 8 {
		return
	}
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.UnixMilli(1_700_000_000_123 + int64(len(path))).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		fill(n.Elem(), path, depth+1)
		v.Set(n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			fill(v.Field(i), path+"."+f.Name, depth+1)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("blob"))
			return
		}
		if v.Type().Elem().Kind() == reflect.Interface {
			return // lists of unions are not used by the simulator
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), path+"[0]", depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, path+"{}", depth+1)
		m.SetMapIndex(reflect.ValueOf("key").Convert(v.Type().Key()), e)
		v.Set(m)
	case reflect.String:
		v.SetString("s" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(int64(7 + len(path)%50))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Interface:
		// unions are not used by the simulator
	}
}

var exportedOnly = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && (!token.IsExported(sf.Name()) || sf.Name() == "ResultMetadata")
	}, cmp.Ignore()),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
}

// wireOp is one API operation whose input the simulator decodes and whose
// output it encodes, checked against the SDK's own protocol code.
type wireOp struct {
	name  string
	in    smithy.Serializable
	out   smithy.Deserializable
	proto *awsjson.Protocol
	reg   *smithy.TypeRegistry
}

// wireOps lists the operations the simulator serves over JSON 1.1.
func wireOps() []wireOp {
	ecsProto := awsjson.New11(ecsschemas.AmazonEC2ContainerServiceV20141113)
	logsProto := awsjson.New11(logsschemas.Logs_20140328)
	return []wireOp{
		{"DescribeServices", &ecs.DescribeServicesInput{}, &ecs.DescribeServicesOutput{}, ecsProto, ecs.TypeRegistry},
		{"DescribeTasks", &ecs.DescribeTasksInput{}, &ecs.DescribeTasksOutput{}, ecsProto, ecs.TypeRegistry},
		{"ListTasks", &ecs.ListTasksInput{}, &ecs.ListTasksOutput{}, ecsProto, ecs.TypeRegistry},
		{"DescribeTaskDefinition", &ecs.DescribeTaskDefinitionInput{}, &ecs.DescribeTaskDefinitionOutput{}, ecsProto, ecs.TypeRegistry},
		{"RegisterTaskDefinition", &ecs.RegisterTaskDefinitionInput{}, &ecs.RegisterTaskDefinitionOutput{}, ecsProto, ecs.TypeRegistry},
		{"DeregisterTaskDefinition", &ecs.DeregisterTaskDefinitionInput{}, &ecs.DeregisterTaskDefinitionOutput{}, ecsProto, ecs.TypeRegistry},
		{"UpdateService", &ecs.UpdateServiceInput{}, &ecs.UpdateServiceOutput{}, ecsProto, ecs.TypeRegistry},
		{"DescribeClusters", &ecs.DescribeClustersInput{}, &ecs.DescribeClustersOutput{}, ecsProto, ecs.TypeRegistry},
		{"GetLogEvents", &cloudwatchlogs.GetLogEventsInput{}, &cloudwatchlogs.GetLogEventsOutput{}, logsProto, cloudwatchlogs.TypeRegistry},
	}
}

// TestEncodeMatchesSDKDecoder encodes fully populated outputs with the
// simulator's encoder and decodes them with the SDK's own protocol code.
func TestEncodeMatchesSDKDecoder(t *testing.T) {
	t.Parallel()
	op := smithy.NewOperationSchema(ecsschemas.DescribeServices, ecsschemas.DescribeServicesRequest, ecsschemas.DescribeServicesResponse)
	for _, tt := range wireOps() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := reflect.New(reflect.TypeOf(tt.out).Elem())
			fill(want.Elem(), "", 0)
			b, err := encodeJSON(want.Interface())
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got := reflect.New(want.Type().Elem()).Interface().(smithy.Deserializable)
			resp := &smithyhttp.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(b))}}
			if err := tt.proto.DeserializeResponse(context.Background(), op, tt.reg, resp, got); err != nil {
				t.Fatalf("SDK decode: %v\n%s", err, b)
			}
			if diff := cmp.Diff(want.Interface(), got, exportedOnly); diff != "" {
				t.Errorf("SDK decoded something else than was encoded (-encoded +decoded):\n%s", diff)
			}
		})
	}
}

// TestDecodeMatchesSDKEncoder encodes fully populated inputs with the SDK's
// own protocol code and decodes them with the simulator's strict decoder.
func TestDecodeMatchesSDKEncoder(t *testing.T) {
	t.Parallel()
	op := smithy.NewOperationSchema(ecsschemas.DescribeServices, ecsschemas.DescribeServicesRequest, ecsschemas.DescribeServicesResponse)
	for _, tt := range wireOps() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := reflect.New(reflect.TypeOf(tt.in).Elem())
			fill(want.Elem(), "", 0)
			req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
			req.URL = &url.URL{Scheme: "http", Host: "localhost", Path: "/"}
			if err := tt.proto.SerializeRequest(context.Background(), op, want.Interface().(smithy.Serializable), req); err != nil {
				t.Fatalf("SDK encode: %v", err)
			}
			b, err := io.ReadAll(req.GetStream())
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(want.Type().Elem())
			if err := decodeStrict(b, got.Interface()); err != nil {
				t.Fatalf("decode: %v\n%s", err, b)
			}
			if diff := cmp.Diff(want.Interface(), got.Interface(), exportedOnly); diff != "" {
				t.Errorf("decoded something else than the SDK encoded (-SDK +decoded):\n%s", diff)
			}
		})
	}
}

func TestDecodeStrictRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"unknown top-level member", `{"taskDefinition":"web:1","bogus":1}`, `unknown member "bogus"`},
		{"unknown nested member", `{"family":"web","containerDefinitions":[{"name":"a","image":"b","colour":"red"}]}`, `unknown member "colour" in containerDefinitions[0]`},
		{"wrong type", `{"taskDefinition":5}`, `taskDefinition: expected a string`},
		{"not JSON", `{"taskDefinition":`, `could not parse`},
		{"trailing data", `{} {}`, `unexpected data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in ecs.RegisterTaskDefinitionInput
			var in2 ecs.DescribeTaskDefinitionInput
			var err error
			if strings.Contains(tt.body, "family") {
				err = decodeStrict([]byte(tt.body), &in)
			} else {
				err = decodeStrict([]byte(tt.body), &in2)
			}
			ae, ok := err.(*apiError)
			if !ok || ae.Code != "SerializationException" || !strings.Contains(ae.Message, tt.want) {
				t.Errorf("got %v, want SerializationException containing %q", err, tt.want)
			}
		})
	}
}
