package ecssim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

const (
	ecsTargetPrefix  = "AmazonEC2ContainerServiceV20141113."
	logsTargetPrefix = "Logs_20140328."
	maxBody          = 10 << 20
)

// isMutating reports whether op can change the simulator's state.
func isMutating(op string) bool {
	switch op {
	case "RegisterTaskDefinition", "DeregisterTaskDefinition", "UpdateService", "RunTask", "StopTask",
		"StopServiceDeployment", "ContinueServiceDeployment", "UpdateExpressGatewayService",
		"CreateDeployment", "StopDeployment", "ContinueDeployment": // CodeDeploy
		return true
	}
	return false
}

type faultState struct {
	op string
	Fault
	seen int // matching calls since injection
	rnd  *rand.Rand
}

// InjectFault adds a fault for op ("" = every operation). Counted parts of
// the fault (Throttle, Status5xx, DropConnection, Error with Times) apply
// to the next matching calls; Latency and ThrottleProbability apply to
// every matching call until ClearFaults.
func (s *Sim) InjectFault(op string, f Fault) {
	seed := f.Seed
	if seed == 0 {
		seed = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{op: op, Fault: f, rnd: rand.New(rand.NewPCG(uint64(seed), 0xfa17))})
}

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// faultOutcome is what the faults decided for one call.
type faultOutcome struct {
	latency time.Duration
	drop    bool
	err     *apiError
	after   *apiError // answered once the call is applied (Fault.AfterApply)
}

func (s *Sim) applyFaultsLocked(op string, proto wireProtocol) faultOutcome {
	var out faultOutcome
	for _, f := range s.faults {
		if f.op != "" && f.op != op {
			continue
		}
		f.seen++
		out.latency += f.Latency.D()
		if out.drop || out.err != nil || out.after != nil {
			continue
		}
		switch {
		case f.DropConnection > 0:
			f.DropConnection--
			out.drop = true
		case f.Throttle > 0:
			f.Throttle--
			out.err = errThrottling()
		case f.Status5xx > 0:
			f.Status5xx--
			out.err = errServer()
		case f.ThrottleProbability > 0 && f.rnd.Float64() < f.ThrottleProbability:
			out.err = errThrottling()
		case f.Error != "":
			first := f.OnCall
			if first < 1 {
				first = 1
			}
			if f.seen < first || (f.Times > 0 && f.seen >= first+f.Times) {
				continue
			}
			msg := f.Message
			if msg == "" {
				msg = "User is not authorized to perform: " + iamAction(op, proto)
			}
			out.err = &apiError{Code: f.Error, Message: msg, Status: statusForCode(f.Error)}
		}
		if f.AfterApply && out.err != nil {
			out.after, out.err = out.err, nil
		}
	}
	return out
}

// Calls returns every request answered so far, in the order answered,
// including faulted and rejected ones.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// MutatingCalls returns the calls (successful or not) to operations that
// can change state: RegisterTaskDefinition, DeregisterTaskDefinition,
// UpdateService, RunTask, StopTask, StopServiceDeployment,
// ContinueServiceDeployment and UpdateExpressGatewayService.
func (s *Sim) MutatingCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if isMutating(c.Op) {
			out = append(out, c)
		}
	}
	return out
}

// ServeHTTP answers ECS (X-Amz-Target AmazonEC2ContainerServiceV20141113.*),
// CloudWatch Logs (Logs_20140328.GetLogEvents, DescribeLogGroups), ECR,
// Secrets Manager and SSM requests in the awsJson1_1 protocol, CloudWatch
// (DescribeAlarms) requests in Smithy RPC v2 CBOR, and IAM requests in
// awsQuery (account.go).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	target := r.Header.Get("X-Amz-Target")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.writeError(w, protoJSON, errSerialization("could not read request body"))
		return
	}
	var op string
	var logs, cd bool
	proto := protoJSON
	acct := accountService(target) // ECR, Secrets Manager, SSM, IAM (account.go)
	switch {
	case cborOperation(r) != "":
		op, proto = cborOperation(r), protoCBOR
	case isQueryRequest(r):
		op, body = queryRequest(body)
		proto, acct = protoQuery, "iam"
	case acct != "":
		op = accountOp(target)
	case strings.HasPrefix(target, ecsTargetPrefix):
		op = strings.TrimPrefix(target, ecsTargetPrefix)
	case strings.HasPrefix(target, logsTargetPrefix):
		op = strings.TrimPrefix(target, logsTargetPrefix)
		logs = true
	case strings.HasPrefix(target, codeDeployTargetPrefix):
		op = strings.TrimPrefix(target, codeDeployTargetPrefix)
		cd = true
	default:
		op = target
	}

	req := &request{op: op, at: arrived, body: body}
	s.mu.Lock()
	fo := s.applyFaultsLocked(op, proto)
	s.mu.Unlock()
	record := func(code string) {
		s.mu.Lock()
		s.recordLocked(req, code)
		s.mu.Unlock()
	}

	if fo.latency > 0 {
		select {
		case <-time.After(fo.latency):
		case <-r.Context().Done():
			record("RequestCancelled")
			return
		}
	}
	if fo.drop {
		record("DropConnection")
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fo.err != nil {
		record(fo.err.Code)
		s.writeError(w, proto, fo.err)
		return
	}
	if r.Method != http.MethodPost {
		e := &apiError{Code: "UnknownOperationException", Message: "Only POST requests are supported.", Status: 400}
		record(e.Code)
		s.writeError(w, proto, e)
		return
	}

	s.mu.Lock()
	holds := s.holdsForLocked(op)
	s.mu.Unlock()
	for _, h := range holds {
		if !h.wait(r, s.done) {
			record("RequestCancelled")
			return
		}
	}

	var out any
	var aerr *apiError
	switch {
	case proto == protoCBOR:
		out, aerr = s.dispatchCloudWatch(req)
	case acct != "":
		out, aerr = s.dispatchAccount(acct, req)
	case logs:
		out, aerr = s.dispatchLogs(req)
	case cd:
		out, aerr = s.dispatchCodeDeploy(req)
	default:
		out, aerr = s.dispatchECS(req)
	}
	if aerr == nil && fo.after != nil {
		aerr = fo.after // applied; the response is lost
	}
	if aerr != nil {
		record(aerr.Code)
		s.writeError(w, proto, aerr)
		return
	}
	if v, ok := out.(cbor.Value); ok {
		record("")
		writeCBOR(w, v, s.requestID())
		return
	}
	if v, ok := out.(wireBody); ok {
		record("")
		v.write(w, s.requestID())
		return
	}
	b, err := encodeJSON(out)
	if err != nil {
		e := &apiError{Code: "ServerException", Message: err.Error(), Status: 500}
		record(e.Code)
		s.writeError(w, proto, e)
		return
	}
	record("")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", s.requestID())
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// request is one call being served.
type request struct {
	op       string
	at       time.Time
	body     []byte
	recorded bool
}

// recordLocked appends the call to the log once. Handlers record while
// still holding the lock that applied their change, so a test that sees
// the change also sees the call.
func (s *Sim) recordLocked(r *request, code string) {
	if r.recorded {
		return
	}
	r.recorded = true
	s.calls = append(s.calls, Call{Op: r.op, At: r.at, Input: json.RawMessage(r.body), ErrCode: code})
}

func (s *Sim) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", s.rnd.Uint32(), s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint64()&0xffffffffffff)
}

func (s *Sim) writeError(w http.ResponseWriter, proto wireProtocol, e *apiError) {
	if proto == protoCBOR {
		writeCBORError(w, e, s.requestID())
		return
	}
	if proto == protoQuery {
		writeQueryError(w, e, s.requestID())
		return
	}
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", s.requestID())
	w.WriteHeader(e.Status)
	w.Write(b)
}
