//! Codec throughput: decode + encode of submit_sm and of a deliver_sm
//! receipt, through the tokio-util codec interface, ours against
//! rusmpp-core's on the same bytes in the same run.
//!
//! Run: `cargo bench -p smpp --bench codec`. Results go in BENCHMARKS.md.

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusmpp_core::tokio_codec::CommandCodec;
use smpp::SmppCodec;
use std::hint::black_box;
use tokio_util::codec::{Decoder, Encoder};

/// The byte-exact vectors written by smpplib (see tests/vectors.rs).
fn vector(name: &str) -> Vec<u8> {
    let file = include_str!("../tests/vectors/smpplib.txt");
    let hex = file
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .expect("vector present");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn bench_pdu(c: &mut Criterion, name: &str) {
    let wire = vector(name);
    let mut group = c.benchmark_group(format!("{name} decode+encode"));
    group.throughput(Throughput::Elements(1));

    group.bench_function("smpp (ours)", |b| {
        let mut codec = SmppCodec::default();
        let mut src = BytesMut::with_capacity(4096);
        let mut dst = BytesMut::with_capacity(4096);
        b.iter(|| {
            src.extend_from_slice(black_box(&wire));
            let pdu = codec.decode(&mut src).ok().flatten().and_then(Result::ok);
            let pdu = pdu.expect("vector decodes");
            dst.clear();
            codec.encode(&pdu, &mut dst).expect("encodes");
            black_box(&dst);
        });
    });

    group.bench_function("rusmpp-core", |b| {
        let mut codec = CommandCodec::new();
        let mut src = BytesMut::with_capacity(4096);
        let mut dst = BytesMut::with_capacity(4096);
        b.iter(|| {
            src.extend_from_slice(black_box(&wire));
            let command = codec.decode(&mut src).ok().flatten();
            let command = command.expect("vector decodes");
            dst.clear();
            codec.encode(&command, &mut dst).expect("encodes");
            black_box(&dst);
        });
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    bench_pdu(c, "submit_sm");
    bench_pdu(c, "deliver_sm_receipt");
}

criterion_group!(benches, codec);
criterion_main!(benches);
