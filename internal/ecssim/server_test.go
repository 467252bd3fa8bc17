package ecssim

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeBanner starts the standalone simulator, checks the instructions
// it prints (golden file) and that it answers, then cancels it.
func TestServeBanner(t *testing.T) {
	t.Parallel()
	scenario := filepath.Join("..", "action", "scenarios", "demo.json")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", scenario, &out) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		late := time.Now().After(deadline)
		if strings.Contains(out.String(), "Ctrl-C") {
			break
		}
		if late {
			cancel()
			t.Fatalf("no banner after 10s; got %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(out.String())
	status, m, _ := rawCall(t, url, "AmazonEC2ContainerServiceV20141113.DescribeClusters", `{"clusters":["demo"]}`)
	if status != 200 || dig(m, "clusters", 0, "clusterName") != "demo" {
		t.Errorf("DescribeClusters on the standalone simulator: got %d %v", status, m)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	got := strings.ReplaceAll(out.String(), url, "http://127.0.0.1:PORT")
	got = strings.ReplaceAll(got, scenario, "SCENARIO")
	golden := filepath.Join("testdata", "serve_banner.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("banner (-want +got):\n%s", diff)
	}
}

func TestServeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr, scenario, want string
	}{
		{"missing scenario", "127.0.0.1:0", filepath.Join("testdata", "nope.json"), "read scenario"},
		{"bad address", "256.0.0.1:99999", filepath.Join("..", "action", "scenarios", "demo.json"), "listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Serve(context.Background(), tt.addr, tt.scenario, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseScenarioRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", `{"clusterz":[]}`, "unknown field"},
		{"unknown behaviour", `{"imageRules":[{"image":"*","behavior":"explode"}]}`, `unknown behavior "explode"`},
		{"service in unknown cluster", `{"services":[{"name":"web","cluster":"x","taskDefinition":"web:1"}]}`, `cluster "x" is not in clusters`},
		{"bad duration", `{"timings":{"pending":"soon"}}`, "parse duration"},
		{"unknown task definition member", `{"taskDefinitions":[{"family":"web","containerDefinitions":[],"colour":"red"}]}`, `unknown member "colour"`},
		{"task definition without family", `{"taskDefinitions":[{"containerDefinitions":[]}]}`, "family is empty"},
		{"probability above 1", `{"faults":[{"op":"ListTasks","throttleProbability":1.5}]}`, "throttleProbability"},
		{"onCall without error", `{"faults":[{"op":"UpdateService","onCall":2}]}`, "need error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseScenario([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("unknown task definition in service", func(t *testing.T) {
		t.Parallel()
		sc, err := ParseScenario([]byte(`{"clusters":[{"name":"c"}],"services":[{"name":"web","cluster":"c","taskDefinition":"web:1"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(sc); err == nil || !strings.Contains(err.Error(), `task definition "web:1"`) {
			t.Errorf("New: got %v, want an error about the task definition", err)
		}
	})
}

// TestScenarioFiles: every scenario shipped under testdata/scenarios loads
// and starts.
func TestScenarioFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			sim, err := New(sc)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			sim.Close()
		})
	}
}

func TestScenarioTaskDefinitionShapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, doc string }{
		{"task definition with tags", `{"family":"web","revision":3,"containerDefinitions":[{"name":"app","image":"x"}],"tags":[{"key":"k","value":"v"}]}`},
		{"describe-task-definition output", `{"taskDefinition":{"family":"web","revision":3,"containerDefinitions":[{"name":"app","image":"x"}]},"tags":[{"key":"k","value":"v"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var td ScenarioTaskDefinition
			if err := json.Unmarshal([]byte(tt.doc), &td); err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(td.Family); got != "web" || td.Revision != 3 || len(td.ContainerDefinitions) != 1 || len(td.Tags) != 1 || aws.ToString(td.Tags[0].Key) != "k" {
				t.Errorf("got family %q revision %d %d containers tags %v, want web 3 1 [k=v]", got, td.Revision, len(td.ContainerDefinitions), td.Tags)
			}
		})
	}
}
