//! A stable-toolchain smoke run of the fuzz target's entry point: valid
//! bodies, their truncations and byte flips, and pseudo-random bytes must
//! never panic the decoders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eventdag_server::fuzzing::decode_request;

const SEEDS: &[&str] = &[
    r#"{"payload": {"a": [1, 2, {"b": null}]}, "parents": ["0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60"], "lane": 2, "kind": 16385, "flags": ["REQUIRES_ACK", "CRITICAL"], "correlation_id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f61", "id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f62", "position": {"depth": 1, "lane": 2, "sequence": 0}}"#,
    r#"[{"payload": 1}, {"payload": 2, "kind": 65535, "flags": 15}]"#,
    r#"{"type": "error_propagation", "source_event_id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60", "error_code": 4294967295, "message": "é\u0000"}"#,
    "limit=10&kind=7&min_depth=0&max_depth=4294967295\0{\"type\":\"cancel\",\"correlation_id\":\"0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60\",\"reason\":\"r\"}",
    "parent=0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60&lane=3&upstream=true&after=18446744073709551615\0[]",
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

#[test]
fn decoders_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for seed in SEEDS {
        let bytes = seed.as_bytes();
        for cut in 0..=bytes.len() {
            decode_request(&bytes[..cut]);
            runs += 1;
        }
        for _ in 0..2_000 {
            let mut mutated = bytes.to_vec();
            for _ in 0..(1 + rng.next() % 4) {
                let at = usize::try_from(rng.next() % mutated.len() as u64).unwrap();
                mutated[at] = (rng.next() & 0xff) as u8;
            }
            decode_request(&mutated);
            runs += 1;
        }
    }
    for _ in 0..5_000 {
        let len = usize::try_from(rng.next() % 64).unwrap();
        let noise: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        decode_request(&noise);
        runs += 1;
    }
    assert!(runs > 15_000);
}
