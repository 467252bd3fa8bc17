package taskdef

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
)

// FuzzParseFile: ParseFile never panics; every error is a clear message
// about the file; every success is a registerable definition that
// survives a round trip through the SDK's own request serializer
// unchanged. Seeds: the real-world definitions in testdata/taskdefs plus
// testdata/fuzz/FuzzParseFile.
func FuzzParseFile(f *testing.F) {
	files, err := os.ReadDir(taskdefsDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range files {
		data, err := os.ReadFile(taskdefsDir + "/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","environment":[{"name":"E","value":""}]}]}`))
	f.Add([]byte(`{"taskDefinition":{"family":"web","containerDefinitions":[{"name":"app"}]},"tags":[{"key":"aws:x","value":"y"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, stripped, err := ParseFileStripped(data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "task definition file: ") || len(msg) <= len("task definition file: ") {
				t.Fatalf("error %q does not name the task definition file", msg)
			}
			if in != nil {
				t.Fatalf("ParseFile returned an input with error %q", msg)
			}
			return
		}
		if aws.ToString(in.Family) == "" || len(in.ContainerDefinitions) == 0 {
			t.Fatalf("ParseFile accepted a definition without family or containers: %+v", in)
		}
		for _, s := range stripped {
			if !isReadOnlyJSON(s) && !strings.HasPrefix(strings.ToLower(s), "tag aws:") {
				t.Fatalf("stripped %q is neither read-only nor a reserved tag", s)
			}
		}
		// What the SDK would send parses back to the same input.
		body, err := json.Marshal(requestJSON(t, in))
		if err != nil {
			t.Fatalf("marshal request: %v", err)
		}
		again, err := ParseFile(body)
		if err != nil {
			t.Fatalf("the SDK's request for an accepted file does not parse back: %v\n%s", err, body)
		}
		if diff := cmp.Diff(in, again, sdkOpts); diff != "" {
			t.Fatalf("round trip through the SDK serializer changed the definition (-first +second):\n%s", diff)
		}
	})
}

func isReadOnlyJSON(s string) bool {
	for _, k := range readOnlyJSON() {
		if k == s {
			return true
		}
	}
	return false
}

// FuzzValidateImage: ValidateImage never panics, accepts only what the
// reference parser accepts and has no whitespace, and its errors quote
// the reference.
func FuzzValidateImage(f *testing.F) {
	for _, s := range []string{
		"nginx", "nginx:1.27", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1@sha256:" + strings.Repeat("ab", 32),
		"localhost:5000/a/b:c", "Nginx", "a b", "", "nginx@sha256:", ":", "@", "a:b:c", "ghcr.io/o/r@sha512:" + strings.Repeat("0", 128),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		err := ValidateImage(ref)
		if err == nil {
			if _, perr := reference.ParseNormalizedNamed(ref); perr != nil {
				t.Fatalf("ValidateImage(%q) = nil but the parser says %v", ref, perr)
			}
			if strings.ContainsAny(ref, " \t\r\n") || ref == "" {
				t.Fatalf("ValidateImage(%q) = nil for an empty or spaced reference", ref)
			}
			return
		}
		if err.Error() == "" {
			t.Fatalf("ValidateImage(%q) returned an empty error", ref)
		}
		if ref != "" && utf8.ValidString(ref) && !strings.Contains(err.Error(), fmt.Sprintf("%q", ref)) {
			t.Fatalf("ValidateImage(%q) error %q does not quote the reference", ref, err)
		}
	})
}

// FuzzSetImages: SetImages never panics; on error it names an input and
// changes nothing; on success only the named container's image changed.
func FuzzSetImages(f *testing.F) {
	f.Add("app", "web:2", "", "", false)
	f.Add("", "web:2", "", "", true)
	f.Add("envoy", "envoy:1", "app", "web:3", false)
	f.Add("x", "Bad Image", "x", "", false)
	f.Add("app", "web:2", "app", "web:3", false)
	f.Fuzz(func(t *testing.T, c1, i1, c2, i2 string, single bool) {
		in := threeContainers()
		if single {
			in = oneContainer()
		}
		changes := []Change{{Container: c1, Image: i1}}
		if c2 != "" || i2 != "" {
			changes = append(changes, Change{Container: c2, Image: i2, Input: "images"})
		}
		before := Clone(in)
		diffs, err := SetImages(in, changes)
		if err != nil {
			msg := err.Error()
			if msg == "" {
				t.Fatal("empty error")
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, "container-name: ") && !strings.HasPrefix(line, "image: ") && !strings.HasPrefix(line, "images: ") {
					t.Fatalf("error line %q does not name an input", line)
				}
			}
			if diff := cmp.Diff(before, in, sdkOpts); diff != "" {
				t.Fatalf("failed SetImages changed the input:\n%s", diff)
			}
			return
		}
		if len(diffs) != len(changes) {
			t.Fatalf("got %d diffs for %d changes", len(diffs), len(changes))
		}
		changed := map[string]string{}
		for _, d := range diffs {
			changed[d.Container] = d.New
		}
		for i, c := range in.ContainerDefinitions {
			name := aws.ToString(c.Name)
			want := aws.ToString(before.ContainerDefinitions[i].Image)
			if img, ok := changed[name]; ok {
				want = img
			}
			if got := aws.ToString(c.Image); got != want {
				t.Fatalf("container %s image = %q, want %q", name, got, want)
			}
		}
	})
}
