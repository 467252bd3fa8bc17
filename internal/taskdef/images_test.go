package taskdef

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func threeContainers() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1")},
			{Name: aws.String("envoy"), Image: aws.String("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod")},
			{Name: aws.String("log_router"), Image: aws.String("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")},
		},
	}
}

func oneContainer() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("api"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api:1")}},
	}
}

func images(in *ecs.RegisterTaskDefinitionInput) map[string]string {
	m := map[string]string{}
	for _, c := range in.ContainerDefinitions {
		m[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	return m
}

func TestSetImages(t *testing.T) {
	t.Parallel()
	const ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
	tests := []struct {
		name       string
		in         func() *ecs.RegisterTaskDefinitionInput
		changes    []Change
		wantDiffs  []Diff
		wantImages map[string]string
		wantErr    []string // substrings, all must appear
	}{
		{
			name:      "only container, no name",
			in:        oneContainer,
			changes:   []Change{{Image: "api:2"}},
			wantDiffs: []Diff{{Container: "api", Old: "api:1", New: "api:2"}},
			wantImages: map[string]string{
				"api": "api:2",
			},
		},
		{
			name:      "only container, by name",
			in:        oneContainer,
			changes:   []Change{{Container: "api", Image: "api@sha256:" + strings.Repeat("a", 64)}},
			wantDiffs: []Diff{{Container: "api", Old: "api:1", New: "api@sha256:" + strings.Repeat("a", 64)}},
			wantImages: map[string]string{
				"api": "api@sha256:" + strings.Repeat("a", 64),
			},
		},
		{
			name:      "named container among sidecars, sidecars untouched",
			in:        threeContainers,
			changes:   []Change{{Container: "app", Image: ecr + ":2"}},
			wantDiffs: []Diff{{Container: "app", Old: ecr + ":1", New: ecr + ":2"}},
			wantImages: map[string]string{
				"app":        ecr + ":2",
				"envoy":      "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
				"log_router": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
			},
		},
		{
			name: "two containers at once, diffs in change order",
			in:   threeContainers,
			changes: []Change{
				{Container: "log_router", Image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4", Input: "images"},
				{Container: "app", Image: ecr + ":3", Input: "images"},
			},
			wantDiffs: []Diff{
				{Container: "log_router", Old: "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", New: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"},
				{Container: "app", Old: ecr + ":1", New: ecr + ":3"},
			},
			wantImages: map[string]string{
				"app":        ecr + ":3",
				"envoy":      "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
				"log_router": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4",
			},
		},
		{
			name:      "same image is still a diff",
			in:        oneContainer,
			changes:   []Change{{Image: "api:1"}},
			wantDiffs: []Diff{{Container: "api", Old: "api:1", New: "api:1"}},
			wantImages: map[string]string{
				"api": "api:1",
			},
		},
		{
			name: "container without an image gets one",
			in: func() *ecs.RegisterTaskDefinitionInput {
				in := oneContainer()
				in.ContainerDefinitions[0].Image = nil
				return in
			},
			changes:   []Change{{Image: "api:7"}},
			wantDiffs: []Diff{{Container: "api", Old: "", New: "api:7"}},
			wantImages: map[string]string{
				"api": "api:7",
			},
		},
		{
			name:       "no changes",
			in:         threeContainers,
			wantDiffs:  []Diff{},
			wantImages: images(threeContainers()),
		},
		{
			name:    "unknown container lists the containers",
			in:      threeContainers,
			changes: []Change{{Container: "x", Image: "nginx:1.27"}},
			wantErr: []string{`container-name: no container "x" in task definition web (containers: app, envoy, log_router)`},
		},
		{
			name:    "no name with several containers",
			in:      threeContainers,
			changes: []Change{{Image: "nginx:1.27"}},
			wantErr: []string{"image: task definition web has 3 containers (app, envoy, log_router): set container-name"},
		},
		{
			name: "duplicate container",
			in:   threeContainers,
			changes: []Change{
				{Container: "app", Image: "web:2", Input: "images"},
				{Container: "app", Image: "web:3", Input: "images"},
			},
			wantErr: []string{`images: container "app" is given more than once`},
		},
		{
			name: "unnamed and named change of the only container are duplicates",
			in:   oneContainer,
			changes: []Change{
				{Image: "api:2"},
				{Container: "api", Image: "api:3"},
			},
			wantErr: []string{`container-name: container "api" is given more than once (also in image)`},
		},
		{
			name:    "bad image reference names the input",
			in:      oneContainer,
			changes: []Change{{Image: "Nginx:Latest", Input: "image"}},
			wantErr: []string{`image: invalid image reference "Nginx:Latest"`},
		},
		{
			name:    "empty image",
			in:      oneContainer,
			changes: []Change{{Container: "api"}},
			wantErr: []string{"container-name: image reference is empty"},
		},
		{
			name: "every problem at once, nothing changed",
			in:   threeContainers,
			changes: []Change{
				{Container: "app", Image: "web:2", Input: "images"},
				{Container: "nope", Image: "web:2", Input: "images"},
				{Container: "envoy", Image: "has space:1", Input: "images"},
			},
			wantErr: []string{`images: no container "nope"`, `images: invalid image reference "has space:1"`},
		},
		{
			name: "task definition without containers",
			in: func() *ecs.RegisterTaskDefinitionInput {
				return &ecs.RegisterTaskDefinitionInput{Family: aws.String("empty")}
			},
			changes: []Change{{Image: "nginx"}},
			wantErr: []string{"image: task definition empty has no containers"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in()
			before := Clone(in)
			diffs, err := SetImages(in, tt.changes)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("SetImages = %v, nil; want error containing %q", diffs, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("SetImages error = %q, want it to contain %q", err, w)
					}
				}
				if diff := cmp.Diff(before, in, sdkOpts); diff != "" {
					t.Errorf("SetImages changed the input although it failed (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetImages: %v", err)
			}
			if diff := cmp.Diff(tt.wantDiffs, diffs); diff != "" {
				t.Errorf("diffs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantImages, images(in)); diff != "" {
				t.Errorf("images after (-want +got):\n%s", diff)
			}
			// Everything but the images is unchanged.
			for i := range in.ContainerDefinitions {
				in.ContainerDefinitions[i].Image = before.ContainerDefinitions[i].Image
			}
			if diff := cmp.Diff(before, in, sdkOpts); diff != "" {
				t.Errorf("SetImages changed more than images (-before +after):\n%s", diff)
			}
		})
	}
}

func TestSetImagesNil(t *testing.T) {
	t.Parallel()
	if _, err := SetImages(nil, []Change{{Image: "nginx"}}); err == nil {
		t.Errorf("SetImages(nil) error = nil, want an error")
	}
}

func TestContainerNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   *ecs.RegisterTaskDefinitionInput
		want []string
	}{
		{"three in order", threeContainers(), []string{"app", "envoy", "log_router"}},
		{"nil", nil, nil},
		{"no containers", &ecs.RegisterTaskDefinitionInput{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ContainerNames(tt.in)); diff != "" {
				t.Errorf("ContainerNames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateImage(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		ref     string
		wantErr string // "" means valid
	}{
		{"nginx", ""},
		{"nginx:1.27", ""},
		{"nginx:1.27-alpine", ""},
		{"library/nginx:latest", ""},
		{"docker.io/library/nginx:latest", ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2c9e1", ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web@" + digest, ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2.3@" + digest, ""},
		{"public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4", ""},
		{"ghcr.io/owner/repo:sha-abc123", ""},
		{"localhost:5000/app:dev", ""},
		{"registry.example.com:8443/a/b/c:1_0.2-rc1", ""},
		{"", "empty"},
		{" nginx:1.27", "whitespace"},
		{"nginx:1.27 ", "whitespace"},
		{"my image:1", "whitespace"},
		{"nginx:1.27\n", "whitespace"},
		{"Nginx:1.27", "must be lowercase"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/Web:1", "invalid"},
		{"nginx@sha256:abc", "invalid"},
		{"nginx@" + digest + "x", "invalid"},
		{"nginx:", "invalid"},
		{"nginx:-bad", "invalid"},
		{"nginx:" + strings.Repeat("t", 129), "invalid"},
		{"/nginx", "invalid"},
		{"nginx//app", "invalid"},
		{":1.27", "invalid"},
		{"a" + strings.Repeat("/b", 200), "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Parallel()
			err := ValidateImage(tt.ref)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("ValidateImage(%q) = %v, want nil", tt.ref, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateImage(%q) = nil, want an error containing %q", tt.ref, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateImage(%q) = %q, want it to contain %q", tt.ref, err, tt.wantErr)
			}
			if tt.ref != "" && !strings.Contains(err.Error(), `"`) {
				t.Errorf("ValidateImage(%q) = %q, want the reference quoted", tt.ref, err)
			}
		})
	}
}
