//! Arbitrary bytes read as `rees46` input: each row is imported or quarantined, or
//! the file is refused with an error; nothing panics and no row is lost.
#![no_main]

use ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::import_bytes(Format::Rees46, data));
