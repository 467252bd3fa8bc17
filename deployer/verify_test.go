package deployer

import "testing"

// TestSecretUsers: a secret or parameter is named by its users, container
// by container, never by its name or ARN.
func TestSecretUsers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		users []user
		want  string
	}{
		{[]user{{container: "app", name: "DB_PASSWORD"}}, `container "app": secret DB_PASSWORD`},
		{[]user{{container: "app", name: "DB_PASSWORD"}, {container: "app", name: "DB_PASS"}}, `container "app": secrets DB_PASSWORD, DB_PASS`},
		{[]user{{container: "app", name: "DB"}, {container: "worker", name: "DB"}, {container: "app", name: "DB"}},
			`container "app": secret DB and container "worker": secret DB`},
	}
	for _, tt := range tests {
		if got := secretUsers(tt.users); got != tt.want {
			t.Errorf("secretUsers(%v) = %q, want %q", tt.users, got, tt.want)
		}
	}
}
