//! The fast E.164 check against `phonenumber`, on a mix of valid and
//! invalid international numbers.
//!
//! `cargo bench -p smsgate --bench numbers -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use smsgate::accept::NumberTable;

/// Valid mobiles and landlines of busy destinations, a NANP number outside
/// the US, a number with its national prefix, and invalid ones.
const NUMBERS: [&str; 10] = [
    "447912345678",
    "14155551234",
    "4915112345678",
    "33612345678",
    "919876543210",
    "12462345678",
    "4407912345678",
    "447700900123",
    "4412",
    "999123456789",
];

fn numbers(c: &mut Criterion) {
    let started = Instant::now();
    let table = NumberTable::from_phonenumber_metadata().expect("bundled metadata compiles");
    eprintln!("building the number table took {:?}", started.elapsed());
    let started = Instant::now();
    black_box(
        phonenumber::parse(None, "+447912345678")
            .map(|n| phonenumber::is_valid(&n))
            .ok(),
    );
    eprintln!("phonenumber's first parse took {:?}", started.elapsed());

    let mut group = c.benchmark_group("validate 10 numbers");
    group.bench_function("NumberTable::validate", |b| {
        b.iter(|| {
            for digits in NUMBERS {
                black_box(table.validate(black_box(digits)));
            }
        })
    });
    group.bench_function("phonenumber parse + is_valid", |b| {
        b.iter(|| {
            for digits in NUMBERS {
                let text = format!("+{}", black_box(digits));
                black_box(
                    phonenumber::parse(None, &text)
                        .map(|n| phonenumber::is_valid(&n))
                        .ok(),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, numbers);
criterion_main!(benches);
