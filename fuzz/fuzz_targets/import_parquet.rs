//! Arbitrary bytes read as a `.parquet` file: a broken file is refused with an
//! error, never a panic, and rows of a readable one are all accounted for.
#![no_main]

use ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::import_bytes(Format::Parquet, data));
