package policy

import "testing"

// learn takes the SMSC's id form from its receipts: hex for good once a
// letter is seen (a hex SMSC's ids are all digits now and then), decimal
// only while nothing else was learned, the case of hex from its letters;
// nothing when the form is configured. What it learned survives encode and
// decode, as the store keeps it.
func TestIDFormLearning(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured IDForm
		ids        []string
		want       IDForm
		upper      bool
		changes    int
	}{
		{"decimal SMSC", IDAuto, []string{"123", "4567", "89"}, IDDecimal, false, 1},
		{"hex SMSC, lower", IDAuto, []string{"1a2b", "12345678", "ff00"}, IDHex, false, 1},
		{"hex SMSC, digits first", IDAuto, []string{"12345678", "00ab12cd"}, IDHex, false, 2},
		{"hex SMSC, upper", IDAuto, []string{"1A2B", "12345678", "FF00"}, IDHex, true, 1},
		{"mixed case says nothing of case", IDAuto, []string{"1A2B", "aB12"}, IDHex, true, 1},
		{"not an id form", IDAuto, []string{"msg-17", "x"}, IDAuto, false, 0},
		{"configured", IDDecimal, []string{"abc"}, IDDecimal, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s idState
			s.form.Store(uint32(tc.configured))
			changes := 0
			for _, id := range tc.ids {
				if s.learn([]byte(id), tc.configured) {
					changes++
				}
			}
			if got := IDForm(s.form.Load()); got != tc.want || s.upper.Load() != tc.upper || changes != tc.changes {
				t.Fatalf("learned %v upper=%v in %d changes; want %v upper=%v in %d", got, s.upper.Load(), changes, tc.want, tc.upper, tc.changes)
			}
			if tc.want == IDAuto {
				return
			}
			var back idState
			if !back.decode(s.encode()) || back.form.Load() != s.form.Load() || back.upper.Load() != s.upper.Load() {
				t.Fatalf("%q decodes to %v upper=%v", s.encode(), IDForm(back.form.Load()), back.upper.Load())
			}
		})
	}
	var s idState
	if s.decode([]byte("octal")) {
		t.Error("decode took a form optguard never writes")
	}
}
