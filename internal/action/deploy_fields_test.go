package action

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// TestInputNames: the deployer names its Config fields; the action's
// reasons name the inputs.
func TestInputNames(t *testing.T) {
	t.Parallel()
	cfg := deployer.Config{Service: "web", Timeout: -1, OnBusy: "maybe", Revision: "web:1",
		Images: []deployer.ContainerImage{{Container: "app", Image: "a:1"}}}
	err := fmt.Errorf("%w: %w", deployer.ErrPreflight, cfg.Validate())
	res := inputNames(deployer.Result{Reason: err.Error()}, err, false)
	for _, want := range []string{"timeout: must be positive", `on-busy: must be "wait" or "fail", got "maybe"`, "revision: cannot be combined with images: a promoted revision"} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason lacks %q: %s", want, res.Reason)
		}
	}
	plain := errors.New("OnBusy is a word here")
	if got := inputNames(deployer.Result{Reason: plain.Error()}, plain, false).Reason; got != plain.Error() {
		t.Errorf("a reason with no FieldError changed: %q", got)
	}
}
