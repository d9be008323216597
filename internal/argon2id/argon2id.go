// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2id is golang.org/x/crypto/argon2's Argon2id (RFC 9106,
// version 0x13) with one change: the working memory is reused between
// hashes instead of allocated and zeroed on every call.
//
// Why a copy: x/crypto allocates memory KiB per call (19 MiB with the
// defaults) and relies on it being zeroed, because its first pass XORs
// into fresh memory. At tens of verifications per second that is
// hundreds of MiB/s of allocation: a few percent of the CPU in memclr
// and a garbage collection every couple of sign-ins. Here the first pass
// overwrites blocks (RFC 9106 section 3.4: the first pass is a plain
// write), so memory from a sync.Pool can be reused as it is; every block
// is written in the first pass before anything reads it.
//
// The block function (blamka_*.go and the generated blamka_amd64.s) is
// x/crypto's; the only change is that the portable rounds, which x/crypto
// writes out twice, live once in blamkaRounds. Key is cross-checked against
// x/crypto's IDKey in the tests, with and without SSE4.1.
package argon2id

import (
	"encoding/binary"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version implemented (0x13).
const Version = 0x13

const (
	blockLength = 128
	syncPoints  = 4
	argon2id    = 2

	// maxPooledBlocks bounds the memory kept between hashes: working
	// areas above 64 MiB (hostile imports, unusual settings) are
	// allocated per call and left to the garbage collector.
	maxPooledBlocks = 64 * 1024
)

type block [blockLength]uint64

// pool holds working areas between hashes. sync.Pool drops what stays
// unused across two garbage collections, so an idle server gives the
// memory back.
var pool sync.Pool

// Key derives a keyLen-byte key from password and salt with Argon2id. It
// returns exactly what golang.org/x/crypto/argon2.IDKey returns for the same
// arguments and, like it, panics when time or threads is zero.
func Key(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2id: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2id: parallelism degree too low")
	}
	h0 := initHash(password, salt, time, memory, uint32(threads), keyLen)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := getBlocks(memory)
	defer putBlocks(B)
	initBlocks(&h0, B, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads))
	return extractKey(B, memory, uint32(threads), keyLen)
}

// getBlocks returns a working area of n blocks with arbitrary contents.
func getBlocks(n uint32) []block {
	if n <= maxPooledBlocks {
		if p, ok := pool.Get().(*[]block); ok && uint32(cap(*p)) >= n {
			return (*p)[:n]
		}
	}
	return make([]block, n)
}

func putBlocks(B []block) {
	if len(B) <= maxPooledBlocks {
		pool.Put(&B)
	}
}

func initHash(password, salt []byte, time, memory, threads, keyLen uint32) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(argon2id))
	b2.Write(params[:])
	for _, field := range [][]byte{password, salt, nil, nil} { // no secret, no associated data
		binary.LittleEndian.PutUint32(tmp[:], uint32(len(field)))
		b2.Write(tmp[:])
		b2.Write(field)
	}
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of every lane.
func initBlocks(h0 *[blake2b.Size + 8]byte, B []block, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
		for k := uint32(0); k < 2; k++ {
			binary.LittleEndian.PutUint32(h0[blake2b.Size:], k)
			blake2bHash(block0[:], h0[:])
			for i := range B[j+k] {
				B[j+k][i] = binary.LittleEndian.Uint64(block0[i*8:])
			}
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32) {
	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			if threads == 1 { // the common case: no goroutine per segment
				processSegment(B, time, memory, threads, n, slice, 0)
				continue
			}
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Go(func() { processSegment(B, time, memory, threads, n, slice, lane) })
			}
			wg.Wait()
		}
	}
}

func processSegment(B []block, time, memory, threads, n, slice, lane uint32) {
	lanes := memory / threads
	segments := lanes / syncPoints
	var addresses, in, zero block
	dataIndependent := n == 0 && slice < syncPoints/2
	if dataIndependent {
		in[0] = uint64(n)
		in[1] = uint64(lane)
		in[2] = uint64(slice)
		in[3] = uint64(memory)
		in[4] = uint64(time)
		in[5] = uint64(argon2id)
	}

	index := uint32(0)
	if n == 0 && slice == 0 {
		index = 2 // the first two blocks come from initBlocks
		in[6]++
		processBlock(&addresses, &in, &zero)
		processBlock(&addresses, &addresses, &zero)
	}

	offset := lane*lanes + slice*segments + index
	var random uint64
	for index < segments {
		prev := offset - 1
		if index == 0 && slice == 0 {
			prev += lanes // last block in lane
		}
		if dataIndependent {
			if index%blockLength == 0 {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
			random = addresses[index%blockLength]
		} else {
			random = B[prev][0]
		}
		newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
		if n == 0 {
			// First pass: overwrite whatever the reused memory held.
			processBlock(&B[offset], &B[prev], &B[newOffset])
		} else {
			processBlockXOR(&B[offset], &B[prev], &B[newOffset])
		}
		index, offset = index+1, offset+1
	}
}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
