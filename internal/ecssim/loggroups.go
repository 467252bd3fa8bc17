package ecssim

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// describeLogGroups answers CloudWatch Logs' DescribeLogGroups
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html):
// the log groups whose name starts with logGroupNamePrefix (or contains
// logGroupNamePattern; not both), in name order, limit (1–50, default
// 50) at a time.
func (s *Sim) describeLogGroups(body []byte) (any, *apiError) {
	in := new(cloudwatchlogs.DescribeLogGroupsInput)
	if err := decodeStrict(body, in); err != nil {
		return nil, err.(*apiError)
	}
	prefix, pattern := aws.ToString(in.LogGroupNamePrefix), aws.ToString(in.LogGroupNamePattern)
	if prefix != "" && pattern != "" {
		return nil, errInvalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50", *in.Limit)
		}
		limit = int(*in.Limit)
	}
	var match []string
	for _, name := range sortedKeys(s.acct.logGroups) {
		if strings.HasPrefix(name, prefix) && strings.Contains(name, pattern) {
			match = append(match, name)
		}
	}
	start, end, next, ok := page(aws.ToString(in.NextToken), len(match), limit)
	if !ok {
		return nil, errInvalidParam("The specified nextToken is invalid.")
	}
	out := &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: []logtypes.LogGroup{}}
	for _, name := range match[start:end] {
		arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.acct.region, s.acct.account, name)
		out.LogGroups = append(out.LogGroups, logtypes.LogGroup{
			LogGroupName:      aws.String(name),
			Arn:               aws.String(arn + ":*"),
			LogGroupArn:       aws.String(arn),
			CreationTime:      aws.Int64(s.acct.logGroups[name].UnixMilli()),
			StoredBytes:       aws.Int64(0),
			LogGroupClass:     logtypes.LogGroupClassStandard,
			MetricFilterCount: aws.Int32(0),
		})
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return encodeJSONBody(out)
}

// taskDefinitionLogGroups lists the awslogs groups of task definitions.
func taskDefinitionLogGroups(tds []ScenarioTaskDefinition) []string {
	var out []string
	for _, td := range tds {
		for _, c := range td.ContainerDefinitions {
			if lc := c.LogConfiguration; lc != nil && lc.LogDriver == "awslogs" && lc.Options["awslogs-group"] != "" {
				out = append(out, lc.Options["awslogs-group"])
			}
		}
	}
	return out
}
