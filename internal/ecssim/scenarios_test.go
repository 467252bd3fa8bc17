package ecssim

import (
	"path/filepath"
	"testing"
)

// The staged-deployment example scenarios load.
func TestStagedScenarioFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		s, err := New(sc)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		s.Close()
	}
}
