package taskdef

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func parseTestdata(t *testing.T, name string) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(taskdefsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseFile(data)
	if err != nil {
		t.Fatalf("ParseFile(%s): %v", name, err)
	}
	return in
}

func TestSecretValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string
	}{
		{
			file: "fargate-secrets-awslogs.json",
			want: []string{
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/web/database-url-AbCdEf",
				"arn:aws:ssm:us-east-1:123456789012:parameter/prod/web/session-key",
				"prod/web/database-url-AbCdEf", // the secret's name, as AWS's messages give it
				"/prod/web/session-key",        // the parameter's name
				"prod/web/database-url",        // the name without Secrets Manager's six characters
				"prod/web/session-key",
				"production",
				"8080",
			},
		},
		{
			file: "firelens.json",
			want: []string{
				"arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/orders/stripe-Xy12Zw:api_key::",
				"arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/datadog-api-key-Qw34Er",
				"arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/orders/stripe-Xy12Zw", // without the json key
				"https://sqs.us-west-2.amazonaws.com/123456789012/orders",
				"arn:aws:s3:::orders-config/prod/orders-api.env", // an environment file
				"prod/datadog-api-key-Qw34Er",
				"prod/orders/stripe-Xy12Zw",
				"prod/datadog-api-key",
				"prod/orders/stripe",
				"production",
			},
		},
		{
			file: "every-field.json",
			want: []string{
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:registry/dockerhub-RtY78u",
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-hec-token-Po09Iu",
				"arn:aws:secretsmanager:us-east-1:123456789012:secret:fsx-admin-Lk87Jh",
				"arn:aws:ssm:us-east-1:123456789012:parameter/kitchen-sink/api-token",
				"arn:aws:s3:::kitchen-sink-config/app.env",
				"registry/dockerhub-RtY78u",
				"/kitchen-sink/api-token",
				"splunk-hec-token-Po09Iu",
				"kitchen-sink/api-token",
				"registry/dockerhub",
				"fsx-admin-Lk87Jh",
				"label-token-0a9f",
				"splunk-hec-token",
				"fsx-admin",
				"debug",
			},
		},
		{
			file: "ec2-bridge-links.json",
			want: []string{"en_GB", "512M"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := SecretValues(parseTestdata(t, tt.file))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SecretValues (-want +got):\n%s", diff)
			}
		})
	}
	if got := SecretValues(nil); got != nil {
		t.Errorf("SecretValues(nil) = %v, want nil", got)
	}
}

// plant puts a distinct marked value in every place SecretValues covers,
// and in places PlanDiff hides (commands), tagged with which.
func plant(in *ecs.RegisterTaskDefinitionInput, which string) []string {
	var planted []string
	p := func(what string) *string {
		v := "PLANTED-" + which + "-" + what
		planted = append(planted, v)
		return aws.String(v)
	}
	c := &in.ContainerDefinitions[0]
	c.Environment = []types.KeyValuePair{{Name: aws.String("DB_PASSWORD"), Value: p("env")}, {Name: aws.String("ONLY_" + which), Value: p("env-only")}}
	c.Secrets = []types.Secret{{Name: aws.String("API_TOKEN"), ValueFrom: p("secret")}}
	c.RepositoryCredentials = &types.RepositoryCredentials{CredentialsParameter: p("repo-creds")}
	c.LogConfiguration = &types.LogConfiguration{
		LogDriver:     types.LogDriverSplunk,
		Options:       map[string]string{"splunk-token": *p("log-option"), "splunk-url": "https://splunk.example.com"},
		SecretOptions: []types.Secret{{Name: aws.String("splunk-token"), ValueFrom: p("secret-option")}},
	}
	c.FirelensConfiguration = &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit, Options: map[string]string{"HTTP_Passwd": *p("firelens")}}
	c.DockerLabels = map[string]string{"com.example.api-key": *p("label"), "team": "web"}
	c.Command = []string{"serve", "--password=" + *p("command")}
	c.EntryPoint = []string{"/bin/sh", "-c", "TOKEN=" + *p("entrypoint") + " exec app"}
	in.Volumes = append(in.Volumes, types.Volume{
		Name: aws.String("fsx-" + which),
		FsxWindowsFileServerVolumeConfiguration: &types.FSxWindowsFileServerVolumeConfiguration{
			FileSystemId:        aws.String("fs-0123"),
			RootDirectory:       aws.String("share"),
			AuthorizationConfig: &types.FSxWindowsFileServerAuthorizationConfig{CredentialsParameter: p("fsx"), Domain: aws.String("corp")},
		},
	})
	return planted
}

// TestPlanDiffNeverShowsSecrets plants secret values in every place they
// can live, in both the old and the new definition, and checks that no
// PlanDiff line contains any of them while the changes are still
// reported.
func TestPlanDiffNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	eachTaskdefFile(t, func(t *testing.T, name string, _ []byte) {
		old := parseTestdata(t, name)
		new := Clone(old)
		planted := plant(old, "OLD")
		planted = append(planted, plant(new, "NEW")...)

		for _, v := range planted {
			if strings.Contains(v, "command") || strings.Contains(v, "entrypoint") {
				continue // hidden by PlanDiff, not masked values
			}
			if !contains(SecretValues(old), v) && !contains(SecretValues(new), v) {
				t.Errorf("SecretValues misses planted %q", v)
			}
		}
		lines := PlanDiff(old, new)
		if len(lines) == 0 {
			t.Fatalf("PlanDiff = nothing, want the planted changes")
		}
		all := strings.Join(lines, "\n")
		for _, v := range planted {
			if strings.Contains(all, v) {
				t.Errorf("PlanDiff shows planted secret %q:\n%s", v, all)
			}
			if strings.Contains(all, strings.TrimPrefix(v, "PLANTED-")) {
				t.Errorf("PlanDiff shows part of planted secret %q", v)
			}
		}
		for _, want := range []string{
			"environment DB_PASSWORD changed (value hidden)",
			"environment ONLY_NEW added (value hidden)",
			"environment ONLY_OLD removed",
			"secret API_TOKEN changed (valueFrom hidden)",
			"repositoryCredentials.credentialsParameter changed (value hidden)",
			"command[1] changed (value hidden)",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("PlanDiff lacks %q:\n%s", want, all)
			}
		}
	})
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func TestPlanDiff(t *testing.T) {
	t.Parallel()
	base := func() *ecs.RegisterTaskDefinitionInput { return parseTestdata(t, "appmesh-proxy.json") }
	tests := []struct {
		name   string
		old    *ecs.RegisterTaskDefinitionInput
		change func(*ecs.RegisterTaskDefinitionInput)
		want   []string
	}{
		{
			name:   "identical",
			old:    base(),
			change: func(*ecs.RegisterTaskDefinitionInput) {},
			want:   nil,
		},
		{
			name: "image only",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.ContainerDefinitions[0].Image = aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/catalog:1.43.0")
			},
			want: []string{"container app: image 123456789012.dkr.ecr.us-east-1.amazonaws.com/catalog:1.42.0 -> 123456789012.dkr.ecr.us-east-1.amazonaws.com/catalog:1.43.0"},
		},
		{
			name: "task-level and container scalars",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.Memory = aws.String("2048")
				in.ContainerDefinitions[1].Essential = aws.Bool(false)
				in.ContainerDefinitions[2].PortMappings = append(in.ContainerDefinitions[2].PortMappings, types.PortMapping{ContainerPort: aws.Int32(2001)})
				in.ProxyConfiguration.Properties[4].Value = aws.String("169.254.170.2")
			},
			want: []string{
				"task definition: memory 1024 -> 2048",
				"task definition: proxyConfiguration.properties[4].value 169.254.170.2,169.254.169.254 -> 169.254.170.2",
				"container envoy: essential true -> false",
				"container xray-daemon: portMappings[1].containerPort (none) -> 2001",
			},
		},
		{
			name: "containers added and removed, volumes and tags",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.ContainerDefinitions = append(in.ContainerDefinitions[:2], types.ContainerDefinition{Name: aws.String("otel"), Image: aws.String("otel/opentelemetry-collector:0.110.0")})
				in.Volumes = []types.Volume{{Name: aws.String("cache")}}
				in.Tags = []types.Tag{{Key: aws.String("mesh"), Value: aws.String("shop-v2")}, {Key: aws.String("team"), Value: aws.String("catalog")}}
			},
			want: []string{
				"container otel: added (image otel/opentelemetry-collector:0.110.0)",
				"container xray-daemon: removed",
				"volume cache: added",
				"tag mesh: shop -> shop-v2",
				"tag team: added (catalog)",
			},
		},
		{
			name: "a short secret value is caught whole only",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.ProxyConfiguration.Properties[3].Value = aws.String("9080,9081") // "9080" is CATALOG_PORT's value
			},
			want: []string{"task definition: proxyConfiguration.properties[3].value *** -> 9080,9081"},
		},
		{
			name: "a long secret value inside another value is starred out",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.ContainerDefinitions[0].Environment = append(in.ContainerDefinitions[0].Environment, types.KeyValuePair{Name: aws.String("PW"), Value: aws.String("hunter22")})
				in.ContainerDefinitions[0].DockerLabels = map[string]string{"note": "pw=hunter22;"}
			},
			want: []string{
				"container app: environment PW added (value hidden)",
				"container app: dockerLabels.note (none) -> pw=***;",
			},
		},
		{
			name: "a secret value that also appears elsewhere is scrubbed",
			old:  base(),
			change: func(in *ecs.RegisterTaskDefinitionInput) {
				in.ContainerDefinitions[0].Environment = append(in.ContainerDefinitions[0].Environment, types.KeyValuePair{Name: aws.String("MEM"), Value: aws.String("4096")})
				in.Memory = aws.String("4096")
			},
			want: []string{
				"task definition: memory 1024 -> ***",
				"container app: environment MEM added (value hidden)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			new := Clone(tt.old)
			tt.change(new)
			got := PlanDiff(tt.old, new)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanDiff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanDiffFromNothing(t *testing.T) {
	t.Parallel()
	new := parseTestdata(t, "appmesh-proxy.json")
	got := PlanDiff(nil, new)
	for _, want := range []string{
		"task definition: family (none) -> catalog",
		"task definition: proxyConfiguration.containerName (none) -> envoy",
		"container app: added (image 123456789012.dkr.ecr.us-east-1.amazonaws.com/catalog:1.42.0)",
		"tag mesh: added (shop)",
	} {
		if !contains(got, want) {
			t.Errorf("PlanDiff(nil, new) lacks %q; got:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if got := PlanDiff(new, nil); !contains(got, "container envoy: removed") {
		t.Errorf("PlanDiff(old, nil) = %q, want the containers removed", got)
	}
}

// TestPlanDiffGolden is the dry-run text for a broad change to the
// every-field definition, read by people: testdata/plandiff/every-field.golden.
func TestPlanDiffGolden(t *testing.T) {
	t.Parallel()
	old := parseTestdata(t, "every-field.json")
	new := Clone(old)
	if _, err := SetImages(new, []Change{{Container: "app", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/kitchen-sink:2.1.0"}}); err != nil {
		t.Fatal(err)
	}
	app := &new.ContainerDefinitions[0]
	app.Environment[0].Value = aws.String("info")
	app.Environment = append(app.Environment, types.KeyValuePair{Name: aws.String("NEW_FLAG"), Value: aws.String("on")})
	app.Secrets[0].ValueFrom = aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/kitchen-sink/api-token-v2")
	app.Memory = aws.Int32(2048)
	app.Command = []string{"serve", "--listen", ":9090"}
	app.LogConfiguration.Options["splunk-index"] = "kitchen-v2"
	app.LogConfiguration.SecretOptions[0].ValueFrom = aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-hec-token-rotated")
	app.DockerLabels["com.example.auth-token"] = "label-token-rotated"
	app.PortMappings = app.PortMappings[:1]
	new.Cpu = aws.String("2048")
	new.Volumes = new.Volumes[1:]
	new.Tags[1].Value = aws.String("production")

	got := strings.Join(PlanDiff(old, new), "\n") + "\n"
	golden := filepath.Join("testdata", "plandiff", "every-field.golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPlanDiffGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("PlanDiff differs from %s (-want +got):\n%s", golden, diff)
	}
	for _, s := range append(SecretValues(old), SecretValues(new)...) {
		// Short values ("on") occur in ordinary words; the guard catches
		// them only whole, which the table tests check.
		if len(s) >= minGuardLen && strings.Contains(got, s) {
			t.Errorf("golden plan contains secret value %q", s)
		}
	}
}
