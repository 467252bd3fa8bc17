// Package sdkcheck runs aws-sdk-go-v2's own client-side validation of an
// ECS request (required members, nested ones included) without sending
// anything: the taskdef package checks task-definition files with it, and
// the simulator rejects requests the way the real SDK-validated API does.
package sdkcheck

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"
)

// ErrValid is what every call of a Client returns when the input passed
// the SDK's validation.
var ErrValid = errors.New("sdkcheck: input is valid")

// Client returns an ECS client whose calls stop after the SDK's
// validation, before anything is serialized or sent. A call returns
// ErrValid for a valid input and the SDK's smithy.InvalidParamsError
// otherwise. It needs no region, credentials or network.
func Client() *ecs.Client {
	stop := middleware.SerializeMiddlewareFunc("sdkcheckStopBeforeSend",
		func(context.Context, middleware.SerializeInput, middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
			return middleware.SerializeOutput{}, middleware.Metadata{}, ErrValid
		})
	return ecs.New(ecs.Options{
		Region:           "us-east-1",
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Serialize.Add(stop, middleware.Before)
		}},
	})
}
