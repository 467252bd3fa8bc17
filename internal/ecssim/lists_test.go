package ecssim

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestListTaskDefinitionsAndServices: a family's ACTIVE revisions newest
// first (sort DESC) page by page, INACTIVE ones only when asked, and a
// cluster's services page by page.
func TestListTaskDefinitionsAndServices(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := fakeClockSim(t, demoScenario(t))
		ctx := context.Background()
		for range 3 {
			deploy(t, c, "public.ecr.aws/ecs-rollout/web:good") // web:2, web:3, web:4
		}
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
			t.Fatal(err)
		}
		var got []string
		var token *string
		for {
			out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc, MaxResults: aws.Int32(2), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range out.TaskDefinitionArns {
				got = append(got, a[strings.LastIndex(a, "/")+1:])
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		if g := strings.Join(got, ","); g != "web:4,web:3,web:1" {
			t.Errorf("ACTIVE revisions, newest first: got %s, want web:4,web:3,web:1", g)
		}
		out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: types.TaskDefinitionStatusInactive})
		if err != nil || len(out.TaskDefinitionArns) != 1 || !strings.HasSuffix(out.TaskDefinitionArns[0], "/web:2") {
			t.Errorf("INACTIVE revisions: got %v, %v; want web:2", out, err)
		}
		svcs, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("demo"), MaxResults: aws.Int32(1)})
		if err != nil || len(svcs.ServiceArns) != 1 || !strings.HasSuffix(svcs.ServiceArns[0], "/web") {
			t.Errorf("ListServices: got %+v, %v; want web", svcs, err)
		}
		if _, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("demo"), MaxResults: aws.Int32(101)}); err == nil {
			t.Errorf("ListServices maxResults 101: no error")
		}
	})
}
