package deployer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/distribution/reference"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Verification is what the verify phase (Config.Verify) found in the
// revision about to be deployed, before anything was registered or
// changed. See docs/verify.md.
type Verification struct {
	// Checked lists what was verified and found in order, one line each.
	Checked []string
	// Problems are definite problems, each naming its container (or
	// role): an image or tag that does not exist, an image without the
	// task's platform, a missing secret, parameter, log group or role, a
	// trust policy ECS tasks cannot use, a permission the execution role
	// lacks. Any problem stops the deploy.
	Problems []string
	// Notices are checks that could not be made (a permission the
	// deploying role lacks, an image outside ECR, a service that cannot
	// be reached), one per kind; they never stop the deploy.
	Notices []string
	// Calls is the number of API calls the phase made.
	Calls int
	// Duration is how long the phase took.
	Duration time.Duration
}

// verifyTimeout bounds the verify phase (each call retries throttling
// and 5xx within it).
const verifyTimeout = 30 * time.Second

// verify runs the verify phase on td, the revision that will be deployed
// to the run's service, and records what it found in the Result.
func (r *run) verify(ctx context.Context, td *ecs.RegisterTaskDefinitionInput) error {
	v, err := r.d.verifyRevision(ctx, r.cfg, td, aws.ToString(r.svc.ServiceArn))
	r.res.Verification = v
	return err
}

// verifyRevision runs the verify phase on td. It returns what it found
// (nil when it did not run: no Config.Verify or no clients) and an error
// listing every problem. serviceARN gives the region and account of the
// names that are not ARNs (an SSM parameter's, a log group's); without a
// service they come from the clients and the task definition's roles.
func (d *Deployer) verifyRevision(ctx context.Context, cfg Config, td *ecs.RegisterTaskDefinitionInput, serviceARN string) (*Verification, error) {
	if !cfg.Verify || d.verify == nil || td == nil {
		return nil, nil
	}
	start := d.now()
	// A verification API that hangs must not hold the deploy: what is not
	// answered by then becomes a notice.
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	partition, region, account := arnParts(serviceARN)
	if serviceARN == "" {
		partition, _, account = arnParts(cmp.Or(aws.ToString(td.ExecutionRoleArn), aws.ToString(td.TaskRoleArn)))
		region = d.verify.Region()
	}
	v := &verifier{clients: d.verify, partition: partition, region: region, account: account, notices: map[string]*notice{},
		redact: taskdef.NewRedactor(taskdef.MaskValues(td))}
	v.collect(td)
	v.run(vctx)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := v.result()
	res.Duration = d.now().Sub(start)
	for _, n := range res.Notices {
		d.emit(EventNotice, "%s", n)
	}
	if len(res.Problems) > 0 {
		return &res, fmt.Errorf("verify: %s; nothing was registered or changed", strings.Join(res.Problems, "; "))
	}
	d.emit(EventInfo, "Verified in %s (%d calls): %s", res.Duration.Round(time.Millisecond), res.Calls, orNothing(strings.Join(res.Checked, "; ")))
	return &res, nil
}

// verifyPlan is the dry run's account of the verify phase.
func verifyPlan(vr *Verification) []string {
	if vr == nil {
		return nil
	}
	plan := []string{fmt.Sprintf("verified before any change (%d calls, %s):", vr.Calls, vr.Duration.Round(time.Millisecond))}
	for _, c := range vr.Checked {
		plan = append(plan, "  "+c)
	}
	for _, n := range vr.Notices {
		plan = append(plan, "  not verified: "+n)
	}
	return plan
}

func orNothing(s string) string {
	if s == "" {
		return "nothing to verify"
	}
	return s
}

// arnParts returns an ARN's partition, region and account.
func arnParts(arn string) (partition, region, account string) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 || p[0] != "arn" {
		return "aws", "", ""
	}
	return p[1], p[3], p[4]
}

// user is one use of a resource: a container, and the name the task
// definition gives it there (a secret's environment variable).
type user struct {
	index     int // the container's position, for ordering
	container string
	name      string
}

func (u user) String() string {
	if u.name != "" {
		return fmt.Sprintf("container %q: secret %s", u.container, u.name)
	}
	return fmt.Sprintf("container %q", u.container)
}

// The resources of a revision, each checked once whatever the number of
// containers using it.
type (
	imageRef struct {
		image, registry, region, repo, tag, digest string
		users                                      []user
	}
	// A secret or parameter is named in what people read by its users
	// (container "app": secret DB_PASSWORD), never by its name or ARN.
	secretRef struct {
		id, region, arn string // id: the ARN without ECS's json-key suffix
		users           []user
	}
	paramRef struct {
		name, region, arn string
		users             []user
	}
	logGroupRef struct {
		group, region, arn string
		create             bool // awslogs-create-group: ECS creates it
		users              []user
	}
	roleRef struct {
		what, arn, name string // what: "execution role", "task role"
	}
)

// need is one permission ECS needs from the execution role, and what a
// missing one would cost.
type need struct {
	action, resource, display, consequence string
	users                                  []user
}

// notice is a kind of check that could not be made.
type notice struct {
	order int
	text  string
	items []string
}

// finding is a problem or a checked item, ordered by container.
type finding struct {
	order int
	text  string
}

type verifier struct {
	clients                    VerifyClients
	partition, region, account string
	platform                   string // os/architecture the tasks run on
	platformName               string // as the task definition says it

	images    []*imageRef
	secrets   []*secretRef
	params    []*paramRef
	logGroups []*logGroupRef
	roles     []roleRef
	execRole  string
	needs     []need

	// redact keeps the task definition's credentials (and the forms
	// AWS's messages name its secrets by) out of every finding and
	// notice, SDK error messages included.
	redact *taskdef.Redactor

	mu       sync.Mutex
	problems []finding
	checked  []finding
	notices  map[string]*notice
	calls    int
}

// ecrHost matches a private ECR registry host and captures its account
// and region (https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html).
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// collect lists the resources td refers to.
func (v *verifier) collect(td *ecs.RegisterTaskDefinitionInput) {
	v.platform, v.platformName = taskPlatform(td.RuntimePlatform)
	images := map[string]*imageRef{}
	secrets := map[string]*secretRef{}
	params := map[string]*paramRef{}
	groups := map[string]*logGroupRef{}
	for i, c := range td.ContainerDefinitions {
		u := user{index: i, container: aws.ToString(c.Name)}
		if img := aws.ToString(c.Image); img != "" {
			if ref := images[img]; ref != nil {
				ref.users = append(ref.users, u)
			} else if ref := v.imageRef(img); ref != nil {
				ref.users = []user{u}
				images[img] = ref
				v.images = append(v.images, ref)
			} else {
				v.notice("registry", 0, "images outside private ECR are not verified (no credentials are guessed)", fmt.Sprintf("%s (container %q)", img, u.container))
			}
		}
		for _, s := range c.Secrets {
			su := u
			su.name = aws.ToString(s.Name)
			v.addSecret(aws.ToString(s.ValueFrom), su, secrets, params)
		}
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs && lc.Options["awslogs-group"] != "" {
			g, region := lc.Options["awslogs-group"], cmp.Or(lc.Options["awslogs-region"], v.region)
			key := region + "|" + g
			if ref := groups[key]; ref != nil {
				ref.users = append(ref.users, u)
			} else {
				ref := &logGroupRef{group: g, region: region, create: strings.EqualFold(lc.Options["awslogs-create-group"], "true"), users: []user{u},
					arn: fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", v.partition, region, v.account, g)}
				groups[key] = ref
				v.logGroups = append(v.logGroups, ref)
			}
		}
	}
	if arn := aws.ToString(td.ExecutionRoleArn); arn != "" {
		v.roles = append(v.roles, roleRef{what: "execution role", arn: arn, name: roleName(arn)})
		v.execRole = arn
	}
	if arn := aws.ToString(td.TaskRoleArn); arn != "" && arn != v.execRole {
		v.roles = append(v.roles, roleRef{what: "task role", arn: arn, name: roleName(arn)})
	}
	v.needs = v.executionNeeds()
}

// taskPlatform is the platform the tasks run on, as an image index names
// it (linux/amd64), and as the task definition says it (LINUX/X86_64):
// runtimePlatform, Fargate's default LINUX/X86_64 when unset.
func taskPlatform(rp *ecstypes.RuntimePlatform) (platform, name string) {
	osf, arch := ecstypes.OSFamilyLinux, ecstypes.CPUArchitectureX8664
	if rp != nil {
		osf, arch = cmp.Or(rp.OperatingSystemFamily, osf), cmp.Or(rp.CpuArchitecture, arch)
	}
	os := "linux"
	if strings.HasPrefix(string(osf), "WINDOWS") {
		os = "windows"
	}
	a := "amd64"
	if arch == ecstypes.CPUArchitectureArm64 {
		a = "arm64"
	}
	return os + "/" + a, string(osf) + "/" + string(arch)
}

// imageRef parses a private ECR image reference; nil for other registries.
func (v *verifier) imageRef(img string) *imageRef {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return nil
	}
	m := ecrHost.FindStringSubmatch(reference.Domain(named))
	if m == nil {
		return nil
	}
	ref := &imageRef{image: img, registry: m[1], region: m[2], repo: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		ref.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		ref.digest = d.Digest().String()
	}
	if ref.tag == "" && ref.digest == "" {
		ref.tag = "latest"
	}
	return ref
}

// addSecret sorts one secrets[].valueFrom into a Secrets Manager secret
// or an SSM parameter
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html).
func (v *verifier) addSecret(valueFrom string, u user, secrets map[string]*secretRef, params map[string]*paramRef) {
	p := strings.Split(valueFrom, ":")
	switch {
	case len(p) >= 7 && p[0] == "arn" && p[2] == "secretsmanager" && p[5] == "secret":
		// arn:aws:secretsmanager:region:account:secret:name-AbCdEf, then
		// ECS's optional :json-key:version-stage:version-id.
		id := strings.Join(p[:7], ":")
		if ref := secrets[id]; ref != nil {
			ref.users = append(ref.users, u)
			return
		}
		ref := &secretRef{id: id, region: p[3], arn: id, users: []user{u}}
		secrets[id] = ref
		v.secrets = append(v.secrets, ref)
	case len(p) >= 6 && p[0] == "arn" && p[2] == "ssm":
		name := strings.TrimPrefix(strings.Join(p[5:], ":"), "parameter")
		if strings.Count(name, "/") < 2 {
			name = strings.TrimPrefix(name, "/") // "parameter/name": a name without a path
		}
		if p[4] != v.account && v.account != "" {
			v.notice("ssm-account", 0, "parameters of another account are not verified", u.String())
			return
		}
		v.addParam(params, name, p[3], valueFrom, u)
	case strings.HasPrefix(valueFrom, "arn:"):
		v.notice("secret-kind", 0, "secrets that are neither Secrets Manager secrets nor SSM parameters are not verified", u.String())
	default:
		v.addParam(params, valueFrom, v.region, fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", v.partition, v.region, v.account, strings.TrimPrefix(valueFrom, "/")), u)
	}
}

func (v *verifier) addParam(params map[string]*paramRef, name, region, arn string, u user) {
	key := region + "|" + name
	if ref := params[key]; ref != nil {
		ref.users = append(ref.users, u)
		return
	}
	ref := &paramRef{name: name, region: region, arn: arn, users: []user{u}}
	params[key] = ref
	v.params = append(v.params, ref)
}

func roleName(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// executionNeeds lists what ECS does with the execution role for this
// revision
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html):
// pull the ECR images, read the secrets and parameters, write (and
// create, with awslogs-create-group) the log streams.
func (v *verifier) executionNeeds() []need {
	if v.execRole == "" {
		return nil
	}
	var out []need
	const pull = "the tasks would stop with CannotPullContainerError"
	const initErr = "the tasks would stop with ResourceInitializationError"
	if len(v.images) > 0 {
		out = append(out, need{action: "ecr:GetAuthorizationToken", resource: "*", display: "*", consequence: pull})
	}
	for _, im := range v.images {
		repoARN := fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", v.partition, im.region, im.registry, im.repo)
		for _, a := range []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} {
			out = append(out, need{action: a, resource: repoARN, display: "repository " + im.repo, consequence: pull, users: im.users})
		}
	}
	for _, s := range v.secrets {
		out = append(out, need{action: "secretsmanager:GetSecretValue", resource: s.arn, display: secretNames(s.users), consequence: initErr, users: s.users})
	}
	for _, p := range v.params {
		out = append(out, need{action: "ssm:GetParameters", resource: p.arn, display: secretNames(p.users), consequence: initErr, users: p.users})
	}
	for _, g := range v.logGroups {
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			out = append(out, need{action: a, resource: g.arn + ":log-stream:*", display: "log group " + g.group, consequence: initErr, users: g.users})
		}
		if g.create {
			out = append(out, need{action: "logs:CreateLogGroup", resource: g.arn + ":*", display: "log group " + g.group, consequence: initErr, users: g.users})
		}
	}
	return out
}

// run makes every check at once and waits for them.
func (v *verifier) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, im := range v.images {
		wg.Go(func() { v.checkImage(ctx, im) })
	}
	for _, s := range v.secrets {
		wg.Go(func() { v.checkSecret(ctx, s) })
	}
	byRegion := map[string][]*paramRef{}
	for _, p := range v.params {
		byRegion[p.region] = append(byRegion[p.region], p)
	}
	for region, ps := range byRegion {
		wg.Go(func() { v.checkParams(ctx, region, ps) })
	}
	for _, g := range v.logGroups {
		if !g.create {
			wg.Go(func() { v.checkLogGroup(ctx, g) })
		}
	}
	for _, role := range v.roles {
		wg.Go(func() { v.checkRole(ctx, role) })
	}
	if len(v.needs) > 0 {
		wg.Go(func() { v.simulate(ctx) })
	}
	wg.Wait()
}

func (v *verifier) result() Verification {
	v.mu.Lock()
	defer v.mu.Unlock()
	sorted := func(fs []finding) []string {
		// The checks run at once: findings of the same rank (two secrets
		// of one container) are put in the order of their text, so that
		// every run prints them alike.
		sort.SliceStable(fs, func(i, j int) bool {
			return fs[i].order < fs[j].order || fs[i].order == fs[j].order && fs[i].text < fs[j].text
		})
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.text
		}
		return out
	}
	res := Verification{Checked: sorted(v.checked), Problems: sorted(v.problems), Calls: v.calls}
	ns := make([]*notice, 0, len(v.notices))
	for _, n := range v.notices {
		ns = append(ns, n)
	}
	sort.SliceStable(ns, func(i, j int) bool {
		return ns[i].order < ns[j].order || ns[i].order == ns[j].order && ns[i].text < ns[j].text
	})
	for _, n := range ns {
		text := n.text
		if len(n.items) > 0 {
			text += ": " + strings.Join(n.items, ", ")
		}
		res.Notices = append(res.Notices, "verify: "+text)
	}
	return res
}

func (v *verifier) problem(order int, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.problems = append(v.problems, finding{order, v.redact.Redact(fmt.Sprintf(format, args...))})
}

func (v *verifier) ok(order int, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked = append(v.checked, finding{order, v.redact.Redact(fmt.Sprintf(format, args...))})
}

// notice records a check that could not be made: one notice per kind,
// listing the items it concerns.
func (v *verifier) notice(kind string, order int, text, item string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	text, item = v.redact.Redact(text), v.redact.Redact(item)
	n := v.notices[kind]
	if n == nil {
		n = &notice{order: order, text: text}
		v.notices[kind] = n
	}
	if item != "" && !slices.Contains(n.items, item) {
		n.items = append(n.items, item)
	}
}

// call counts one API call.
func (v *verifier) call() {
	v.mu.Lock()
	v.calls++
	v.mu.Unlock()
}

// unreached notes a check that could not be made for another reason than
// a definite answer: no client, a denied call (naming the permission to
// grant), an error that outlived the retries.
func (v *verifier) unreached(what, permission string, err error, item string) {
	switch {
	case isDenied(err):
		v.notice("denied:"+permission, 1, fmt.Sprintf("%s not verified: this role may not call %s (grant it, read-only and optional, to verify them)", what, permission), item)
	default:
		v.notice("error:"+permission, 2, fmt.Sprintf("%s not verified: %s failed: %v", what, permission, err), item)
	}
}

// isDenied reports whether err is AWS refusing the caller the call.
func isDenied(err error) bool {
	switch apiErrorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException":
		return true
	}
	return false
}

// secretUsers names a secret or parameter by its users, container by
// container: container "app": secret DB_PASSWORD, or container "app":
// secrets DB_PASSWORD, DB_PASS and container "worker": secret DB.
func secretUsers(us []user) string {
	var containers []string
	byContainer := map[string][]user{}
	for _, u := range us {
		if _, ok := byContainer[u.container]; !ok {
			containers = append(containers, u.container)
		}
		byContainer[u.container] = append(byContainer[u.container], u)
	}
	parts := make([]string, len(containers))
	for i, c := range containers {
		parts[i] = fmt.Sprintf("container %q: %s", c, secretNames(byContainer[c]))
	}
	return strings.Join(parts, " and ")
}

// secretNames names a secret or parameter by the variables it fills, for
// a line that names the containers already: secret DB_PASSWORD, secrets
// DB_PASSWORD, DB_PASS.
func secretNames(us []user) string {
	var names []string
	for _, u := range us {
		if !slices.Contains(names, u.name) {
			names = append(names, u.name)
		}
	}
	return plural(len(names), "secret ", "secrets ") + strings.Join(names, ", ")
}

// prefix is "container \"app\": " for a need of the containers us, ""
// for one of the task (ecr:GetAuthorizationToken).
func prefix(us []user) string {
	if len(us) == 0 {
		return ""
	}
	return usersOf(us) + ": "
}

func usersOf(us []user) string {
	var names []string
	for _, u := range us {
		if s := fmt.Sprintf("container %q", u.container); !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return strings.Join(names, ", ")
}

func firstIndex(us []user) int {
	if len(us) == 0 {
		return 1 << 20
	}
	return us[0].index
}

// The media types an image index or manifest list may have
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).
var manifestMediaTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.v1+json",
}

// checkImage looks the image up in its registry (DescribeImages; a
// missing tag lists the repository's newest tags), then reads its
// manifest (BatchGetImage) for the platforms an image index offers.
func (v *verifier) checkImage(ctx context.Context, im *imageRef) {
	order := firstIndex(im.users) * 10
	who := usersOf(im.users)
	c, err := v.clients.ECR(im.region)
	if err != nil {
		v.notice("client:ecr", 2, fmt.Sprintf("images not verified: %v", err), im.image)
		return
	}
	id := ecrtypes.ImageIdentifier{}
	if im.digest != "" {
		id.ImageDigest = aws.String(im.digest)
	} else {
		id.ImageTag = aws.String(im.tag)
	}
	v.call()
	_, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RegistryId: aws.String(im.registry), RepositoryName: aws.String(im.repo), ImageIds: []ecrtypes.ImageIdentifier{id}})
	switch code := apiErrorCode(err); {
	case err == nil:
	case code == "RepositoryNotFoundException":
		v.problem(order, "%s: image %s: repository %s does not exist in registry %s (%s): the tasks would stop with CannotPullContainerError", who, im.image, im.repo, im.registry, im.region)
		return
	case code == "ImageNotFoundException":
		what := "tag " + im.tag
		if im.digest != "" {
			what = "digest " + im.digest
		}
		v.problem(order, "%s: image %s: %s was never pushed to repository %s%s: the tasks would stop with CannotPullContainerError", who, im.image, what, im.repo, v.newestTags(ctx, c, im))
		return
	default:
		v.unreached("images", "ecr:DescribeImages", err, im.image)
		return
	}
	v.call()
	out, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RegistryId: aws.String(im.registry), RepositoryName: aws.String(im.repo),
		ImageIds: []ecrtypes.ImageIdentifier{id}, AcceptedMediaTypes: manifestMediaTypes})
	if err != nil {
		v.unreached("image platforms", "ecr:BatchGetImage", err, im.image)
		v.ok(order, "image %s (pushed)", im.image)
		return
	}
	if len(out.Images) == 0 {
		v.notice("manifest", 3, "image platforms not verified: ECR returned no manifest", im.image)
		v.ok(order, "image %s (pushed)", im.image)
		return
	}
	plats, isIndex := indexPlatforms(aws.ToString(out.Images[0].ImageManifest), aws.ToString(out.Images[0].ImageManifestMediaType))
	switch {
	case !isIndex:
		v.notice("plain-manifest", 3, "image platform not verified for single-platform manifests (no platform list; only an image index names its platforms)", im.image)
		v.ok(order, "image %s (pushed)", im.image)
	case slices.Contains(plats, v.platform):
		v.ok(order, "image %s (%s in its index)", im.image, v.platform)
	default:
		v.problem(order+1, "%s: image %s is built for %s only; the task definition runs on %s (runtimePlatform): the tasks would stop with exec format error",
			who, im.image, orNone(strings.Join(plats, ", ")), v.platformName)
	}
}

// newestTags lists up to five of the repository's newest tags (one
// DescribeImages page, sorted by push time), for a tag that is not there.
func (v *verifier) newestTags(ctx context.Context, c ECRClient, im *imageRef) string {
	v.call()
	out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RegistryId: aws.String(im.registry), RepositoryName: aws.String(im.repo),
		Filter: &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged}, MaxResults: aws.Int32(1000)})
	if err != nil {
		return ""
	}
	imgs := out.ImageDetails
	sort.SliceStable(imgs, func(i, j int) bool {
		return aws.ToTime(imgs[i].ImagePushedAt).After(aws.ToTime(imgs[j].ImagePushedAt))
	})
	var tags []string
	for _, d := range imgs {
		for _, t := range d.ImageTags {
			if len(tags) < 5 {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return " (it has no tagged image)"
	}
	return " (newest tags: " + strings.Join(tags, ", ") + ")"
}

// indexPlatforms returns the platforms of an image index or manifest
// list (os/architecture), leaving out attestation manifests
// (unknown/unknown); isIndex is false for a single image manifest.
func indexPlatforms(manifest, mediaType string) (plats []string, isIndex bool) {
	var m struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Platform *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		return nil, false
	}
	mt := cmp.Or(m.MediaType, mediaType)
	if !strings.Contains(mt, "index") && !strings.Contains(mt, "manifest.list") && len(m.Manifests) == 0 {
		return nil, false
	}
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" || d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		if !slices.Contains(plats, p) {
			plats = append(plats, p)
		}
	}
	return plats, true
}

func orNone(s string) string {
	if s == "" {
		return "no platform"
	}
	return s
}

// checkSecret reads a Secrets Manager secret's metadata (DescribeSecret:
// never its value).
func (v *verifier) checkSecret(ctx context.Context, s *secretRef) {
	order := firstIndex(s.users)*10 + 2
	c, err := v.clients.SecretsManager(s.region)
	if err != nil {
		v.notice("client:secretsmanager", 2, fmt.Sprintf("secrets not verified: %v", err), s.users[0].String())
		return
	}
	v.call()
	_, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.id)})
	switch {
	case err == nil:
		v.ok(order, "%s (Secrets Manager)", secretUsers(s.users))
	case apiErrorCode(err) == "ResourceNotFoundException":
		for _, u := range s.users {
			v.problem(u.index*10+2, "%s: the Secrets Manager secret it names does not exist: the tasks would stop with ResourceInitializationError", u)
		}
	default:
		v.unreached("secrets", "secretsmanager:DescribeSecret", err, secretUsers(s.users))
	}
}

// checkParams looks up one region's parameters by name
// (DescribeParameters, 50 names a call), or, when that is denied, with
// GetParameters without decryption (10 names a call; the values it
// returns are dropped).
func (v *verifier) checkParams(ctx context.Context, region string, ps []*paramRef) {
	order := firstIndex(ps[0].users)*10 + 3
	c, err := v.clients.SSM(region)
	if err != nil {
		v.notice("client:ssm", 2, fmt.Sprintf("parameters not verified: %v", err), "")
		return
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	found, err := v.describeParams(ctx, c, names)
	if isDenied(err) {
		found, err = v.getParams(ctx, c, names)
	}
	if err != nil {
		v.unreached("parameters", "ssm:DescribeParameters", err, "")
		return
	}
	for _, p := range ps {
		if found[p.name] {
			v.ok(order, "%s (SSM parameter)", secretUsers(p.users))
			continue
		}
		for _, u := range p.users {
			v.problem(u.index*10+3, "%s: the SSM parameter it names does not exist in %s: the tasks would stop with ResourceInitializationError", u, region)
		}
	}
}

func (v *verifier) describeParams(ctx context.Context, c SSMClient, names []string) (map[string]bool, error) {
	found := map[string]bool{}
	for chunk := range slices.Chunk(names, 50) {
		in := &ssm.DescribeParametersInput{MaxResults: aws.Int32(50), ParameterFilters: []ssmtypes.ParameterStringFilter{
			{Key: aws.String("Name"), Option: aws.String("Equals"), Values: chunk}}}
		for {
			v.call()
			out, err := c.DescribeParameters(ctx, in)
			if err != nil {
				return nil, err
			}
			for _, p := range out.Parameters {
				found[aws.ToString(p.Name)] = true
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return found, nil
}

func (v *verifier) getParams(ctx context.Context, c SSMClient, names []string) (map[string]bool, error) {
	found := map[string]bool{}
	for chunk := range slices.Chunk(names, 10) {
		v.call()
		out, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk, WithDecryption: aws.Bool(false)})
		if err != nil {
			return nil, err
		}
		invalid := map[string]bool{}
		for _, n := range out.InvalidParameters {
			invalid[n] = true
		}
		for _, n := range chunk {
			found[n] = !invalid[n]
		}
	}
	return found, nil
}

// checkLogGroup looks the group up (DescribeLogGroups by prefix, one
// result: log groups are listed in name order, so an exact match is
// first).
func (v *verifier) checkLogGroup(ctx context.Context, g *logGroupRef) {
	order := firstIndex(g.users)*10 + 4
	c, err := v.clients.Logs(g.region)
	if err != nil {
		v.notice("client:logs", 2, fmt.Sprintf("log groups not verified: %v", err), g.group)
		return
	}
	v.call()
	out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(g.group), Limit: aws.Int32(1)})
	if err != nil {
		v.unreached("log groups", "logs:DescribeLogGroups", err, g.group)
		return
	}
	if len(out.LogGroups) > 0 && aws.ToString(out.LogGroups[0].LogGroupName) == g.group {
		v.ok(order, "log group %s", g.group)
		return
	}
	v.problem(order, "%s: log group %s does not exist in %s (awslogs; create it, or set awslogs-create-group to true): the tasks would stop with ResourceInitializationError",
		usersOf(g.users), g.group, g.region)
}

// checkRole reads a role (GetRole) and its trust policy, which must let
// ECS tasks (ecs-tasks.amazonaws.com) sts:AssumeRole.
func (v *verifier) checkRole(ctx context.Context, role roleRef) {
	order := 1 << 21
	if role.what == "task role" {
		order++
	}
	c, err := v.clients.IAM()
	if err != nil {
		v.notice("client:iam", 2, fmt.Sprintf("roles not verified: %v", err), role.name)
		return
	}
	v.call()
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role.name)})
	switch {
	case apiErrorCode(err) == "NoSuchEntity":
		v.problem(order, "the %s %s does not exist: ECS could not start the tasks", role.what, role.name)
		return
	case err != nil:
		v.unreached("roles", "iam:GetRole", err, role.name)
		return
	case out.Role == nil:
		return
	}
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		doc = aws.ToString(out.Role.AssumeRolePolicyDocument)
	}
	if !trustsECSTasks(doc) {
		v.problem(order, "the %s %s does not let ecs-tasks.amazonaws.com sts:AssumeRole (its trust policy): ECS could not start the tasks", role.what, role.name)
		return
	}
	v.ok(order, "%s %s (trusts ECS tasks)", role.what, role.name)
}

// trustsECSTasks reports whether a trust policy allows the ECS tasks
// service principal to sts:AssumeRole (conditions are not evaluated).
func trustsECSTasks(doc string) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	type statement struct {
		Effect    string
		Principal json.RawMessage
		Action    json.RawMessage
	}
	var sts []statement
	if json.Unmarshal(p.Statement, &sts) != nil {
		var one statement
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		sts = []statement{one}
	}
	allowed := false
	for _, s := range sts {
		if !principalIsECSTasks(s.Principal) || !actionMatches(s.Action, "sts:AssumeRole") {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = allowed || s.Effect == "Allow"
	}
	return allowed
}

func principalIsECSTasks(raw json.RawMessage) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	return slices.Contains(stringOrList(m["Service"]), "ecs-tasks.amazonaws.com")
}

func actionMatches(raw json.RawMessage, action string) bool {
	for _, a := range stringOrList(raw) {
		if a == "*" || strings.EqualFold(a, action) || strings.EqualFold(a, "sts:*") {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// simulate asks IAM whether the execution role may do what ECS will do
// with it (SimulatePrincipalPolicy: nothing is assumed), in one batch:
// every action against every resource, read page by page.
func (v *verifier) simulate(ctx context.Context) {
	c, err := v.clients.IAM()
	if err != nil {
		v.notice("client:iam", 2, fmt.Sprintf("roles not verified: %v", err), roleName(v.execRole))
		return
	}
	var actions, resources []string
	for _, n := range v.needs {
		if !slices.Contains(actions, n.action) {
			actions = append(actions, n.action)
		}
		if !slices.Contains(resources, n.resource) {
			resources = append(resources, n.resource)
		}
	}
	type decision struct {
		decision string
		missing  []string
	}
	got := map[[2]string]decision{}
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(v.execRole), ActionNames: actions, ResourceArns: resources, MaxItems: aws.Int32(1000)}
	for {
		v.call()
		out, err := c.SimulatePrincipalPolicy(ctx, in)
		if apiErrorCode(err) == "NoSuchEntity" {
			return // checkRole says the role does not exist
		}
		if err != nil {
			v.unreached("the execution role's permissions", "iam:SimulatePrincipalPolicy", err, roleName(v.execRole))
			return
		}
		for _, r := range out.EvaluationResults {
			got[[2]string{aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName)}] = decision{string(r.EvalDecision), r.MissingContextValues}
		}
		if !out.IsTruncated || aws.ToString(out.Marker) == "" {
			break
		}
		in.Marker = out.Marker
	}
	name := roleName(v.execRole)
	allowed := 0
	for _, n := range v.needs {
		d, ok := got[[2]string{n.action, n.resource}]
		switch {
		case !ok || d.decision == "allowed":
			allowed++
		case len(d.missing) > 0:
			v.notice("simulate-context", 3, fmt.Sprintf("the execution role %s's permissions depend on conditions the simulation cannot know (%s); not verified", name, strings.Join(d.missing, ", ")), prefix(n.users)+n.action+" on "+n.display)
		default:
			v.problem(firstIndex(n.users)*10+5, "%sthe execution role %s may not %s on %s (%s): %s", prefix(n.users), name, n.action, n.display, d.decision, n.consequence)
		}
	}
	if allowed == len(v.needs) {
		v.ok(1<<21+2, "execution role %s may do what ECS does with it (%d permissions simulated)", name, len(v.needs))
	}
}
