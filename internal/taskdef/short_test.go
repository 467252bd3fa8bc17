package taskdef

import "testing"

func TestShortRevision(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:42":    "web:42",
		"arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/a-b:1": "a-b:1",
		"web:42": "web:42",
		"":       "",
		"arn:aws:ecs:us-east-1:123456789012:service/c/web": "arn:aws:ecs:us-east-1:123456789012:service/c/web",
	} {
		if got := ShortRevision(in); got != want {
			t.Errorf("ShortRevision(%q) = %q, want %q", in, got, want)
		}
	}
}
