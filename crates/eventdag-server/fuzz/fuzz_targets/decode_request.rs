//! Request decoding never panics: any bytes as a query string and a body
//! for every route's decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    eventdag_server::fuzzing::decode_request(data);
});
