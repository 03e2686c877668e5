//! MT route selection per message: 50 routes (prefixes of many countries,
//! account, tag and time filters, a least_cost and a weighted route, a
//! default route) against a mixed set of destinations.
//!
//! `cargo bench -p smsgate --bench routing -- --warm-up-time 1 --measurement-time 3`

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use smsgate::routing::{AllHealthy, RouteConfig, RouteInput, RouteTable};

#[derive(Deserialize)]
struct Routes {
    routes: Vec<RouteConfig>,
}

/// Calling codes the generated routes cover.
const COUNTRIES: [&str; 20] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "39", "41", "43", "46", "48", "49", "52",
    "55", "61", "81", "91",
];

fn routes() -> String {
    let mut toml = String::new();
    for (index, code) in COUNTRIES.iter().enumerate() {
        // One country-wide route and one for a mobile range of it.
        let _ = write!(
            toml,
            "[[routes]]\nname = \"c{code}\"\nprefix = \"{code}\"\nconnectors = [\"p{index}\", \"backup\"]\n\n\
             [[routes]]\nname = \"c{code}-mobile\"\nprefix = [\"{code}6\", \"{code}7\"]\nconnectors = [\"m{index}\", \"p{index}\"]\n\n"
        );
    }
    for account in 0..5 {
        let _ = write!(
            toml,
            "[[routes]]\nname = \"account{account}\"\norder = 50\naccount = \"acct{account}\"\nconnectors = [\"vip\"]\n\n"
        );
    }
    toml.push_str(
        "[[routes]]\nname = \"otp\"\norder = 10\ntag = \"otp\"\nconnectors = [\"otp\", \"backup\"]\n\n\
         [[routes]]\nname = \"night\"\norder = 60\nprefix = \"33\"\ntime = { from = \"22:00\", until = \"06:00\", timezone = \"Europe/Paris\" }\nconnectors = [\"night\"]\n\n\
         [[routes]]\nname = \"uk\"\nprefix = \"44\"\nstrategy = \"least_cost\"\nconnectors = [\"a\", \"b\"]\nprice_tables = { a = \"a.csv\", b = \"b.csv\" }\n\n\
         [[routes]]\nname = \"de-split\"\norder = 90\nprefix = \"4915\"\nstrategy = \"weighted\"\nweights = [3, 1]\nconnectors = [\"a\", \"b\"]\n\n\
         [[routes]]\nname = \"default\"\norder = 1000\nconnectors = [\"sim\"]\n",
    );
    toml
}

fn routing(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.csv"), "44,0.031\n447,0.029\n").expect("write");
    std::fs::write(dir.path().join("b.csv"), "44,0.030\n4477,0.028\n").expect("write");
    let config: Routes = toml::from_str(&routes()).expect("bench routes parse");
    let table = RouteTable::from_config(&config.routes, dir.path()).expect("bench routes build");
    assert_eq!(table.len(), 50);

    let destinations = [
        "447700900123",
        "447912345678",
        "4915112345678",
        "33612345678",
        "14155551234",
        "919876543210",
        "819012345678",
        "5511912345678",
        "61412345678",
        "85212345678",
    ];
    let otp = vec!["otp".to_string()];
    let none: Vec<String> = Vec::new();
    let inputs: Vec<RouteInput<'_>> = destinations
        .iter()
        .enumerate()
        .map(|(index, destination)| RouteInput {
            account: if index == 3 { "acct2" } else { "customer" },
            group: None,
            source: "ACME",
            destination,
            text: Some("Your code is 123456"),
            data_coding: 0,
            tags: if index == 5 { &otp } else { &none },
        })
        .collect();
    let now = jiff::Timestamp::now();

    let mut group = c.benchmark_group("route 10 mixed messages over 50 routes");
    group.bench_function("RouteTable::route_for", |b| {
        b.iter(|| {
            for input in &inputs {
                black_box(table.route_for(black_box(input), now, &AllHealthy));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
