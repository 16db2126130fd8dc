//! A stable-toolchain smoke run of the fuzz target's entry point: valid
//! bodies, their truncations and byte flips, and pseudo-random bytes must
//! never panic the decoders — and the decoders must still tell valid
//! input from broken input, so a harness that rejects everything fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eventdag_server::fuzzing::{decode_request, Accepted};

const SEEDS: &[&str] = &[
    r#"{"payload": {"a": [1, 2, {"b": null}]}, "parents": ["0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60"], "kind": 16385, "flags": ["REQUIRES_ACK", "CRITICAL"], "correlation_id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f61", "id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f62", "position": {"depth": 1, "lane": 2, "sequence": 0}}"#,
    r#"[{"payload": 1}, {"payload": 2, "kind": 65535, "flags": 15}]"#,
    r#"{"type": "error_propagation", "source_event_id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60", "error_code": 4294967295, "message": "é\u0000"}"#,
    "limit=10&kind=7&min_depth=0&max_depth=4294967295\0{\"type\":\"cancel\",\"correlation_id\":\"0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60\",\"reason\":\"r\"}",
    "parent=0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60&lane=3&upstream=true&after=18446744073709551615\0[]",
    "dry_run=false\0{\"reason\": \"GDPR request 17\"}",
    "older_than=18446744073709551615\0{\"rules\": [{\"kind\": 7, \"max_age_seconds\": 60}, {\"max_age_seconds\": 1}]}",
];

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// What each seed must be accepted as: bodies, then queries besides the
/// parameterless one.
const SEED_ACCEPTED: &[(usize, usize)] = &[(1, 0), (1, 0), (1, 0), (1, 1), (1, 0), (1, 1), (1, 1)];

#[test]
fn decoders_never_panic_and_still_tell_good_from_bad() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (seed, (bodies, queries)) in SEEDS.iter().zip(SEED_ACCEPTED) {
        let bytes = seed.as_bytes();
        let whole = decode_request(bytes);
        assert!(whole.bodies >= *bodies, "{seed}: {whole:?}");
        assert!(whole.queries >= *queries, "{seed}: {whole:?}");
        let body_at = bytes.iter().position(|b| *b == 0).map_or(0, |at| at + 1);
        for cut in body_at..bytes.len() {
            // A strict prefix of a JSON object or array is not JSON.
            let truncated = decode_request(&bytes[..cut]);
            assert_eq!(truncated.bodies, 0, "{:?}", &seed[..cut]);
        }
        for _ in 0..2_000 {
            let mut mutated = bytes.to_vec();
            for _ in 0..(1 + rng.next() % 4) {
                let at = usize::try_from(rng.next() % mutated.len() as u64).unwrap();
                mutated[at] = (rng.next() & 0xff) as u8;
            }
            decode_request(&mutated);
        }
    }
    let mut accepted_noise = Accepted::default();
    for _ in 0..5_000 {
        let len = usize::try_from(rng.next() % 64).unwrap();
        let noise: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        accepted_noise.bodies += decode_request(&noise).bodies;
    }
    assert_eq!(accepted_noise.bodies, 0, "random bytes are never a body");
}
