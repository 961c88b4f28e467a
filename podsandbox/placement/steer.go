package placement

import "time"

// Steering: where the host processes the packets a pod sends.
//
// A frame the sentry writes to its packet socket goes through the host's
// side of the pod's veth inside that write: the bridge with its netfilter
// hooks, the host's TCP, the copy into the receiving socket and the
// wake-up of its reader. A consolidated pod pays for all of that on its
// one CPU, and when it sends bulk data that is about half of what its
// sentry does, while the host's reader sits on another CPU mostly idle.
// So while a consolidated pod sends much more than it receives, the
// Placer has the kernel do that work elsewhere: Receive Packet Steering
// (rps_cpus) on the host's end of the veth queues the pod's frames to the
// pod's other allowed CPUs, whose softirq takes them through the host's
// stack. Measured on the 2-CPU development VM in four pairs of
// alternating runs, pod → host TCP went from 9.3, 9.5, 7.2 and 1.4 Gbit/s
// to 12.9, 13.4, 10.7 and 4.7 (runc: 14.9, 15.9, 11.4 and 9.1).
//
// The other way it costs: a pod receiving a stream sends only ACKs, and
// steered, each ACK's processing (which lets the host's sender send the
// next data) waits for another CPU; host → pod fell by 15-30% in the same
// runs. Latency-bound traffic (a UDP echo, connect+close, HTTP with small
// replies) measured no difference beyond the machine's noise, but each
// steered frame is a wake-up of another CPU, so only a pod that sends
// steerRate or more, steerShare times what it receives, is steered.
//
// Binding a bulk sender's stubs to another CPU than its sentry instead
// (each spinning for the other's answer, so that a write costs no
// context switch) measured no better: pod → host 0.69-0.92x runc split
// against 0.63-0.90x steered, in five alternating pairs, for a second
// CPU spent spinning; a receiver split that way fell from 13 to 8.5
// Gbit/s host → pod.
const (
	// steerRate is the rate, in bytes a second, a pod must send on a
	// link for the host's work on its frames to be steered.
	steerRate = 64 << 20
	// steerShare is how many times what it receives a pod must send.
	steerShare = 4
	// steerOnTicks ticks in a row of sending so start the steering;
	// steerOffTicks ticks in a row without end it. One tick is enough
	// to start: in six pairs of alternating 2 s streams, each starting
	// unsteered, pod → host averaged 11.8 Gbit/s steered from the
	// first tick against 9.6 from the second, and a short burst that
	// gets steered costs nothing but a few wake-ups of another CPU.
	steerOnTicks  = 1
	steerOffTicks = 4
)

// steerPolicy decides, tick by tick, whether the host's work on the
// frames a pod sends on one link is steered to other CPUs. Like policy,
// it is a pure state machine.
type steerPolicy struct {
	on bool
	// hot and cold count the consecutive ticks the pod sent in bulk, and
	// did not.
	hot, cold int
	// sent and received are the link's counters at the last tick
	// (lastAt), as the pod sees them.
	sent, received uint64
	lastAt         time.Time
}

// step takes the link's counters at now, in bytes the pod has sent and
// received, and whether the pod is consolidated, and returns whether its
// frames are to be steered. A pod that is not consolidated is not: its
// sentry's threads have CPUs of their own.
func (s *steerPolicy) step(now time.Time, sent, received uint64, consolidated bool) bool {
	first := s.lastAt.IsZero()
	dt := now.Sub(s.lastAt)
	dSent, dReceived := sent-s.sent, received-s.received
	backwards := sent < s.sent || received < s.received
	s.sent, s.received, s.lastAt = sent, received, now
	if !consolidated {
		s.on, s.hot, s.cold = false, 0, 0
		return false
	}
	if first || backwards || dt <= 0 {
		// No interval to judge (the first look, or counters of a
		// link made anew): nothing changes.
		return s.on
	}
	bulk := float64(dSent) >= steerRate*dt.Seconds() && dSent >= steerShare*dReceived
	if bulk {
		s.hot, s.cold = s.hot+1, 0
		if s.hot >= steerOnTicks {
			s.on = true
		}
	} else {
		s.hot, s.cold = 0, s.cold+1
		if s.cold >= steerOffTicks {
			s.on = false
		}
	}
	return s.on
}
