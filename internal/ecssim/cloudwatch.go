package ecssim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch speaks Smithy RPC v2 CBOR: POST
// /service/GraniteServiceVersion20100801/operation/<Op> with the header
// "Smithy-Protocol: rpc-v2-cbor" and a CBOR body. The service is
// awsQueryCompatible, so errors also carry their query-protocol code in
// the X-Amzn-Query-Error header.
const (
	cloudWatchPathPrefix = "/service/GraniteServiceVersion20100801/operation/"
	cborContentType      = "application/cbor"
)

// wireProtocol is how a request and its answer are encoded.
type wireProtocol int

const (
	protoJSON wireProtocol = iota // awsJson1_1 (ECS, CloudWatch Logs)
	protoCBOR                     // Smithy RPC v2 CBOR (CloudWatch)
)

// cborOperation returns the operation a Smithy RPC v2 CBOR request names,
// or "" when r is not one.
func cborOperation(r *http.Request) string {
	if !strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") {
		return ""
	}
	return strings.TrimPrefix(r.URL.Path, cloudWatchPathPrefix)
}

// iamAction names the IAM action of an operation, for AccessDenied
// messages.
func iamAction(op string, proto wireProtocol) string {
	switch {
	case proto == protoCBOR:
		return "cloudwatch:" + op
	case op == "GetLogEvents":
		return "logs:" + op
	case accountIAMAction(op) != "":
		return accountIAMAction(op)
	}
	return "ecs:" + op
}

func errValidation(format string, a ...any) *apiError {
	return &apiError{Code: "ValidationError", Message: fmt.Sprintf(format, a...), Status: 400}
}

func (s *Sim) dispatchCloudWatch(req *request) (any, *apiError) {
	switch req.op {
	case "DescribeAlarms":
		return s.describeAlarms(req)
	}
	return nil, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q.", req.op), Status: 400}
}

// describeAlarmsInput is the part of DescribeAlarmsInput the simulator
// reads.
type describeAlarmsInput struct {
	names      []string
	prefix     string
	types      []string
	state      string
	maxRecords int
	nextToken  string
}

func decodeDescribeAlarms(body []byte) (describeAlarmsInput, *apiError) {
	in := describeAlarmsInput{maxRecords: 50}
	if len(body) == 0 {
		return in, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return in, errSerialization("could not decode the CBOR request body: %v", err)
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return in, errSerialization("the request body is not a CBOR map")
	}
	str := func(key string) (string, *apiError) {
		x, ok := m[key]
		if !ok {
			return "", nil
		}
		s, ok := x.(cbor.String)
		if !ok {
			return "", errSerialization("%s must be a string", key)
		}
		return string(s), nil
	}
	list := func(key string) ([]string, *apiError) {
		x, ok := m[key]
		if !ok {
			return nil, nil
		}
		l, ok := x.(cbor.List)
		if !ok {
			return nil, errSerialization("%s must be a list", key)
		}
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(cbor.String)
			if !ok {
				return nil, errSerialization("%s must be a list of strings", key)
			}
			out = append(out, string(s))
		}
		return out, nil
	}
	var aerr *apiError
	if in.names, aerr = list("AlarmNames"); aerr != nil {
		return in, aerr
	}
	if in.types, aerr = list("AlarmTypes"); aerr != nil {
		return in, aerr
	}
	if in.prefix, aerr = str("AlarmNamePrefix"); aerr != nil {
		return in, aerr
	}
	if in.state, aerr = str("StateValue"); aerr != nil {
		return in, aerr
	}
	if in.nextToken, aerr = str("NextToken"); aerr != nil {
		return in, aerr
	}
	if x, ok := m["MaxRecords"]; ok {
		n, err := cbor.AsInt32(x)
		if err != nil {
			return in, errSerialization("MaxRecords must be an integer")
		}
		in.maxRecords = int(n)
	}
	for _, k := range []string{"ChildrenOfAlarmName", "ParentsOfAlarmName", "ActionPrefix"} {
		if _, ok := m[k]; ok {
			return in, errValidation("%s is not supported by the simulator", k)
		}
	}
	return in, nil
}

// describeAlarms answers DescribeAlarms as CloudWatch does: alarms sorted
// by name, metric alarms only unless AlarmTypes says otherwise, names that
// match no alarm left out (not an error), MaxRecords (default 50) per page
// with a NextToken.
func (s *Sim) describeAlarms(req *request) (any, *apiError) {
	in, aerr := decodeDescribeAlarms(req.body)
	if aerr != nil {
		return nil, aerr
	}
	if len(in.names) > 100 {
		return nil, errValidation("1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	if len(in.names) > 0 && in.prefix != "" {
		return nil, &apiError{Code: "InvalidParameterCombination", Message: "AlarmNamePrefix and AlarmNames cannot be specified together.", Status: 400}
	}
	if in.maxRecords < 1 || in.maxRecords > 100 {
		return nil, errValidation("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", in.maxRecords)
	}
	if in.state != "" && !AlarmState(in.state).valid() {
		return nil, errValidation("1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", in.state)
	}
	wantMetric, wantComposite := len(in.types) == 0, false
	for _, t := range in.types {
		switch t {
		case "MetricAlarm":
			wantMetric = true
		case "CompositeAlarm":
			wantComposite = true
		case "LogAlarm":
		default:
			return nil, errValidation("1 validation error detected: Value '%s' at 'alarmTypes' failed to satisfy constraint: Member must satisfy enum value set: [CompositeAlarm, MetricAlarm, LogAlarm]", t)
		}
	}
	after := ""
	if in.nextToken != "" {
		b, err := base64.StdEncoding.DecodeString(in.nextToken)
		if err != nil || len(b) == 0 {
			return nil, &apiError{Code: "InvalidNextToken", Message: "The next token specified is invalid.", Status: 400}
		}
		after = string(b)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.advanceLocked(now)
	wanted := map[string]bool{}
	for _, n := range in.names {
		wanted[n] = true
	}
	var names []string
	for n, a := range s.cw.alarms {
		switch {
		case len(wanted) > 0 && !wanted[n],
			in.prefix != "" && !strings.HasPrefix(n, in.prefix),
			a.Composite && !wantComposite, !a.Composite && !wantMetric,
			in.state != "" && string(a.stateAt(now).state) != in.state,
			after != "" && n <= after:
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	metric, composite := cbor.List{}, cbor.List{}
	out := cbor.Map{}
	if len(names) > in.maxRecords {
		names = names[:in.maxRecords]
		out["NextToken"] = cbor.String(base64.StdEncoding.EncodeToString([]byte(names[len(names)-1])))
	}
	for _, n := range names {
		a := s.cw.alarms[n]
		if a.Composite {
			composite = append(composite, a.cbor(now))
		} else {
			metric = append(metric, a.cbor(now))
		}
	}
	out["MetricAlarms"] = metric
	out["CompositeAlarms"] = composite
	s.recordLocked(req, "")
	return out, nil
}

func cborTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

// cbor renders the alarm as DescribeAlarms returns it at now.
func (a *alarm) cbor(now time.Time) cbor.Map {
	st := a.stateAt(now)
	m := cbor.Map{
		"AlarmName":                          cbor.String(a.Name),
		"AlarmArn":                           cbor.String(a.arn),
		"AlarmConfigurationUpdatedTimestamp": cborTime(a.created),
		"ActionsEnabled":                     cbor.Bool(true),
		"OKActions":                          cbor.List{},
		"AlarmActions":                       cbor.List{},
		"InsufficientDataActions":            cbor.List{},
		"StateValue":                         cbor.String(st.state),
		"StateReason":                        cbor.String(st.reason),
		"StateUpdatedTimestamp":              cborTime(st.at),
		"StateTransitionedTimestamp":         cborTime(st.at),
	}
	if a.Composite {
		m["AlarmRule"] = cbor.String(a.AlarmRule)
		return m
	}
	m["Namespace"] = cbor.String(a.Namespace)
	m["MetricName"] = cbor.String(a.MetricName)
	if a.ExtendedStatistic != "" {
		m["ExtendedStatistic"] = cbor.String(a.ExtendedStatistic)
	} else {
		m["Statistic"] = cbor.String(a.Statistic)
	}
	m["Dimensions"] = cbor.List{}
	m["Period"] = cbor.Uint(60)
	m["EvaluationPeriods"] = cbor.Uint(1)
	m["DatapointsToAlarm"] = cbor.Uint(1)
	m["Threshold"] = cbor.Float64(a.Threshold)
	m["ComparisonOperator"] = cbor.String(a.ComparisonOperator)
	m["TreatMissingData"] = cbor.String("notBreaching")
	return m
}

// writeCBOR writes a successful Smithy RPC v2 CBOR answer.
func writeCBOR(w http.ResponseWriter, v cbor.Value, requestID string) {
	w.Header().Set("Content-Type", cborContentType)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(cbor.Encode(v))
}

// writeCBORError writes an error in Smithy RPC v2 CBOR, with the
// awsQueryCompatible X-Amzn-Query-Error header.
func writeCBORError(w http.ResponseWriter, e *apiError, requestID string) {
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", cborContentType)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+fault)
	w.WriteHeader(e.Status)
	w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(e.Code), "message": cbor.String(e.Message)}))
}
