package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// buildBinary builds the action's binary exactly as the Dockerfile does
// (.ci/build.sh: static, trimmed, stripped) into a temporary directory.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "ecs-rollout")
	cmd := exec.Command("bash", filepath.Join("..", ".ci", "build.sh"), out, "bench")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the binary: %v\n%s", err, msg)
	}
	return out
}

// gnuTime measures the child's peak memory (and adds about a millisecond
// to the measured start-up).
const gnuTime = "/usr/bin/time"

// versionTime is how long `ecs-rollout version` takes from start to
// exit: the floor of any start-up (exec, runtime and package init).
func versionTime(tb testing.TB, bin string) time.Duration {
	tb.Helper()
	start := time.Now()
	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		tb.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	return time.Since(start)
}

// procRun is one run of the real binary.
type procRun struct {
	startup time.Duration // process start → first API call at the simulator
	green   time.Duration // deployment COMPLETED in the API → process exited (success only)
	maxRSS  int64         // peak resident set size, bytes
	code    int
	calls   int
}

// runBinary deploys image to service "web" of cluster "c0" with the real
// binary in CLI mode, pointed at a fresh simulator through the standard
// AWS environment variables.
func runBinary(tb testing.TB, bin string, r rollout, extra ...string) procRun {
	tb.Helper()
	e := newEnv(tb, r.scenario())
	args := []string{"deploy", "--cluster", "c0", "--service", "web", "--image", r.image, "--timeout", r.timeout.String(), "--rollback-timeout", r.timeout.String()}
	if r.interval > 0 {
		args = append(args, "--poll-interval", r.interval.String())
	}
	args = append(args, extra...)
	// Peak memory comes from GNU time when it is installed: the rusage of
	// a child that Go starts with vfork carries the parent's (this test
	// binary's) high-water mark across exec.
	rssFile := filepath.Join(tb.TempDir(), "maxrss")
	cmd := exec.Command(bin, args...)
	if _, err := os.Stat(gnuTime); err == nil {
		cmd = exec.Command(gnuTime, append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	}
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + tb.TempDir(),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDSIM",
		"AWS_SECRET_ACCESS_KEY=sim-secret",
		"AWS_ENDPOINT_URL_ECS=" + e.srv.URL,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + e.srv.URL,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
	cmd.Env = append(cmd.Env, r.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	err := cmd.Wait()
	exited := time.Now()
	pr := procRun{code: cmd.ProcessState.ExitCode()}
	if err != nil && pr.code < 0 {
		tb.Fatalf("run %s: %v\n%s", bin, err, out.String())
	}
	calls := e.srv.Sim.Calls()
	if len(calls) == 0 {
		tb.Fatalf("the binary made no API call (exit %d):\n%s", pr.code, out.String())
	}
	pr.calls = len(calls)
	pr.startup = calls[0].At.Sub(start)
	if b, err := os.ReadFile(rssFile); err == nil {
		if kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			pr.maxRSS = kb * 1024
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		pr.maxRSS = int64(ru.Maxrss) * 1024 // kilobytes on Linux; may include the parent's
	}
	if pr.code == 0 {
		dep, ok := e.srv.Sim.PrimaryDeployment("c0", "web")
		if !ok {
			tb.Fatalf("no PRIMARY deployment after a successful run")
		}
		if done, ok := completedAt(e.srv.Sim, "c0", awssdk.ToString(dep.Id)); ok {
			pr.green = exited.Sub(done)
		}
	}
	if testing.Verbose() && pr.code != 0 && !strings.Contains(r.image, "crash") {
		tb.Logf("binary output:\n%s", out.String())
	}
	return pr
}

// BenchmarkStartup runs the real binary (built by .ci/build.sh) against
// the simulator: process start to first API call, time from COMPLETED to
// the process exiting 0, the binary's size and its peak memory, for
// healthy deployments at the default poll interval and one rollback
// (peak memory is the highest of all runs).
func BenchmarkStartup(b *testing.B) {
	p := profileOf(b)
	bin := buildBinary(b)
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	interval := time.Duration(0)
	effective := deployer.DefaultPollInterval
	if p.short {
		interval = 100 * time.Millisecond // the CLI's minimum
		effective = interval
	}
	// Start-up is measured on runs made one at a time; the time from
	// COMPLETED to exit and the peak memory also on runs made in parallel
	// (more samples for a stable median; their start-up is not counted).
	seqReps, parReps := 12, 24
	if p.short {
		seqReps, parReps = 1, 2
	}
	healthy := func(rep int) procRun {
		pr := runBinary(b, bin, rollout{image: "repo/app:2", tasks: 2, maxPct: 200, interval: interval, timeout: 2 * time.Minute,
			timings: p.timings(newRNG(rep), effective)})
		if pr.code != 0 {
			b.Errorf("healthy deployment: exit code %d, want 0", pr.code)
		}
		return pr
	}
	var startups, greens []time.Duration
	var peak int64
	var healthyCalls int
	for range b.N {
		for rep := range seqReps {
			pr := healthy(rep)
			startups = append(startups, pr.startup)
			greens = append(greens, pr.green)
			peak = max(peak, pr.maxRSS)
			healthyCalls += pr.calls
		}
		par := make([]procRun, parReps+1)
		repeatFn(parReps+1, func(i int) {
			if i < parReps {
				par[i] = healthy(100 + i)
				return
			}
			pr := runBinary(b, bin, rollout{image: "repo/app:crash", tasks: 2, maxPct: 200, interval: interval, timeout: 2 * time.Minute,
				timings: p.timings(newRNG(99), effective)})
			if pr.code != 1 {
				b.Errorf("crashing deployment: exit code %d, want 1", pr.code)
			}
			par[i] = pr
		})
		for i, pr := range par {
			if i < parReps {
				greens = append(greens, pr.green)
				healthyCalls += pr.calls
			}
			peak = max(peak, pr.maxRSS)
		}
	}
	reps := seqReps
	var floors []time.Duration
	for range max(reps, 3) {
		floors = append(floors, versionTime(b, bin))
	}
	fl := durStats(floors)
	su, gr := durStats(startups), durStats(greens)
	b.ReportMetric(float64(fl.median.Microseconds())/1000, "version-exit-median-ms")
	b.ReportMetric(float64(su.median.Microseconds())/1000, "startup-median-ms")
	b.ReportMetric(float64(su.max.Microseconds())/1000, "startup-max-ms")
	b.ReportMetric(secs(gr.median), "exit-green-median-s")
	b.ReportMetric(secs(gr.max), "exit-green-max-s")
	b.ReportMetric(float64(fi.Size())/(1<<20), "binary-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
	tbl := &table{title: fmt.Sprintf("The real binary (poll interval %s)", effective),
		header: []string{"start-up runs", "start → first API call median ms", "max ms", "`version` start → exit median ms", "runs to green", "COMPLETED → exit 0 median s", "max s", "binary MiB", "peak RSS MiB", "calls per healthy deploy"}}
	tbl.add(fmt.Sprint(len(startups)), fmt.Sprintf("%.1f", float64(su.median.Microseconds())/1000), fmt.Sprintf("%.1f", float64(su.max.Microseconds())/1000),
		fmt.Sprintf("%.1f", float64(fl.median.Microseconds())/1000), fmt.Sprint(len(greens)),
		f2(secs(gr.median)), f2(secs(gr.max)), fmt.Sprintf("%.1f", float64(fi.Size())/(1<<20)), fmt.Sprintf("%.1f", float64(peak)/(1<<20)),
		fmt.Sprintf("%.1f", float64(healthyCalls)/float64(max(len(greens), 1))))
	tbl.print(os.Stdout)
}

// busyLoad starts n processes that each keep one CPU busy (a shell loop
// that never sleeps) and returns the function that stops them. It is how
// the start-up benchmark loads the machine on purpose, on top of whatever
// else already runs on it.
func busyLoad(tb testing.TB, n int) (stop func()) {
	tb.Helper()
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		cmds = nil
	}
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			stop()
			tb.Fatalf("start a busy loop: %v", err)
		}
		cmds = append(cmds, c)
	}
	tb.Cleanup(stop)
	return stop
}

// loadAvg returns the one-minute load average from /proc/loadavg ("?"
// where there is none).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// initTrace is one GODEBUG=inittrace=1 run of `ecs-rollout version`.
type initTrace struct {
	total time.Duration            // sum of every package's init clock time
	end   time.Duration            // when the last init finished, from the runtime's start
	pkgs  map[string]time.Duration // clock time per package
}

// runInitTrace runs `bin version` with GODEBUG=inittrace=1 and parses
// the runtime's lines:
//
//	init github.com/distribution/reference @8.2 ms, 1.4 ms clock, 415072 bytes, 3604 allocs
func runInitTrace(tb testing.TB, bin string) initTrace {
	tb.Helper()
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s version: %v\n%s", bin, err, stderr.String())
	}
	tr := initTrace{pkgs: map[string]time.Duration{}}
	for _, line := range strings.Split(stderr.String(), "\n") {
		f := strings.Fields(line)
		// init PKG @T ms, C ms clock, ...
		if len(f) < 7 || f[0] != "init" || !strings.HasPrefix(f[2], "@") || f[6] != "clock," {
			continue
		}
		at, err1 := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		clock, err2 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil {
			tb.Fatalf("unexpected inittrace line %q", line)
		}
		d := time.Duration(clock * float64(time.Millisecond))
		tr.pkgs[f[1]] += d
		tr.total += d
		tr.end = max(tr.end, time.Duration(at*float64(time.Millisecond))+d)
	}
	if len(tr.pkgs) == 0 {
		tb.Fatalf("no inittrace lines from %s version:\n%s", bin, stderr.String())
	}
	return tr
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// BenchmarkStartupLoaded measures the binary's own start, process start →
// first API call at the simulator, many times one after the other, first
// on the machine as it is (shared: the one-minute load average is
// printed) and then with one busy process per CPU added on purpose. Each
// run is a real healthy deployment in CLI mode (rollouts shortened, poll
// interval 100 ms: only the start is measured). Runs alternate between the
// binary as shipped and the same binary with GOGC=100 (Go's default, what
// it did before it raised its own start-up GOGC), so both see the same
// load. Beside it, the package initialisation of `ecs-rollout version`
// under GODEBUG=inittrace=1: the total init clock time, when the last init
// ends, and the packages that cost the most.
func BenchmarkStartupLoaded(b *testing.B) {
	p := profile{short: true, div: shortDivisor}
	bin := buildBinary(b)
	runs, traces := 31, 31
	if testing.Short() {
		runs, traces = 3, 3
	}
	type condition struct {
		name string
		busy int
	}
	conds := []condition{{"as it is", 0}, {fmt.Sprintf("+%d busy loops", runtime.NumCPU()), runtime.NumCPU()}}
	type variant struct {
		name string
		env  []string
	}
	variants := []variant{{"as shipped", nil}, {"GOGC=100 (before)", []string{"GOGC=100"}}}
	startTbl := &table{title: "Start-up of the real binary under load (process start → first API call)",
		header: []string{"machine", "load avg (1 min) before → after", "binary", "runs", "median ms", "p90 ms", "max ms"}}
	initTbl := &table{title: "Package initialisation (`GODEBUG=inittrace=1 ecs-rollout version`), median ms",
		header: []string{"machine", "runs", "total init clock", "last init ends at (from runtime start)"}}
	pkgTbl := &table{title: "The costliest packages' init, median clock ms",
		header: append([]string{"package"}, func() []string {
			var h []string
			for _, c := range conds {
				h = append(h, c.name)
			}
			return h
		}()...)}
	perPkg := map[string][]time.Duration{} // key: condition index + "\x00" + package
	for range b.N {
		for ci, c := range conds {
			stop := busyLoad(b, c.busy)
			before := loadAvg()
			startups := make([][]time.Duration, len(variants))
			var totals, ends []time.Duration
			for rep := range runs {
				for vi, v := range variants {
					pr := runBinary(b, bin, rollout{image: "repo/app:2", tasks: 1, maxPct: 200, interval: 100 * time.Millisecond, timeout: time.Minute,
						timings: p.timings(newRNG(rep), 0), env: v.env})
					if pr.code != 0 {
						b.Errorf("healthy deployment (%s): exit code %d, want 0", v.name, pr.code)
					}
					startups[vi] = append(startups[vi], pr.startup)
				}
			}
			for range traces {
				tr := runInitTrace(b, bin)
				totals = append(totals, tr.total)
				ends = append(ends, tr.end)
				for pkg, d := range tr.pkgs {
					k := strconv.Itoa(ci) + "\x00" + pkg
					perPkg[k] = append(perPkg[k], d)
				}
			}
			after := loadAvg()
			stop()
			for vi, v := range variants {
				su := durStats(startups[vi])
				sorted := slices.Sorted(slices.Values(startups[vi]))
				startTbl.add(c.name, before+" → "+after, v.name, strconv.Itoa(len(sorted)), ms(su.median), ms(sorted[len(sorted)*9/10]), ms(su.max))
				if vi == 0 {
					metric := strings.NewReplacer(" ", "-", "+", "").Replace(c.name)
					b.ReportMetric(float64(su.median.Microseconds())/1000, "startup-"+metric+"-median-ms")
				}
			}
			initTbl.add(c.name, strconv.Itoa(len(totals)), ms(durStats(totals).median), ms(durStats(ends).median))
		}
	}
	// The costliest packages by their median on the machine as it is.
	type pkgCost struct {
		pkg string
		med time.Duration
	}
	var costs []pkgCost
	for k, ds := range perPkg {
		ci, pkg, _ := strings.Cut(k, "\x00")
		if ci == "0" {
			costs = append(costs, pkgCost{pkg, durStats(ds).median})
		}
	}
	slices.SortFunc(costs, func(a, b pkgCost) int { return cmp.Compare(b.med, a.med) })
	for _, c := range costs[:min(len(costs), 12)] {
		row := []string{"`" + c.pkg + "`"}
		for ci := range conds {
			row = append(row, ms(durStats(perPkg[strconv.Itoa(ci)+"\x00"+c.pkg]).median))
		}
		pkgTbl.add(row...)
	}
	startTbl.print(os.Stdout)
	initTbl.print(os.Stdout)
	pkgTbl.print(os.Stdout)
}
