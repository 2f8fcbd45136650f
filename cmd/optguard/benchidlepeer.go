package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/optguard/optguard/testenv"
)

// idlePeerEnv, set in the environment of `optguard bench`, makes it the idle
// peer of `bench -idle-binds` instead: the process that holds the idle
// clients and the simulator their upstream binds go to. They live apart from
// the proxy so that the bench process measures the proxy alone, and so that
// each process needs two descriptors per idle bind instead of one needing four.
const idlePeerEnv = "OPTGUARD_BENCH_IDLE_PEER"

// Bounds of the exchanges with the peer.
const (
	peerStartTimeout = 10 * time.Second
	peerReplyTimeout = 10 * time.Second
	peerBindTimeout  = 2 * time.Minute // binding thousands, with progress lines meanwhile
	peerWaitSessions = 30 * time.Second
	peerExitTimeout  = 30 * time.Second
)

// peerStats is one answer to "stats" or "settle".
type peerStats struct {
	cpu        time.Duration // the peer's CPU time so far
	rss        int64
	goroutines int
	files      int
	alive      int    // idle binds still open
	lost       string // why the first one that closed did ("" = none)
}

func (s peerStats) format() string {
	return fmt.Sprintf("stats %d %d %d %d %d %s", s.cpu, s.rss, s.goroutines, s.files, s.alive, s.lost)
}

func parsePeerStats(line string) (peerStats, error) {
	f := strings.SplitN(line, " ", 7)
	if len(f) < 6 || f[0] != "stats" {
		return peerStats{}, fmt.Errorf("idle peer: %q is not a stats line", line)
	}
	var v [5]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return peerStats{}, fmt.Errorf("idle peer: stats line %q: %w", line, err)
		}
		v[i] = n
	}
	s := peerStats{cpu: time.Duration(v[0]), rss: v[1], goroutines: int(v[2]), files: int(v[3]), alive: int(v[4])}
	if len(f) == 7 {
		s.lost = f[6]
	}
	return s, nil
}

// runIdlePeer is the peer side. It starts a simulator, writes "sim ADDR",
// then serves one command per line from in, answering on out:
//
//	bind N ADDR   bind N idle transceivers to ADDR ("progress K" lines while
//	              binding), wait until the simulator has them all bound
//	              upstream, then "bound"
//	stats         "stats CPU_NS RSS GOROUTINES FILES ALIVE [WHY]"
//	settle        the same after a GC that returns freed memory to the system
//	close         close the idle binds, wait until the simulator has no
//	              session left, then "closed"
//
// A command that fails is answered "error MESSAGE". It ends when in closes.
func runIdlePeer(in io.Reader, out io.Writer) int {
	raiseFileLimit() // as much as the hard limit allows; a bind past it fails with its error
	sim, err := testenv.StartSMSC(testenv.SMSCConfig{})
	if err != nil {
		fmt.Fprintf(out, "error %v\n", err)
		return 1
	}
	defer sim.Close()
	fmt.Fprintf(out, "sim %s\n", sim.Addr())
	var ib *testenv.IdleBinds
	defer func() {
		if ib != nil {
			ib.Close()
		}
	}()
	serveCommands(in, out, func(f []string) (reply string, err error) {
		switch f[0] {
		case "bind":
			return peerBind(sim, &ib, f, out)
		case "stats", "settle":
			var s peerStats
			if f[0] == "settle" {
				settle()
			}
			s.cpu, err = processCPU()
			s.rss, _ = residentBytes()
			s.goroutines, s.files = runtime.NumGoroutine(), openFiles()
			if ib != nil {
				s.alive = ib.Alive()
				if e := ib.Err(); e != nil {
					s.lost = strings.ReplaceAll(e.Error(), "\n", " ")
				}
			}
			return s.format(), err
		case "close":
			if ib != nil {
				ib.Close()
				ib = nil
			}
			if err = waitSimSessions(sim, func(bound, all int) bool { return all == 0 }); err != nil {
				return "", err
			}
			return "closed", nil
		}
		return "", fmt.Errorf("unknown command %q", f[0])
	})
	return 0
}

func peerBind(sim *testenv.SMSC, ib **testenv.IdleBinds, f []string, out io.Writer) (string, error) {
	if *ib != nil {
		return "", errors.New("idle binds already up; close them first")
	}
	if len(f) != 3 {
		return "", errors.New("want bind N ADDR")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 {
		return "", fmt.Errorf("bind %q: want a positive number", f[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerBindTimeout)
	defer cancel()
	b, err := testenv.BindIdle(ctx, testenv.IdleConfig{
		Addr:     f[2],
		Binds:    n,
		SystemID: idleSystemID,
		Progress: func(bound int) { fmt.Fprintf(out, "progress %d\n", bound) },
	})
	if err != nil {
		return "", err
	}
	// Through the proxy each idle bind is an upstream bind of its own.
	if err := waitSimSessions(sim, func(bound, all int) bool { return bound >= n }); err != nil {
		b.Close()
		return "", fmt.Errorf("%d idle binds up, but their upstream binds are not: %w", n, err)
	}
	*ib = b
	return "bound", nil
}

// waitSimSessions polls the simulator until done(bound sessions of the idle
// system_id, all sessions) holds, for peerWaitSessions at most.
func waitSimSessions(sim *testenv.SMSC, done func(bound, all int) bool) error {
	deadline := time.Now().Add(peerWaitSessions)
	for {
		ss := sim.Sessions()
		bound := 0
		for _, s := range ss {
			if s.Bound && s.SystemID == idleSystemID {
				bound++
			}
		}
		if done(bound, len(ss)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the simulator has %d sessions, %d of them bound idle binds, after %s", len(ss), bound, peerWaitSessions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idlePeer is the bench's handle on the idle peer process.
type idlePeer struct {
	*benchPeer
	simAddr string
}

// startIdlePeer runs this executable as the idle peer and waits for its
// simulator's address.
func startIdlePeer() (*idlePeer, error) {
	p, addr, err := startPeer("idle peer", idlePeerEnv, "sim ")
	if err != nil {
		return nil, err
	}
	return &idlePeer{benchPeer: p, simAddr: addr}, nil
}

func (p *idlePeer) stats(settle bool) (peerStats, error) {
	command := "stats"
	if settle {
		command = "settle"
	}
	line, err := p.call(command, peerReplyTimeout, nil)
	if err != nil {
		return peerStats{}, err
	}
	return parsePeerStats(line)
}
