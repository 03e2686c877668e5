//! A fixed number of decode+encode rounds, for counting instructions with
//! callgrind, which (unlike wall time on a shared VM) gives the same answer
//! every run:
//!
//! ```sh
//! cargo build --release -p smpp --example codec_loop
//! valgrind --tool=callgrind target/release/examples/codec_loop submit_sm 100000 ours
//! valgrind --tool=callgrind target/release/examples/codec_loop submit_sm 100000 rusmpp
//! ```
//!
//! The PDU names are those of tests/vectors/smpplib.txt. Results are in
//! BENCHMARKS.md.

use std::hint::black_box;
use std::process::ExitCode;

use bytes::BytesMut;
use rusmpp_core::tokio_codec::CommandCodec;
use smpp::SmppCodec;
use tokio_util::codec::{Decoder, Encoder};

fn vector(name: &str) -> Option<Vec<u8>> {
    let file = include_str!("../tests/vectors/smpplib.txt");
    let hex = file
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))?;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(name), Some(rounds), Some(which)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: codec_loop PDU_NAME ROUNDS ours|rusmpp");
        return ExitCode::FAILURE;
    };
    let (Some(wire), Ok(rounds)) = (vector(name), rounds.parse::<usize>()) else {
        eprintln!("unknown PDU name or bad round count");
        return ExitCode::FAILURE;
    };
    let mut src = BytesMut::with_capacity(4096);
    let mut dst = BytesMut::with_capacity(4096);
    let ok = match which.as_str() {
        "ours" => {
            let mut codec = SmppCodec::default();
            (0..rounds).all(|_| {
                src.extend_from_slice(black_box(&wire));
                let Ok(Some(Ok(pdu))) = codec.decode(&mut src) else {
                    return false;
                };
                dst.clear();
                codec.encode(&pdu, &mut dst).is_ok() && black_box(&dst).len() == wire.len()
            })
        }
        "rusmpp" => {
            let mut codec = CommandCodec::new();
            (0..rounds).all(|_| {
                src.extend_from_slice(black_box(&wire));
                let Ok(Some(command)) = codec.decode(&mut src) else {
                    return false;
                };
                dst.clear();
                codec.encode(&command, &mut dst).is_ok() && black_box(&dst).len() == wire.len()
            })
        }
        _ => false,
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
