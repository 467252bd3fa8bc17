package taskdef

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestReferenceForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref  string
		want []string
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf", []string{
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf", "prod/db-password-AbCdEf", "prod/db-password"}},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::", []string{
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::",
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", "prod/db-AbCdEf"}}, // "prod/db" is too short a word to redact alone
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:partial/name", []string{ // a partial ARN: no six characters
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:partial/name", "partial/name"}},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key", []string{
			"arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key", "/prod/api-key", "prod/api-key"}},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/flat-name-1", []string{ // a name without a path
			"arn:aws:ssm:us-east-1:123456789012:parameter/flat-name-1", "/flat-name-1", "flat-name-1"}},
		{"/prod/session-key", []string{"/prod/session-key", "prod/session-key"}},
		{"db", []string{"db"}}, // the reference itself is kept, however short
		{"  ", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ReferenceForms(tt.ref)); diff != "" {
			t.Errorf("ReferenceForms(%q) (-want +got):\n%s", tt.ref, diff)
		}
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := NewRedactor([]string{"hunter2", "abc", "long-secret-value", "p%ss\"w<rd", "line-one-secret\nline-two-secret", " "})
	tests := []struct{ in, want string }{
		{"DB_PASSWORD=hunter2", "DB_PASSWORD=***"},
		{"password: hunter2.", "password: ***."},
		{"hunter2", "***"},
		{"hunter22 xhunter2 hunter2_x", "hunter22 xhunter2 hunter2_x"}, // inside longer words: another value
		{"abc abcdef xabc abc-def (abc)", "*** abcdef xabc ***-def (***)"},
		{"xlong-secret-valuex", "x***x"},                     // long values anywhere
		{`{"reason":"p%ss\"w\u003crd"}`, `{"reason":"***"}`}, // as JSON escapes it
		{"::error::p%25ss\"w<rd", "::error::***"},            // as a workflow command escapes it
		{"first: line-one-secret, then line-two-secret", "first: ***, then ***"},
		{"nothing here", "nothing here"},
		{"abcabc abc", "abcabc ***"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var none *Redactor
	if got := none.Redact("hunter2"); got != "hunter2" {
		t.Errorf("nil Redactor: %q", got)
	}
}

// TestLogRedactor: a container's log line loses every credential (short
// ones as words), every long environment value, every environment value of
// three bytes or more as a whole word, and a short plain value where it is
// assigned to its variable; the same letters inside a longer word stay.
func TestLogRedactor(t *testing.T) {
	t.Parallel()
	kv := func(n, v string) types.KeyValuePair {
		return types.KeyValuePair{Name: aws.String(n), Value: aws.String(v)}
	}
	in := &ecs.RegisterTaskDefinitionInput{ContainerDefinitions: []types.ContainerDefinition{{
		Name:        aws.String("app"),
		Environment: []types.KeyValuePair{kv("DB_PASSWORD", "hunter2"), kv("PORT", "3000"), kv("NODE_ENV", "production"), kv("LOG_LEVEL", "info")},
		Secrets:     []types.Secret{{Name: aws.String("API_KEY"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf:key::")}},
	}}}
	r := LogRedactor(in)
	tests := []struct{ in, want string }{
		{"connecting with password hunter2", "connecting with password ***"},
		{"env: PORT=3000 NODE_ENV=production", "env: PORT=*** NODE_ENV=***"},
		{`config {"LOG_LEVEL": "info", "PORT":3000}`, `config {"LOG_LEVEL": "***", "PORT":***}`},
		{"listening on 3000 at level info", "listening on *** at level ***"},
		{"retry 1 of 3: 30000 ms, verbose=true", "retry 1 of 3: 30000 ms, verbose=true"},
		{"informational: 3000ms", "informational: 3000ms"},
		{"PORT=30000", "PORT=30000"},
		{"failed to fetch secret arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf from secrets manager", "failed to fetch secret *** from secrets manager"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
