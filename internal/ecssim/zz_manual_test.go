package ecssim

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestManualServe(t *testing.T) {
	if os.Getenv("ECSSIM_MANUAL") == "" {
		t.Skip("manual")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := Serve(ctx, "127.0.0.1:4599", "../../testdata/scenarios/demo.json", os.Stdout); err != nil {
		t.Fatal(err)
	}
}
