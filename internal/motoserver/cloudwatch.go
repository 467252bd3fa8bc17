package motoserver

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch serves moto_server's CloudWatch at motoURL to the AWS SDK's
// CloudWatch client and returns the URL to give that client as its
// BaseEndpoint. The SDK speaks Smithy RPC v2 CBOR to CloudWatch; moto
// 5.2 answers only CloudWatch's older query protocol (form-encoded
// requests, XML answers). This translator carries each request's members
// over as query parameters unchanged, so the answers (which alarms
// DescribeAlarms returns for which names, their states and reasons) are
// moto's own; it converts DescribeAlarms's XML answer to CBOR, answers
// other operations with an empty structure, and moto's errors as CBOR
// errors with the query error code. moto creates composite alarms with
// PutMetricAlarm and an AlarmRule (it has no PutCompositeAlarm): the
// translator sends PutCompositeAlarm that way. The server stops when the
// test ends.
func CloudWatch(t testing.TB, motoURL string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/")
		if op == r.URL.Path || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			writeCBORError(w, http.StatusBadRequest, "UnknownOperationException", "not a Smithy RPC v2 CBOR CloudWatch request")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeCBORError(w, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		form := url.Values{}
		if len(body) > 0 {
			v, err := cbor.Decode(body)
			if err != nil {
				writeCBORError(w, http.StatusBadRequest, "SerializationException", err.Error())
				return
			}
			m, ok := v.(cbor.Map)
			if !ok {
				writeCBORError(w, http.StatusBadRequest, "SerializationException", "the body is not a map")
				return
			}
			for k, v := range m {
				flatten(form, k, v)
			}
		}
		action := op
		if op == "PutCompositeAlarm" {
			action = "PutMetricAlarm"
		}
		form.Set("Action", action)
		form.Set("Version", "2010-08-01")
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, motoURL+"/", strings.NewReader(form.Encode()))
		if err != nil {
			writeCBORError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// moto picks the service from the credential scope.
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDMOTO/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			writeCBORError(w, http.StatusBadGateway, "InternalFailure", err.Error())
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
			}
			if xml.Unmarshal(out, &e) != nil || e.Code == "" {
				e.Code, e.Message = "InternalFailure", fmt.Sprintf("moto answered %s", resp.Status)
			}
			writeCBORError(w, resp.StatusCode, e.Code, e.Message)
			return
		}
		answer := cbor.Map{}
		if op == "DescribeAlarms" {
			if answer, err = describeAlarmsCBOR(out); err != nil {
				writeCBORError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
				return
			}
		}
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.WriteHeader(http.StatusOK)
		w.Write(cbor.Encode(answer))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// flatten adds one CBOR member as query parameters: lists as
// Name.member.N, structures as Name.Member, timestamps in ISO 8601.
func flatten(form url.Values, key string, v cbor.Value) {
	switch x := v.(type) {
	case cbor.String:
		form.Set(key, string(x))
	case cbor.Uint:
		form.Set(key, strconv.FormatUint(uint64(x), 10))
	case cbor.NegInt:
		form.Set(key, "-"+strconv.FormatUint(uint64(x)+1, 10))
	case cbor.Float32:
		form.Set(key, strconv.FormatFloat(float64(x), 'f', -1, 32))
	case cbor.Float64:
		form.Set(key, strconv.FormatFloat(float64(x), 'f', -1, 64))
	case cbor.Bool:
		form.Set(key, strconv.FormatBool(bool(x)))
	case cbor.List:
		for i, e := range x {
			flatten(form, fmt.Sprintf("%s.member.%d", key, i+1), e)
		}
	case cbor.Map:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flatten(form, key+"."+k, x[k])
		}
	case *cbor.Tag:
		if t, err := cbor.AsTime(x); err == nil {
			form.Set(key, t.UTC().Format(time.RFC3339Nano))
		}
	}
}

// queryAlarm is an alarm in DescribeAlarms's XML answer.
type queryAlarm struct {
	AlarmName             string
	AlarmArn              string
	AlarmRule             string
	StateValue            string
	StateReason           string
	StateUpdatedTimestamp string
	MetricName            string
	Namespace             string
	Statistic             string
	ExtendedStatistic     string
	ComparisonOperator    string
	Threshold             string
	Period                string
	EvaluationPeriods     string
}

func describeAlarmsCBOR(body []byte) (cbor.Map, error) {
	var doc struct {
		Metric    []queryAlarm `xml:"DescribeAlarmsResult>MetricAlarms>member"`
		Composite []queryAlarm `xml:"DescribeAlarmsResult>CompositeAlarms>member"`
		NextToken string       `xml:"DescribeAlarmsResult>NextToken"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode moto's DescribeAlarms answer: %w", err)
	}
	out := cbor.Map{"MetricAlarms": cbor.List{}, "CompositeAlarms": cbor.List{}}
	for _, list := range []struct {
		key    string
		alarms []queryAlarm
	}{{"MetricAlarms", doc.Metric}, {"CompositeAlarms", doc.Composite}} {
		l := cbor.List{}
		for _, a := range list.alarms {
			m := cbor.Map{}
			for k, v := range map[string]string{
				"AlarmName": a.AlarmName, "AlarmArn": a.AlarmArn, "AlarmRule": a.AlarmRule, "StateValue": a.StateValue,
				"StateReason": a.StateReason, "MetricName": a.MetricName, "Namespace": a.Namespace, "Statistic": a.Statistic,
				"ExtendedStatistic": a.ExtendedStatistic, "ComparisonOperator": a.ComparisonOperator,
			} {
				if v != "" {
					m[k] = cbor.String(v)
				}
			}
			if t, err := time.Parse(time.RFC3339Nano, a.StateUpdatedTimestamp); err == nil {
				m["StateUpdatedTimestamp"] = &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
			}
			if f, err := strconv.ParseFloat(a.Threshold, 64); err == nil && !math.IsNaN(f) {
				m["Threshold"] = cbor.Float64(f)
			}
			for k, v := range map[string]string{"Period": a.Period, "EvaluationPeriods": a.EvaluationPeriods} {
				if n, err := strconv.ParseUint(v, 10, 32); err == nil {
					m[k] = cbor.Uint(n)
				}
			}
			l = append(l, m)
		}
		out[list.key] = l
	}
	if doc.NextToken != "" {
		out["NextToken"] = cbor.String(doc.NextToken)
	}
	return out, nil
}

func writeCBORError(w http.ResponseWriter, status int, code, msg string) {
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	w.WriteHeader(status)
	w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(code), "message": cbor.String(msg)}))
}
