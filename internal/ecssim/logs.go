package ecssim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func (s *Sim) dispatchLogs(req *request) (any, *apiError) {
	switch req.op {
	case "GetLogEvents":
		return handleLogs(s, req.body)
	case "DescribeLogGroups":
		return s.describeLogGroups(req.body)
	}
	return nil, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q.", req.op), Status: 400}
}

func handleLogs(s *Sim, body []byte) (any, *apiError) {
	in := new(cloudwatchlogs.GetLogEventsInput)
	if err := decodeStrict(body, in); err != nil {
		return nil, err.(*apiError)
	}
	if aws.ToString(in.LogStreamName) == "" {
		return nil, &apiError{Code: "InvalidParameterException", Message: "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null", Status: 400}
	}
	group := aws.ToString(in.LogGroupName)
	if group == "" {
		group = aws.ToString(in.LogGroupIdentifier)
		if i := strings.Index(group, ":log-group:"); i >= 0 {
			group = strings.TrimSuffix(group[i+len(":log-group:"):], ":*")
		}
	}
	if group == "" {
		return nil, &apiError{Code: "InvalidParameterException", Message: "Either logGroupName or logGroupIdentifier must be specified.", Status: 400}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	lines, start, groupFound, ok := s.logLinesLocked(group, *in.LogStreamName)
	if !ok {
		if !groupFound {
			return nil, errLogGroupNotFound()
		}
		return nil, errLogStreamNotFound()
	}
	events := make([]logtypes.OutputLogEvent, len(lines))
	for i, l := range lines {
		ts := start.Add(time.Duration(i) * time.Millisecond).UnixMilli()
		events[i] = logtypes.OutputLogEvent{Timestamp: aws.Int64(ts), IngestionTime: aws.Int64(ts + 5), Message: aws.String(l)}
	}
	// Filter by time.
	var filtered []logtypes.OutputLogEvent
	for _, e := range events {
		if in.StartTime != nil && *e.Timestamp < *in.StartTime {
			continue
		}
		if in.EndTime != nil && *e.Timestamp >= *in.EndTime {
			continue
		}
		filtered = append(filtered, e)
	}
	n := len(filtered)
	limit := n
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, &apiError{Code: "InvalidParameterException", Message: "limit must be between 1 and 10000.", Status: 400}
		}
		if int(*in.Limit) < limit {
			limit = int(*in.Limit)
		}
	}
	// Window [lo, hi). Tokens are "f/<hi>" and "b/<lo>".
	lo, hi := n-limit, n
	if in.StartFromHead != nil && *in.StartFromHead {
		lo, hi = 0, limit
	}
	if tok := aws.ToString(in.NextToken); tok != "" {
		dir, pos, ok := strings.Cut(tok, "/")
		p, err := strconv.Atoi(pos)
		if !ok || err != nil || p < 0 {
			return nil, &apiError{Code: "InvalidParameterException", Message: "The specified nextToken is invalid.", Status: 400}
		}
		if p > n {
			p = n
		}
		switch dir {
		case "f":
			lo, hi = p, min(p+limit, n)
		case "b":
			lo, hi = max(p-limit, 0), p
		default:
			return nil, &apiError{Code: "InvalidParameterException", Message: "The specified nextToken is invalid.", Status: 400}
		}
	}
	out := &cloudwatchlogs.GetLogEventsOutput{
		Events:            append([]logtypes.OutputLogEvent{}, filtered[lo:hi]...),
		NextForwardToken:  aws.String(fmt.Sprintf("f/%036d", hi)),
		NextBackwardToken: aws.String(fmt.Sprintf("b/%036d", lo)),
	}
	return out, nil
}

// logLinesLocked finds the lines of the stream "<prefix>/<container>/<task>"
// in group, and when the container started writing them.
func (s *Sim) logLinesLocked(group, stream string) (lines []string, start time.Time, groupFound, ok bool) {
	parts := strings.Split(stream, "/")
	taskID := parts[len(parts)-1]
	for _, cl := range s.cOrder {
		for _, t := range cl.tOrder {
			for _, c := range t.containers {
				if c.logGroup == group {
					groupFound = true
				}
			}
		}
		t, found := cl.tasks[taskID]
		if !found {
			continue
		}
		for _, c := range t.containers {
			if c.logGroup != group || c.logStream != stream || c.startedAt.IsZero() {
				continue
			}
			return s.linesFor(c), c.startedAt, true, true
		}
	}
	return nil, time.Time{}, groupFound, false
}

func (s *Sim) linesFor(c *container) []string {
	if c.lines != nil {
		return c.lines
	}
	if c.rule != nil && len(c.rule.Logs) > 0 {
		return c.rule.Logs
	}
	return s.logs[c.behavior]
}
