package taskdef

import (
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// secretSuffix is the hyphen and six random characters Secrets Manager
// appends to a secret's name in its ARN
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources).
var secretSuffix = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

// ReferenceForms returns a secret reference (a secrets[].valueFrom, a log
// secretOptions valueFrom, a credentialsParameter) and every other form in
// which ECS, Secrets Manager, SSM and IAM name the same secret in their
// messages, so that none of them is printed:
//
//   - a Secrets Manager ARN (arn:aws:secretsmanager:region:account:secret:name-AbCdEf,
//     then ECS's optional :json-key:version-stage:version-id): the ARN
//     without that suffix, the secret's name with and without the six
//     random characters;
//   - an SSM parameter ARN (arn:aws:ssm:region:account:parameter/name):
//     the parameter's name with and without its leading slash;
//   - an SSM parameter name (/prod/db or db): the name with and without
//     its leading slash.
//
// A derived form shorter than MinSecretLen is left out (a secret named
// "web" would otherwise be redacted, as a word, from every line naming
// the service web); the reference itself is always kept. Blank
// references give nil.
func ReferenceForms(ref string) []string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil
	}
	out := []string{ref}
	add := func(vs ...string) {
		for _, v := range vs {
			if len(v) >= MinSecretLen && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	p := strings.Split(ref, ":")
	switch {
	case len(p) >= 7 && p[0] == "arn" && p[2] == "secretsmanager" && p[5] == "secret":
		add(strings.Join(p[:7], ":"), p[6], secretSuffix.ReplaceAllString(p[6], ""))
	case len(p) >= 6 && p[0] == "arn" && p[2] == "ssm":
		name := strings.TrimPrefix(strings.Join(p[5:], ":"), "parameter")
		add(name, strings.TrimPrefix(name, "/"))
	case !strings.HasPrefix(ref, "arn:"):
		add(strings.TrimPrefix(ref, "/"))
	}
	return out
}

// Redactor replaces credentials with "***" in text people read. A value
// of MinSecretLen bytes or more is replaced wherever it occurs; a shorter
// one only where it stands as a whole word (not preceded or followed by a
// letter, digit or underscore where the value itself starts or ends with
// one), so that a three-letter password never appears as the value
// ("DB_PASSWORD=***", "token ***.") while the same letters inside other
// words ("abcdef") are left alone. Each value is also matched in the
// forms it takes once escaped in JSON and in a workflow command, and line
// by line when it spans several lines. The zero Redactor and a nil one
// change nothing.
type Redactor struct {
	long  *strings.Replacer
	short []string // longest first
	// assigned are environment values replaced only where they follow
	// their own variable's name (NAME=value, NAME: value, "NAME":"value").
	assigned []*regexp.Regexp
}

// NewRedactor returns a Redactor for values (blank ones are ignored).
func NewRedactor(values []string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	addForm := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			forms = append(forms, v)
		}
	}
	for _, v := range values {
		for _, part := range append([]string{v}, strings.Split(v, "\n")...) {
			part = strings.TrimSpace(strings.TrimSuffix(part, "\r"))
			if part == "" {
				continue
			}
			addForm(part)
			if b, err := json.Marshal(part); err == nil {
				addForm(string(b[1 : len(b)-1]))
			}
			addForm(strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(part))
		}
	}
	// Longest first, so that a value containing another is replaced whole.
	slices.SortStableFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	r := &Redactor{}
	var pairs []string
	for _, f := range forms {
		if len(f) >= MinSecretLen {
			pairs = append(pairs, f, "***")
		} else {
			r.short = append(r.short, f)
		}
	}
	if len(pairs) > 0 {
		r.long = strings.NewReplacer(pairs...)
	}
	return r
}

// Redact returns s with every value replaced by "***".
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	if r.long != nil {
		s = r.long.Replace(s)
	}
	for _, v := range r.short {
		s = replaceWord(s, v)
	}
	for _, re := range r.assigned {
		s = re.ReplaceAllString(s, "${1}***")
	}
	return s
}

// LogRedactor is the Redactor for what a task definition's own containers
// write (their log lines, as the diagnosis quotes them): every credential
// of MaskValues whatever its length, every other value of SecretValues of
// MinSecretLen bytes or more wherever it occurs, every environment value of
// minLogWordLen bytes or more wherever it stands as a whole word
// ("listening on ***"), except the booleans true and false, and every
// environment value, however short, where the line assigns it to its own
// variable (PORT=***, "LOG_LEVEL": "***"). Only a one- or two-byte value
// standing alone ("1", "on") is left, since starring it would garble
// every number and word of the excerpt.
func LogRedactor(ins ...*ecs.RegisterTaskDefinitionInput) *Redactor {
	var values []string
	type pair struct{ name, value string }
	var pairs []pair
	for _, in := range ins {
		creds := map[string]bool{}
		for _, v := range MaskValues(in) {
			creds[v] = true
			values = append(values, v)
		}
		for _, v := range SecretValues(in) {
			if !creds[v] && len(v) >= MinSecretLen {
				values = append(values, v)
			}
		}
		if in == nil {
			continue
		}
		for _, c := range in.ContainerDefinitions {
			for _, e := range c.Environment {
				if n, v := aws.ToString(e.Name), aws.ToString(e.Value); n != "" && v != "" && !strings.Contains(v, "\n") {
					pairs = append(pairs, pair{n, v})
					if len(v) >= minLogWordLen && len(v) < MinSecretLen && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
						values = append(values, v) // a whole word of the line: NewRedactor's short values
					}
				}
			}
		}
	}
	r := NewRedactor(values)
	for _, p := range pairs {
		end := ""
		if wordByte(p.value[len(p.value)-1]) {
			end = `\b`
		}
		re, err := regexp.Compile(`(\b` + regexp.QuoteMeta(p.name) + `["']?\s*[=:]\s*["']?)` + regexp.QuoteMeta(p.value) + end)
		if err == nil {
			r.assigned = append(r.assigned, re)
		}
	}
	return r
}

// minLogWordLen is the shortest environment value LogRedactor replaces
// wherever it stands as a whole word of a log line.
const minLogWordLen = 3

// replaceWord replaces v in s where it is not part of a longer word.
func replaceWord(s, v string) string {
	if v == "" || !strings.Contains(s, v) {
		return s
	}
	first, last := wordByte(v[0]), wordByte(v[len(v)-1])
	var b strings.Builder
	done := 0 // s[:done] is written
	for from := 0; ; {
		k := strings.Index(s[from:], v)
		if k < 0 {
			break
		}
		i, end := from+k, from+k+len(v)
		if (i > 0 && first && wordByte(s[i-1])) || (end < len(s) && last && wordByte(s[end])) {
			from = i + 1 // part of a longer word
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString("***")
		done, from = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// wordByte reports whether c is a letter, a digit or an underscore (a
// byte of a multi-byte character counts as a letter).
func wordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
