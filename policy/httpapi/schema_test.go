package httpapi_test

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"
)

// conforms checks a decoded JSON answer against a schema of the OpenAPI
// document, so that the document says what the console gets: every
// required field is there, no field is undocumented, types and enums
// hold, and null only where the schema allows it.
func conforms(t *testing.T, doc map[string]any, schemaRef string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	checkSchema(t, doc, map[string]any{"$ref": schemaRef}, v, "$")
}

func checkSchema(t *testing.T, doc map[string]any, schema map[string]any, v any, at string) {
	t.Helper()
	schema = deref(t, doc, schema)
	var types []string
	switch ty := schema["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	kind := "null"
	switch x := v.(type) {
	case map[string]any:
		kind = "object"
	case []any:
		kind = "array"
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if x == math.Trunc(x) && slices.Contains(types, "integer") {
			kind = "integer"
		}
	}
	if len(types) > 0 && !slices.Contains(types, kind) {
		t.Errorf("%s: %s, the schema says %v", at, kind, types)
		return
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		t.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				t.Errorf("%s: required field %s is missing", at, r)
			}
		}
		extra, _ := schema["additionalProperties"].(map[string]any)
		for k, fv := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if extra == nil {
					t.Errorf("%s: field %s is not in the schema", at, k)
					continue
				}
				ps = extra
			}
			checkSchema(t, doc, ps, fv, at+"."+k)
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		for i, iv := range x {
			if items != nil {
				checkSchema(t, doc, items, iv, at+"["+strconv.Itoa(i)+"]")
			}
		}
	}
}
