package taskdef

import (
	"regexp"
	"slices"
	"strconv"
)

// removeEmpty removes the empty values of a task definition file's tree
// as aws-actions/amazon-ecs-deploy-task-definition does before it
// registers (its cleanNullKeys, then maintainValidObjects), and returns
// the JSON paths of what it removed:
//
//   - a member whose value is empty is removed: null, "", a list whose
//     elements are all empty, an object whose members are all empty
//     (so {} and [] too);
//   - a list keeps its elements that are not empty;
//   - a member named in keep (keep-null-value-keys), at any depth, is
//     never removed, and an object holding one is not empty (where the
//     official action, against its own test's intent, drops an object
//     whose members are all empty even when keep names one: options
//     {"tag": ""} with keep "tag" keeps the tag here); a kept list still
//     loses its empty elements, a kept object its empty members not
//     named, as in the official action;
//   - then, as the official action puts them back: every
//     containerDefinitions[].environment[] entry without a value gets
//     value "", and every APPMESH proxyConfiguration.properties[] entry
//     without a name or value gets "" (a variable set to "" stays set).
//
// 0 and false are values, not empty. The top level itself is never
// removed.
func removeEmpty(root any, keep []string) (removed []string) {
	obj, ok := root.(map[string]any)
	if !ok {
		return nil
	}
	proxy, _ := obj["proxyConfiguration"].(map[string]any)
	c := cleaner{keep: keep, appMesh: proxy != nil && proxy["type"] == "APPMESH"}
	c.object("", obj)
	restoreValues(obj)
	return c.removed
}

type cleaner struct {
	keep    []string
	appMesh bool // proxyConfiguration.type is APPMESH
	removed []string
}

// Entries whose empty name or value the official action puts back as "".
var (
	environmentEntry = regexp.MustCompile(`^containerDefinitions\[\d+\]\.environment\[\d+\]$`)
	proxyProperty    = regexp.MustCompile(`^proxyConfiguration\.properties\[\d+\]$`)
)

// restored reports whether member k of the entry at path is one the
// official action puts back as "" when it removed it.
func (c *cleaner) restored(path, k string) bool {
	return k == "value" && environmentEntry.MatchString(path) ||
		(k == "value" || k == "name") && c.appMesh && proxyProperty.MatchString(path)
}

func (c *cleaner) kept(key string) bool { return key != "" && slices.Contains(c.keep, key) }

// empty is the official action's isEmptyValue: key is the member's name
// ("" for a list element).
func (c *cleaner) empty(v any, key string) bool {
	if c.kept(key) {
		return false
	}
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		for _, e := range x {
			if !c.empty(e, "") {
				return false
			}
		}
		return true
	case map[string]any:
		for k, m := range x {
			if !c.empty(m, k) {
				return false
			}
		}
		return true
	}
	return false
}

func (c *cleaner) object(path string, obj map[string]any) {
	for _, k := range sortedAnyKeys(obj) {
		p := join(path, k)
		if c.empty(obj[k], k) && c.restored(path, k) {
			obj[k] = "" // removed and put back: not reported
			continue
		}
		if c.empty(obj[k], k) {
			delete(obj, k)
			c.removed = append(c.removed, p)
			continue
		}
		obj[k] = c.value(p, obj[k])
	}
}

func (c *cleaner) value(path string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		c.object(path, x)
	case []any:
		out := x[:0:0]
		for i, e := range x {
			p := path + "[" + strconv.Itoa(i) + "]"
			if c.empty(e, "") {
				c.removed = append(c.removed, p)
				continue
			}
			out = append(out, c.value(p, e))
		}
		return out
	}
	return v
}

// restoreValues gives the entries the official action's
// maintainValidObjects completes the members they lack: value "" for an
// environment variable, name and value "" for an APPMESH proxy property.
func restoreValues(td map[string]any) {
	fill := func(entry any, keys ...string) {
		if m, ok := entry.(map[string]any); ok {
			for _, k := range keys {
				if _, ok := m[k]; !ok {
					m[k] = ""
				}
			}
		}
	}
	if proxy, ok := td["proxyConfiguration"].(map[string]any); ok && proxy["type"] == "APPMESH" {
		props, _ := proxy["properties"].([]any)
		for _, p := range props {
			fill(p, "value", "name")
		}
	}
	containers, _ := td["containerDefinitions"].([]any)
	for _, cd := range containers {
		if c, ok := cd.(map[string]any); ok {
			env, _ := c["environment"].([]any)
			for _, e := range env {
				fill(e, "value")
			}
		}
	}
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
