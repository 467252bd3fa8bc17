package sdkcheck

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

func TestClient(t *testing.T) {
	t.Parallel()
	c := Client()
	_, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{"web"}})
	if !errors.Is(err, ErrValid) {
		t.Errorf("valid input: got %v, want ErrValid", err)
	}
	_, err = c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod")})
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) {
		t.Errorf("missing service: got %v, want an InvalidParamsError", err)
	}
}
