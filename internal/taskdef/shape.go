package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/smithy-go"
)

// DecodeShape reads text, a JSON value an input gives in an ECS API
// shape (a managedEBSVolume object, a list of tags), into v (a pointer to
// the SDK's type of that shape). It is first checked against the ECS
// model's schema s, so that every problem is reported at once with its
// JSON path: malformed JSON, an unknown member (with a suggestion), a
// value of the wrong type. Member names are matched exactly as ECS
// spells them.
func DecodeShape(text string, s *smithy.Schema, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("is empty, want JSON")
		}
		return fmt.Errorf("is not valid JSON: %w", jsonErr([]byte(text), err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("is not valid JSON: unexpected data after the value")
	}
	if err := checkShape("", doc, s); err != nil {
		return err
	}
	// Checked: the member names are the schema's, which the SDK's Go
	// field names match but for case.
	clean, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(clean))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
