package keywords

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

type labelled struct {
	line  int
	class Class
	lang  string
	text  string
}

func readLabelled(t *testing.T) []labelled {
	t.Helper()
	f, err := os.Open("testdata/labelled.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	classes := map[string]Class{}
	for c := None; c <= PossibleOptOut; c++ {
		classes[c.String()] = c
	}
	var rows []labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("labelled.tsv:%d: want class<TAB>lang<TAB>text", n)
		}
		class, ok := classes[parts[0]]
		if !ok {
			t.Fatalf("labelled.tsv:%d: unknown class %q", n, parts[0])
		}
		text := parts[2]
		if strings.Contains(text, `\`) {
			if text, err = strconv.Unquote(`"` + strings.ReplaceAll(text, `"`, `\"`) + `"`); err != nil {
				t.Fatalf("labelled.tsv:%d: %v", n, err)
			}
		}
		rows = append(rows, labelled{n, class, parts[1], text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestLabelled classifies every message of testdata/labelled.tsv with the
// defaults (numeric replies off), prints precision and recall per class and
// fails on any message that gets another class.
func TestLabelled(t *testing.T) {
	rows := readLabelled(t)
	if len(rows) < 200 {
		t.Fatalf("%d labelled messages, want at least 200", len(rows))
	}
	m, err := Compile(Options{Lists: Defaults(), Emoji: DefaultEmoji()})
	if err != nil {
		t.Fatal(err)
	}
	var tp, fp, fn [PossibleOptOut + 1]int
	langs := map[string]int{}
	for _, r := range rows {
		got := m.ClassifyString(r.text)
		langs[r.lang]++
		if got.Class == r.class {
			tp[got.Class]++
		} else {
			fp[got.Class]++
			fn[r.class]++
			t.Errorf("labelled.tsv:%d: %q: got %v (%v %s %q), want %v", r.line, r.text, got.Class, got.Rule, got.Lang, got.Keyword, r.class)
			continue
		}
		if (got.Rule == RuleKeyword || got.Rule == RuleIntent) && got.Lang != r.lang {
			t.Errorf("labelled.tsv:%d: %q: matched the %q list (%q), want %q", r.line, r.text, got.Lang, got.Keyword, r.lang)
		}
	}
	t.Logf("%d messages (en %d, es %d, fr %d, emoji %d)", len(rows), langs["en"], langs["es"], langs["fr"], langs[""])
	for c := None; c <= PossibleOptOut; c++ {
		prec, rec := 1.0, 1.0
		if tp[c]+fp[c] > 0 {
			prec = float64(tp[c]) / float64(tp[c]+fp[c])
		}
		if tp[c]+fn[c] > 0 {
			rec = float64(tp[c]) / float64(tp[c]+fn[c])
		}
		t.Logf("%-17s n=%3d precision %.3f recall %.3f", c, tp[c]+fn[c], prec, rec)
	}
}
