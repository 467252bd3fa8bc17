package action

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The secrets of every kind TestNothingSecretOnAnyChannel plants in the
// running task definition of service payment (internal/action/scenarios/verify.json)
// and in the inputs. Each planted* constant, and each name a reference
// contains, must never be printed.
const (
	// Environment values named like credentials: a long one, and one
	// shorter than taskdef.MinSecretLen (never registered with
	// ::add-mask::, so it must not appear at all).
	plantLongCredential  = "tok-LONG-planted-7f3a9c2e"
	plantShortCredential = "hunter2"
	// Secrets Manager: by ARN, by ARN with ECS's json-key suffix (the
	// scenario's DB_PASSWORD), and by name, as ECS takes a secret
	// without its ARN's six random characters (a partial ARN; this one
	// does not exist, for the verify failure).
	plantSMSecretARN   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/stripe-key-Q1w2E3"
	plantSecretJSONKey = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd:password::"
	plantSecretByName  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/missing-token"
	// A secret the account does not hold, by ARN with a json key: ECS
	// stops the tasks quoting the ARN without the key.
	plantSecretGone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/gone-Zq1Xw2:token::"
	// SSM parameters: by name (the scenario's API_KEY) and by ARN.
	plantParamName = "/payment/api-key"
	plantParamARN  = "arn:aws:ssm:us-east-1:123456789012:parameter/payment/webhook-signing"
	// A log configuration secret option.
	plantLogSecretOption = "arn:aws:ssm:us-east-1:123456789012:parameter/payment/log-shipper-token"
	// The env-files and log-configuration-options inputs.
	plantEnvFile         = "arn:aws:s3:::payment-config/prod/planted-app.env"
	plantLogOptionSecret = "splk-planted-55e1"
	plantInputShortPass  = "pw9x"
)

// plantedEverywhere lists every planted string: the values above, the
// names inside the references (a secret's name with and without its six
// characters, a parameter's name without its slash), and the runner's AWS
// credentials.
func plantedEverywhere() []string {
	return []string{
		plantLongCredential, plantShortCredential,
		plantSMSecretARN, "payment/stripe-key",
		plantSecretJSONKey, "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd", "payment/db",
		plantSecretByName, "payment/missing-token",
		plantSecretGone, "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/gone-Zq1Xw2", "payment/gone",
		plantParamName, "payment/api-key",
		plantParamARN, "payment/webhook-signing",
		plantLogSecretOption, "payment/log-shipper-token",
		plantEnvFile, plantLogOptionSecret, plantInputShortPass,
		testAWSSecret, testSessionToken,
	}
}

// plantedScenario is internal/action/scenarios/verify.json (service payment in
// cluster prod, whose ECR images, secret, parameter, log group and roles
// the verify phase finds) with a secret of every kind in its container,
// images that crash (logging both credentials first) or start slowly,
// and the new secret and parameter in the account.
func plantedScenario(t *testing.T) ecssim.Scenario {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("internal", "action", "scenarios", "verify.json"))
	if err != nil {
		t.Fatal(err)
	}
	app := &sc.TaskDefinitions[0].TaskDefinition.ContainerDefinitions[0]
	app.Environment = []types.KeyValuePair{
		{Name: aws.String("API_TOKEN"), Value: aws.String(plantLongCredential)},
		{Name: aws.String("ADMIN_PASSWORD"), Value: aws.String(plantShortCredential)},
		{Name: aws.String("LOG_LEVEL"), Value: aws.String("info")},
	}
	app.Secrets = append(app.Secrets,
		types.Secret{Name: aws.String("STRIPE_KEY"), ValueFrom: aws.String(plantSMSecretARN)},
		types.Secret{Name: aws.String("WEBHOOK_SIGNING"), ValueFrom: aws.String(plantParamARN)},
	)
	app.LogConfiguration.SecretOptions = []types.Secret{{Name: aws.String("shipper-token"), ValueFrom: aws.String(plantLogSecretOption)}}
	sc.Secrets = append(sc.Secrets, ecssim.ScenarioSecret{Name: "payment/stripe-key", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/stripe-key-Q1w2E3"})
	sc.Parameters = append(sc.Parameters, ecssim.ScenarioParameter{Name: "/payment/webhook-signing"})
	sc.Repositories[0].Images = append(sc.Repositories[0].Images, ecssim.ScenarioImage{Tags: []string{"crash", "slow"}, Platforms: []string{"linux/amd64"}})
	sc.ImageRules = append([]ecssim.ImageRule{
		{Image: "*:crash", Behavior: ecssim.BehaviorCrash, Logs: []string{
			"starting with ADMIN_PASSWORD=" + plantShortCredential + " and API_TOKEN=" + plantLongCredential,
			"connecting as admin/" + plantShortCredential + " with token " + plantLongCredential,
			"loading " + plantSecretJSONKey + " (payment/db) and /payment/api-key",
			"panic: cannot reach the database",
		}},
		{Image: "*:slow", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)},
	}, sc.ImageRules...)
	return sc
}

// TestNothingSecretOnAnyChannel plants secrets of every kind and runs the
// binary through every path that prints: a success with the verify
// phase, a verify failure naming the missing secret, a secret ECS cannot
// fetch (its stopped reason quotes the ARN), a crash with log excerpts
// and a rollback, a dry run with the render inputs, `ecs-rollout
// verify`, and the post step after a killed main step. It searches every
// channel (stdout with its annotations, stderr, the outputs, the job
// summary, the saved state) for each planted string: the only place one
// may appear is an ::add-mask:: line (GitHub's runner swallows it), and
// a value shorter than taskdef.MinSecretLen not even there.
func TestNothingSecretOnAnyChannel(t *testing.T) {
	t.Parallel()
	const image = verifyImage
	tests := []struct {
		name   string
		inputs map[string]string
		// cli runs `ecs-rollout verify` with these arguments outside
		// GitHub instead of the action.
		cli []string
		// post kills the main step mid-watch and runs the post step.
		post       bool
		wantStatus string
		wantSay    []string // on stdout or stderr, to show the path ran
	}{
		{name: "success with verify", inputs: map[string]string{"image": image + ":v2"}, wantStatus: "succeeded",
			wantSay: []string{`container "app": secret DB_PASSWORD (Secrets Manager)`, `container "app": secret STRIPE_KEY (Secrets Manager)`,
				`container "app": secret API_KEY (SSM parameter)`, `container "app": secret WEBHOOK_SIGNING (SSM parameter)`}},
		{name: "verify failure names the missing secret", inputs: map[string]string{"image": image + ":v2", "secrets": "MISSING_TOKEN=" + plantSecretByName},
			wantStatus: "failed", wantSay: []string{`container "app": secret MISSING_TOKEN: the Secrets Manager secret it names does not exist`}},
		{name: "a secret ECS cannot fetch, rollback", inputs: map[string]string{"image": image + ":v2", "verify": "false", "secrets": "GONE_TOKEN=" + plantSecretGone},
			wantStatus: "rolled-back", wantSay: []string{"ResourceInitializationError: unable to pull secrets or registry auth", "failed to fetch secret *** from secrets manager"}},
		{name: "crash, log excerpts, rollback", inputs: map[string]string{"image": image + ":crash", "log-lines": "20"}, wantStatus: "rolled-back",
			wantSay: []string{"panic: cannot reach the database", "starting with ADMIN_PASSWORD=*** and API_TOKEN=***"}},
		{name: "dry run with the render inputs", inputs: map[string]string{"image": image + ":v2", "dry-run": "true",
			"environment-variables": "DB_PASS=" + plantInputShortPass, "secrets": "EXTRA=" + plantParamARN, "env-files": plantEnvFile,
			"log-configuration-options": "shipper-password=" + plantLogOptionSecret},
			wantStatus: "dry-run", wantSay: []string{"environment DB_PASS added (value hidden)", "secret EXTRA added (valueFrom hidden)",
				"environmentFiles[0].value added (value hidden)", "logConfiguration.options.shipper-password added (value hidden)",
				`container "app": secrets WEBHOOK_SIGNING, EXTRA (SSM parameter)`}},
		{name: "ecs-rollout verify", cli: []string{"verify", "--cluster", "prod", "--service", "payment", "--container-name", "app", "--image", image + ":v2"},
			wantSay: []string{"Verified in", `container "app": secret STRIPE_KEY (Secrets Manager)`}},
		{name: "post step after a killed main step", inputs: map[string]string{"image": image + ":slow"}, post: true,
			wantSay: []string{"rollback to payment:1 issued"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, plantedScenario(t))
			r := newActionRun(t, srv, map[string]string{"service": "payment", "timeout": "20s", "rollback-timeout": "20s"})
			setInputs(r.env, tt.inputs)
			for _, s := range []string{"ECR", "SECRETS_MANAGER", "SSM", "IAM"} {
				r.env["AWS_ENDPOINT_URL_"+s] = srv.URL
			}
			channels := map[string]string{}
			var say string
			switch {
			case tt.cli != nil:
				for k := range r.env {
					if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "INPUT_") {
						delete(r.env, k)
					}
				}
				summary := filepath.Join(r.dir, "cli-summary.md")
				if code := r.run(append(tt.cli, "--summary", summary)...); code != exitOK {
					t.Fatalf("exit %d\n%s", code, r.dump())
				}
				channels["summary file"] = readText(t, summary)
			case tt.post:
				r.start()
				waitFor(t, 30*time.Second, "the main step watching", func() bool { return killWatching(srv, r) })
				r.signal(syscall.SIGKILL)
				r.wait(10 * time.Second)
				post := postRun(t, r)
				if code := post.run(); code != exitOK {
					t.Fatalf("post step: exit %d\n%s", code, post.dump())
				}
				channels["post stdout"] = post.stdout.String()
				channels["post stderr"] = post.stderr.String()
				channels["post GITHUB_STEP_SUMMARY"] = readText(t, post.sum)
				channels["post GITHUB_STATE"] = readText(t, post.state)
				say = post.stdout.String()
				if !strings.Contains(say, "::add-mask::"+plantLongCredential+"\n") {
					t.Errorf("the post step did not register the revisions' credentials:\n%s", say)
				}
			default:
				r.run()
				if got := r.outputs()["status"]; got != tt.wantStatus {
					t.Fatalf("status %q, want %q\n%s", got, tt.wantStatus, r.dump())
				}
			}
			channels["stdout"] = r.stdout.String()
			channels["stderr"] = r.stderr.String()
			channels["GITHUB_OUTPUT"] = readText(t, r.output)
			channels["GITHUB_STEP_SUMMARY"] = readText(t, r.sum)
			channels["GITHUB_STATE"] = readText(t, r.state)
			say += r.stdout.String() + r.stderr.String()
			for _, w := range tt.wantSay {
				if !strings.Contains(say, w) {
					t.Errorf("the run does not say %q\n%s", w, say)
				}
			}
			leaks := printedSecrets(channels, plantedEverywhere())
			for _, leak := range leaks {
				t.Error(leak)
			}
			if len(leaks) > 0 {
				t.Logf("stdout:\n%s\nstderr:\n%s", channels["stdout"], channels["stderr"])
			}
		})
	}
}

// printedSecrets returns one message per planted string found in a
// channel outside an ::add-mask:: line, and per planted string shorter
// than taskdef.MinSecretLen found anywhere.
func printedSecrets(channels map[string]string, planted []string) []string {
	var leaks []string
	for name, content := range channels {
		for i, line := range strings.Split(content, "\n") {
			for _, s := range planted {
				if !strings.Contains(line, s) {
					continue
				}
				if strings.HasPrefix(line, "::add-mask::") && strings.HasSuffix(name, "stdout") && len(s) >= taskdef.MinSecretLen {
					continue
				}
				leaks = append(leaks, fmt.Sprintf("%s line %d prints %q: %s", name, i+1, s, around(line, s)))
			}
		}
	}
	return leaks
}
