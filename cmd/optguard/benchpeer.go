package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// benchPeer is a peer process of `optguard bench`: this executable run
// with an environment variable that makes it serve one command per line
// on its stdin, answering on its stdout. Work that must not count against
// the process being measured runs there (the idle binds' clients, the API
// lookups' client).
type benchPeer struct {
	name  string // for errors: "idle peer", "lookup peer"
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string   // the peer's stdout; closed when it ends
	quit  chan struct{} // closed by close: the reader stops delivering
	read  chan struct{} // closed when the reader has seen the end of stdout
}

// startPeer runs this executable's bench with env=1 and waits for its
// first line, which must start with ready; it returns the rest of that
// line.
func startPeer(name, env, ready string) (*benchPeer, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("%s: finding this executable: %w", name, err)
	}
	cmd := exec.Command(exe, "bench")
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	p := &benchPeer{name: name, cmd: cmd, in: in, lines: make(chan string, 64), quit: make(chan struct{}), read: make(chan struct{})}
	go func() {
		defer close(p.read)
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			case <-p.quit:
				// Keep reading to the end, so that the peer never blocks writing.
			}
		}
	}()
	line, err := p.next(peerStartTimeout)
	if err == nil && !strings.HasPrefix(line, ready) {
		err = fmt.Errorf("%s: started with %q", name, line)
	}
	if err != nil {
		p.close()
		return nil, "", err
	}
	return p, strings.TrimPrefix(line, ready), nil
}

func (p *benchPeer) next(timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s: exited", p.name)
		}
		return line, nil
	case <-t.C:
		return "", fmt.Errorf("%s: no answer within %s", p.name, timeout)
	}
}

// call sends one command and returns its answer; progress lines go to
// progress (if not nil) and each restarts the timeout.
func (p *benchPeer) call(command string, timeout time.Duration, progress func(bound int)) (string, error) {
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		return "", fmt.Errorf("%s: %w", p.name, err)
	}
	for {
		line, err := p.next(timeout)
		if err != nil {
			return "", fmt.Errorf("%s: %w", command, err)
		}
		if rest, ok := strings.CutPrefix(line, "progress "); ok {
			if n, err := strconv.Atoi(rest); err == nil && progress != nil {
				progress(n)
			}
			continue
		}
		if msg, ok := strings.CutPrefix(line, "error "); ok {
			return "", fmt.Errorf("%s: %s: %s", p.name, strings.Fields(command)[0], msg)
		}
		return line, nil
	}
}

// close ends the peer: its stdin closes, it closes what it holds and
// exits; past peerExitTimeout it is killed.
func (p *benchPeer) close() {
	close(p.quit)
	p.in.Close()
	t := time.NewTimer(peerExitTimeout)
	defer t.Stop()
	select {
	case <-p.read:
	case <-t.C:
		p.cmd.Process.Kill()
		<-p.read
	}
	p.cmd.Wait() // after the reads, as exec requires
}

// serveCommands is a peer's side: it reads one command per line from in,
// splits it into fields and writes handle's answer on out, or "error
// MESSAGE" when handle fails, until in closes.
func serveCommands(in io.Reader, out io.Writer, handle func(f []string) (string, error)) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		reply, err := handle(f)
		if err != nil {
			reply = "error " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Fprintln(out, reply)
	}
}
