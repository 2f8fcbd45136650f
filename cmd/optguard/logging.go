package main

import (
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/optguard/optguard/config"
)

// newLogger returns the process logger: JSON lines on w, or the console format
// when cfg says so or, with "auto", when w is a terminal.
func newLogger(w io.Writer, cfg config.Log) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	console := cfg.Format == config.LogFormatConsole
	if cfg.Format == config.LogFormatAuto || cfg.Format == "" {
		console = isTerminal(w)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	level := zerolog.InfoLevel
	switch cfg.Level {
	case config.LogLevelDebug:
		level = zerolog.DebugLevel
	case config.LogLevelWarn:
		level = zerolog.WarnLevel
	case config.LogLevelError:
		level = zerolog.ErrorLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
