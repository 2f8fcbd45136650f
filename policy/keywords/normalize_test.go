package keywords

import "testing"

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"STOP", "stop"},
		{"STOP!!!", "stop"},
		{"  stop.  ", "stop"},
		{"¡Alto!", "alto"},
		{"«arrêt»", "arret"},
		{"OPT-OUT", "opt out"},
		{"opt_out", "opt out"},
		{"opt   out", "opt out"},
		{"opt – out", "opt out"}, // en dash
		{"OPTOUT", "optout"},
		{"STOPPPP", "stop"},
		{"stooop", "stop"},
		{"STOPP", "stopp"}, // runs of two stay; the matcher's keys squeeze them
		{"yesss", "yes"},
		{"2222", "2222"}, // digits are never collapsed
		{"ＳＴＯＰ", "stop"},
		{"𝐒𝐓𝐎𝐏", "stop"},
		{"Ⓢⓣⓞⓟ", "stop"},
		{"s\u200bt\u200co\u200dp\u2060", "stop"},
		{"st\u00adop\ufeff", "stop"},
		{"Straße", "strasse"},
		{"ñandú ça", "nandu ca"},
		{"don’t stop", "don't stop"},
		{"don`t", "don't"},
		{"🛑", ""},
		{"🛑 stop 🛑", "stop"},
		{"stop 🛑 now", "stop 🛑 now"},
		{"  2. ", "2"},
		{"non-stop flights?", "non stop flights"},
		{"stop, please", "stop, please"},
		{"thanks\n\nSTOP", "thanks\nstop"},
		{"thanks \r\n STOP", "thanks\nstop"},
		{"a\tb", "a b"},
		{"f*** off", "f* off"},
		{"\x00st\x7fop", "stop"},
		{"\xffstop\xfe", "stop"}, // invalid bytes read as U+FFFD, a symbol
		{"", ""},
		{"...", ""},
	} {
		if got := string(Normalize(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = Normalize(buf[:0], bench160) }); n != 0 {
		t.Errorf("Normalize of ASCII: %v allocs, want 0", n)
	}
}

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"don't stop", []string{"dont", "stop"}},
		{"ne m'envoyez plus", []string{"ne", "m", "envoyez", "plus"}},
		{"qu'il", []string{"qu", "il"}},
		{"f**k off", []string{"f*k", "of"}},
		{"f* off", []string{"f", "of"}},
		{"stopp, please!", []string{"stop", "please"}},
		{"*** ' stop", []string{"stop"}},
		{"mañana 2000", []string{"mañana", "2000"}},
	} {
		var got []string
		for _, sp := range tokenize(nil, []byte(tc.in)) {
			if k := appendKey(nil, []byte(tc.in)[sp.start:sp.end]); len(k) > 0 {
				got = append(got, string(k))
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("keys of %q = %q, want %q", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("keys of %q = %q, want %q", tc.in, got, tc.want)
				break
			}
		}
	}
}
