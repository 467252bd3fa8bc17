package bench

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// distrolessStaticBytes is the compressed size of the final image's base,
// gcr.io/distroless/static-debian12 (pinned by digest in the Dockerfile),
// as the distroless project publishes it: "around 2 MiB" (its README,
// "Distroless images are very small"). No Docker engine or registry is
// reachable from the benchmark, so the published figure is used, rounded
// up to a whole 2 MiB.
const distrolessStaticBytes = 2 << 20

// imageTarget is issue 15's target for the final image's compressed layers.
const imageTarget = 10_000_000

// buildFor builds the binary as .ci/build.sh does (the Dockerfile's build
// line) for one platform.
func buildFor(tb testing.TB, goos, goarch string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "ecs-rollout")
	cmd := exec.Command("bash", filepath.Join("..", ".ci", "build.sh"), out, "v0.0.0-bench")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the binary for %s/%s: %v\n%s", goos, goarch, err, msg)
	}
	return out
}

// layerSize returns the size of the image layer that the Dockerfile's
// `COPY --from=build /out/ /` makes from bin: a tar of /ecs-rollout and
// the /ecs-rollout-post symlink, gzip-compressed at the default level, as
// a registry stores it.
func layerSize(tb testing.TB, bin string) int64 {
	tb.Helper()
	f, err := os.Open(bin)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	var n countWriter
	zw := gzip.NewWriter(&n)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "ecs-rollout", Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: fi.ModTime()}); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		tb.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "ecs-rollout-post", Linkname: "ecs-rollout", Mode: 0o777, Typeflag: tar.TypeSymlink, ModTime: fi.ModTime()}); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return int64(n)
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// mb formats bytes as decimal megabytes (10^6 bytes), as registries show
// sizes.
func mb(n int64) string { return fmt.Sprintf("%.2f", float64(n)/1e6) }

// BenchmarkImageSize reports the compressed size of the action image for
// each platform the release pushes: the binary built by .ci/build.sh,
// its layer (tar + gzip, as the Dockerfile's COPY makes it), and the
// distroless base at its published size. The target is under 10 MB.
// With -short, linux/amd64 only.
func BenchmarkImageSize(b *testing.B) {
	tbl := &table{title: "The action image (compressed, as pulled)",
		header: []string{"platform", "binary bytes", "binary MB", "binary layer (tar+gzip) MB", "distroless static base MB (published)", "image MB", "target"}}
	arches := []string{"amd64", "arm64"}
	if testing.Short() {
		arches = arches[:1] // CI's smoke run: no cross-compiled standard library to build
	}
	for range b.N {
		for _, arch := range arches {
			bin := buildFor(b, "linux", arch)
			fi, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			layer := layerSize(b, bin)
			total := layer + distrolessStaticBytes
			verdict := "< 10 MB: met"
			if total >= imageTarget {
				verdict = "≥ 10 MB: NOT met"
				b.Errorf("linux/%s: image %s MB, want under 10 MB", arch, mb(total))
			}
			tbl.add("linux/"+arch, fmt.Sprint(fi.Size()), mb(fi.Size()), mb(layer), mb(distrolessStaticBytes), mb(total), verdict)
			b.ReportMetric(float64(layer)/1e6, "layer-"+arch+"-MB")
			b.ReportMetric(float64(total)/1e6, "image-"+arch+"-MB")
		}
	}
	tbl.print(os.Stdout)
}
