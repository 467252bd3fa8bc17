package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// MarshalFile writes in as a task definition file: the JSON body the ECS
// client sends for RegisterTaskDefinition (camelCase members, tags at the
// top level), indented. ParseFile reads it back to the same input, and
// aws-actions/amazon-ecs-deploy-task-definition (or the render action's
// task-definition input) takes it as it is.
func MarshalFile(in *ecs.RegisterTaskDefinitionInput) ([]byte, error) {
	proto := awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113)
	op := smithy.NewOperationSchema(schemas.RegisterTaskDefinition, schemas.RegisterTaskDefinitionRequest, schemas.RegisterTaskDefinitionResponse)
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if err := proto.SerializeRequest(context.Background(), op, in, req); err != nil {
		return nil, fmt.Errorf("task definition file: serialize: %w", err)
	}
	body, err := io.ReadAll(req.GetStream())
	if err != nil {
		return nil, fmt.Errorf("task definition file: serialize: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return nil, fmt.Errorf("task definition file: indent: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
