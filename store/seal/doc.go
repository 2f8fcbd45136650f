// Package seal keeps an installation's secret and what it protects: the
// key file, the pseudonyms that stand for handset numbers on disk and in
// memory, and the per-subject data keys under which everything that
// identifies a person (the number, the raw MO text, a held PDU) is stored.
//
// The store never writes a number in the clear. It writes the number's
// Pseudonym, a keyed 128-bit hash under the installation secret, wherever
// a number was a key, and seals the number and the person's texts under
// the subject's own key (AES-256-GCM). The subject key is kept, wrapped
// under the installation secret, in a record outside the hash-chained
// ledger: destroying that record erases the person (crypto-erasure) while
// every ledger event, ciphertext included, still verifies without a key.
//
// # The key file
//
// One file per installation, generated at the first start of an empty
// store (Create), readable by its owner only (mode 0600; Load refuses a
// file that others may read), never logged. It holds 48 random bytes: 16
// for the pseudonyms and 32 for the key that wraps subject keys. Losing it
// loses every readable number and text (the proof's events still verify,
// but say nothing about whom); backups of the store hold ciphertext only,
// so the key file is backed up apart from them, and a restored backup reads
// again with it. Keys.ID fingerprints it, so that a store opened with the
// wrong key file is refused rather than read as garbage.
//
// # Why SipHash-2-4-128
//
// A pseudonym is computed for every MT (the consent index is keyed by it),
// so the keyed hash is on the relay's hot path and must be a PRF: without
// the secret nobody can link a pseudonym to a number, even though the
// numbers of a country are few enough to try them all. It hashes the
// number's digits as a PDU carries them (Keys.Pseudonym). Measured on 8
// input bytes (BenchmarkPseudonym, 2 vCPU AMD EPYC, Go 1.26):
// SipHash-2-4 with its 128-bit output (github.com/dchest/siphash) 19–23
// ns; one AES-128 block (crypto/aes), the core of an AES-CMAC of one block,
// 17–18 ns; HMAC-SHA-256 175 ns; keyed BLAKE2b-128 (golang.org/x/crypto,
// measured apart) 590 ns with its allocation. SipHash and AES are level
// within this machine's noise; SipHash was designed for exactly this (a
// PRF of short inputs under a 128-bit key), is checked against its
// reference vectors as it is, and leaves no block-cipher mode for us to
// write (CMAC's subkeys and padding would be our own code). The module is
// small, stable and has no dependencies. Neither allocates.
//
// seal imports only the standard library and that module; store uses it.
package seal
