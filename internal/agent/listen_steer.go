package agent

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// steerer picks, for every new connection to one address, which slot's
// socket of the address's SO_REUSEPORT group receives it: a BPF program of
// type SK_REUSEPORT attached to the group, reading two maps the agent
// writes. sockets holds each slot's socket at key = slot id; serving holds
// at key 0 the number n of slots accepting connections, and at keys 1…n
// their ids. The program chooses serving[1 + hash % n] (the connection's
// 4-tuple hash, so the spread is even and a client's retransmitted SYN
// goes to the same socket); with n = 0 it selects nothing and the kernel
// picks any socket of the group by hash.
//
// The program is attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: when a
// socket of the group closes, the kernel calls it for each connection
// still queued on it (accepted by the kernel, not yet by a worker) and for
// each handshake in progress, and moves them to the socket it picks, a
// serving one, instead of resetting them. That is what lets a slot leave
// (scale down) without losing a queued connection, whatever the
// net.ipv4.tcp_migrate_req sysctl says.
type steerer struct {
	prog    *ebpf.Program
	sockets *ebpf.Map
	serving *ebpf.Map
	// current is what serving holds at keys 1…n, in that order; next is
	// scratch for steer. stale says a write failed, so serving may differ
	// from current and the next steer rewrites every entry (and the count).
	current, next []int
	sorted        []int // current in increasing order
	stale         bool
}

// steeringErr is a failure of the kernel's support for steering (the
// agent falls back to a shared socket), as opposed to one of binding the
// address.
type steeringErr struct{ err error }

func (e *steeringErr) Error() string { return e.err.Error() }
func (e *steeringErr) Unwrap() error { return e.err }

// steerSKPass is SK_PASS: the program's verdict, with or without a socket
// selected.
const steerSKPass = 1

// offsetofHash is offsetof(struct sk_reuseport_md, hash) in the kernel's
// UAPI: data, data_end (8 bytes each), len, eth_protocol, ip_protocol,
// bind_inany (4 bytes each), hash.
const offsetofHash = 32

// newSteerer loads the program and its maps. It fails where the kernel
// lacks them (before 5.14, or without CAP_BPF and CAP_NET_ADMIN).
func newSteerer() (*steerer, error) {
	sockets, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "na_sockets",
		Type:       ebpf.ReusePortSockArray,
		KeySize:    4,
		ValueSize:  8,
		MaxEntries: maxWorkers,
	})
	if err != nil {
		return nil, &steeringErr{fmt.Errorf("creating the REUSEPORT_SOCKARRAY map: %w", err)}
	}
	serving, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "na_serving",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: maxWorkers + 1,
	})
	if err != nil {
		sockets.Close()
		return nil, &steeringErr{fmt.Errorf("creating the serving-slots map: %w", err)}
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "na_steer",
		Type:         ebpf.SkReuseport,
		AttachType:   ebpf.AttachSkReuseportSelectOrMigrate,
		License:      "Dual MIT/GPL",
		Instructions: steerProgram(sockets.FD(), serving.FD()),
	})
	if err != nil {
		sockets.Close()
		serving.Close()
		return nil, &steeringErr{fmt.Errorf("loading the SK_REUSEPORT select-or-migrate program (kernel 5.14 or later, CAP_BPF and CAP_NET_ADMIN): %w", err)}
	}
	return &steerer{prog: prog, sockets: sockets, serving: serving}, nil
}

// steerProgram is the program newSteerer loads, in BPF assembly:
//
//	n = serving[0]; if n == 0: return SK_PASS (kernel's choice)
//	slot = serving[1 + ctx->hash % n]
//	bpf_sk_select_reuseport(ctx, sockets, &slot, 0) // may fail: kernel's choice
//	return SK_PASS
func steerProgram(sockets, serving int) asm.Instructions {
	lookup := func(key asm.Register) asm.Instructions {
		return asm.Instructions{
			asm.StoreMem(asm.RFP, -4, key, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, serving),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "pass"),
			asm.LoadMem(asm.R8, asm.R0, 0, asm.Word),
		}
	}
	var p asm.Instructions
	p = append(p,
		asm.Mov.Reg(asm.R6, asm.R1),                         // r6 = ctx
		asm.LoadMem(asm.R7, asm.R6, offsetofHash, asm.Word), // r7 = ctx->hash
		asm.Mov.Imm(asm.R9, 0),
	)
	p = append(p, lookup(asm.R9)...) // r8 = n
	p = append(p,
		asm.JEq.Imm(asm.R8, 0, "pass"),
		asm.Mod.Reg32(asm.R7, asm.R8),
		asm.Add.Imm32(asm.R7, 1),
	)
	p = append(p, lookup(asm.R7)...) // r8 = slot
	p = append(p,
		asm.StoreMem(asm.RFP, -8, asm.R8, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, sockets),
		asm.Mov.Reg(asm.R3, asm.RFP),
		asm.Add.Imm(asm.R3, -8),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnSkSelectReuseport.Call(),
		asm.Mov.Imm(asm.R0, steerSKPass).WithSymbol("pass"),
		asm.Return(),
	)
	return p
}

// attach makes the program choose the sockets of fd's SO_REUSEPORT group.
func (st *steerer) attach(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_EBPF, st.prog.FD()); err != nil {
		return &steeringErr{fmt.Errorf("attaching the steering program: %w", err)}
	}
	return nil
}

// add puts fd, a listening socket of the group, in slot's place. It
// receives no connection before slot is among the serving ones.
func (st *steerer) add(slot, fd int) error {
	if err := st.sockets.Put(uint32(slot), uint64(fd)); err != nil {
		return &steeringErr{fmt.Errorf("adding slot %d's socket to the steering map: %w", slot, err)}
	}
	return nil
}

// remove forgets slot's socket. The caller has taken slot out of the
// serving ones first, so a failure changes nothing: no connection is
// steered to the slot, and the socket leaves the map when it closes.
func (st *steerer) remove(slot int) {
	_ = st.sockets.Delete(uint32(slot))
}

// steer makes the program spread new connections over slots (ids in
// increasing order). Entries are written before the count that covers
// them, so a connection arriving meanwhile goes to a slot of the old set
// or of the new one — never to a slot in neither: a slot leaving is still
// listening until after steer returns, and its queue migrates on close.
//
// Only what changed is written: a slot that stays keeps its key, a slot
// leaving gives its key to the last entry, and a slot joining is appended.
// Each write is a system call, and the set changes by one slot at a time
// as workers become ready, so rewriting every entry made starting n
// workers cost n²/2 of them.
func (st *steerer) steer(slots []int) error {
	if st.sorted == nil && len(st.current) > 0 {
		// Handed over by a previous program of the agent (adoptSteerer):
		// what it wrote is current, in its order.
		st.sorted = slices.Sorted(slices.Values(st.current))
	}
	if !st.stale && slices.Equal(slots, st.sorted) {
		return nil
	}
	next := st.order(slots)
	for i, id := range next {
		if !st.stale && i < len(st.current) && st.current[i] == id {
			continue
		}
		if err := st.serving.Put(uint32(i+1), uint32(id)); err != nil {
			st.stale = true
			return fmt.Errorf("writing the serving slots: %w", err)
		}
	}
	if st.stale || len(next) != len(st.current) {
		if err := st.serving.Put(uint32(0), uint32(len(next))); err != nil {
			st.stale = true
			return fmt.Errorf("writing the serving count: %w", err)
		}
	}
	st.current, st.next, st.stale = next, st.current, false
	st.sorted = append(st.sorted[:0], slots...)
	return nil
}

// order returns the serving list for slots (increasing ids) that differs
// least from current: current without the slots that left (each hole
// filled with the last entry), then the slots that joined.
func (st *steerer) order(slots []int) []int {
	next := append(st.next[:0], st.current...)
	for i := 0; i < len(next); {
		if _, ok := slices.BinarySearch(slots, next[i]); ok {
			i++
			continue
		}
		next[i] = next[len(next)-1]
		next = next[:len(next)-1]
	}
	had := st.sorted // merged with slots, both increasing: the ones joining
	for _, id := range slots {
		for len(had) > 0 && had[0] < id {
			had = had[1:]
		}
		if len(had) == 0 || had[0] != id {
			next = append(next, id)
		}
	}
	return next
}

func (st *steerer) close() {
	st.prog.Close()
	st.sockets.Close()
	st.serving.Close()
}
