package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeDocument reads a task definition file into the tree ParseFile
// checks (objects as map[string]any, numbers as json.Number, as
// encoding/json's UseNumber gives them). The file is JSON or YAML, as
// aws-actions/amazon-ecs-deploy-task-definition reads it (yaml.parse,
// which takes both): a file that starts with "{" or "[" is read as JSON
// (so a syntax error gets JSON's line and column); any other file is
// read as YAML (1.2: yes and on are
// strings; anchors, aliases and merge keys resolved; a key given twice is
// an error, as in the yaml package).
func decodeDocument(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty, want a JSON or YAML object")
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		v, err := decodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("malformed YAML: %w", err)
		}
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	err := dec.Decode(&root)
	if err == nil {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("malformed JSON: unexpected data after the top-level object (offset %d)", dec.InputOffset())
		}
		return root, nil
	}
	return nil, fmt.Errorf("malformed JSON: %w", jsonErr(data, err))
}

// decodeYAML reads one YAML document into the JSON tree.
func decodeYAML(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no document")
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: a second document (---): want one task definition", next.Line)
	}
	return yamlValue(&doc, 0)
}

// maxYAMLDepth bounds the nesting (and alias chains) of a YAML file: a
// task definition is a few levels deep.
const maxYAMLDepth = 64

func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("line %d: nested more than %d levels", n.Line, maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		merged := map[string]bool{} // keys from a merge (<<), which the mapping's own keys override
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a key must be a plain value", k.Line)
			}
			if k.ShortTag() == "!!merge" {
				if err := yamlMerge(out, merged, v, depth); err != nil {
					return nil, err
				}
				continue
			}
			if _, dup := out[k.Value]; dup && !merged[k.Value] {
				return nil, fmt.Errorf("line %d: key %q is given twice", k.Line, k.Value)
			}
			val, err := yamlValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value], merged[k.Value] = val, false
		}
		return out, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// yamlMerge adds the mapping (or list of mappings) v of a merge key to
// out, under the keys already there.
func yamlMerge(out map[string]any, merged map[string]bool, v *yaml.Node, depth int) error {
	for v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	sources := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	}
	for _, src := range sources {
		m, err := yamlValue(src, depth+1)
		if err != nil {
			return err
		}
		obj, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: << merges a mapping", v.Line)
		}
		for k, val := range obj {
			if _, there := out[k]; !there {
				out[k], merged[k] = val, true
			}
		}
	}
	return nil
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("line %d: %s is not a whole number in range", n.Line, n.Value)
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %s is not a finite number", n.Line, n.Value)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return n.Value, nil // strings, and timestamps as written
}
