package pdu

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const receiptText = "id:4F2A sub:001 dlvrd:001 submit date:2611231530 done date:2611231531 stat:DELIVRD err:000 text:Hello world"

func TestReceiptField(t *testing.T) {
	tests := []struct {
		name, text, field string
		want              string
		ok                bool
	}{
		{"id", receiptText, "id", "4F2A", true},
		{"sub", receiptText, "sub", "001", true},
		{"dlvrd", receiptText, "dlvrd", "001", true},
		{"submit date with its space", receiptText, "submit date", "2611231530", true},
		{"done date", receiptText, "done date", "2611231531", true},
		{"stat", receiptText, "stat", "DELIVRD", true},
		{"err", receiptText, "err", "000", true},
		{"text runs to the end, spaces included", receiptText, "text", "Hello world", true},
		{"name case-insensitive", receiptText, "STAT", "DELIVRD", true},
		{"two-word name case-insensitive", receiptText, "Submit Date", "2611231530", true},
		{"text case-insensitive still runs to the end", receiptText, "Text", "Hello world", true},
		{"upper-case receipt", "ID:12345 SUB:001 STAT:UNDELIV ERR:034 TEXT:Hi there", "stat", "UNDELIV", true},
		{"upper-case receipt text", "ID:12345 STAT:UNDELIV TEXT:Hi there", "text", "Hi there", true},
		{"decimal id", "id:1234567890 stat:EXPIRED", "id", "1234567890", true},
		{"empty value at the end", "id:1 stat:", "stat", "", true},
		{"empty value in the middle", "id: stat:DELIVRD", "id", "", true},
		{"only at a word start", "xid:5 id:6", "id", "6", true},
		{"sub is not submit", "submit date:2611231530 sub:002", "sub", "002", true},
		{"missing field", receiptText, "foo", "", false},
		{"missing err", "id:1 stat:DELIVRD", "err", "", false},
		{"name without colon at the end", "id:1 stat", "stat", "", false},
		{"name without colon", "id:1 stat DELIVRD", "stat", "", false},
		{"empty text", "", "id", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := withSpareCap([]byte(tc.text))
			v, off, ok := ReceiptField(text, tc.field)
			if ok != tc.ok || string(v) != tc.want {
				t.Fatalf("ReceiptField(%q) = %q, %v; want %q, %v", tc.field, v, ok, tc.want, tc.ok)
			}
			if !ok {
				return
			}
			if off+len(v) > len(text) || string(text[off:off+len(v)]) != tc.want {
				t.Errorf("offset %d does not point at the value", off)
			}
			wantView(t, tc.field, text, v, []byte(tc.want), off)
		})
	}
}

func TestAppendReceiptText(t *testing.T) {
	submit := time.Date(2026, 11, 23, 15, 30, 12, 0, time.UTC)
	done := time.Date(2026, 11, 23, 15, 31, 0, 0, time.UTC)
	t.Run("appendix B layout", func(t *testing.T) {
		got := string(AppendReceiptText([]byte(">"), Receipt{
			ID: "4F2A", Sub: 1, Dlvrd: 1, SubmitDate: submit, DoneDate: done, Stat: "DELIVRD", Err: 0, Text: "Hello world",
		}))
		if want := ">" + receiptText; got != want {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
	})
	t.Run("numbers padded to three digits, never negative", func(t *testing.T) {
		got := string(AppendReceiptText(nil, Receipt{ID: "9", Sub: -4, Dlvrd: 1000, Err: 34, Stat: "UNDELIV"}))
		for _, f := range []struct{ name, want string }{{"sub", "000"}, {"dlvrd", "1000"}, {"err", "034"}, {"text", ""}} {
			if v, _, ok := ReceiptField([]byte(got), f.name); !ok || string(v) != f.want {
				t.Errorf("%s = %q, %v in %q; want %q", f.name, v, ok, got, f.want)
			}
		}
	})
	tests := []struct{ name, text, want string }{
		{"text over 20 characters is cut to 20", "This message is longer than twenty", "This message is long"},
		{"text of exactly 20", "12345678901234567890", "12345678901234567890"},
		{"20 characters, not 20 octets", strings.Repeat("é", 25), strings.Repeat("é", 20)},
		{"never inside a UTF-8 sequence", "a" + strings.Repeat("€", 30), "a" + strings.Repeat("€", 19)},
		{"emoji", strings.Repeat("🛑", 21), strings.Repeat("🛑", 20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendReceiptText(nil, Receipt{Text: tc.text})
			v, _, ok := ReceiptField(out, "text")
			if !ok || string(v) != tc.want {
				t.Errorf("text = %q, want %q", v, tc.want)
			}
			if !utf8.Valid(out) {
				t.Errorf("receipt text is not valid UTF-8: %q", out)
			}
		})
	}
	t.Run("every field reads back", func(t *testing.T) {
		r := Receipt{ID: "0a1b2c3d", Sub: 2, Dlvrd: 1, SubmitDate: submit, DoneDate: done, Stat: "ACCEPTD", Err: 5, Text: "two words"}
		out := AppendReceiptText(nil, r)
		for _, f := range []struct{ name, want string }{
			{"id", r.ID}, {"sub", "002"}, {"dlvrd", "001"}, {"submit date", "2611231530"},
			{"done date", "2611231531"}, {"stat", r.Stat}, {"err", "005"}, {"text", r.Text},
		} {
			if v, _, ok := ReceiptField(out, f.name); !ok || string(v) != f.want {
				t.Errorf("%s = %q, %v; want %q", f.name, v, ok, f.want)
			}
		}
	})
}
