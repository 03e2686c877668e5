//! How many messages per second the SQLite store accepts durably when many
//! submitters (SMPP sessions) offer them at once: the number group commit is for.
//!
//! Run: `cargo bench -p smsgate --bench store`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smsgate::store::sqlite::SqliteStore;
use smsgate::store::{
    AcceptOutcome, BindType, NewAccount, NewMessage, Origin, Store, StoredAddress,
};

/// Concurrent submitters, as if 64 sessions each had a message in flight.
const SUBMITTERS: u64 = 64;

fn message(id: u64) -> NewMessage {
    NewMessage {
        callback_url: None,
        client_ref: None,
        tags: Vec::new(),
        id: format!("bench-{id:016}"),
        account: "bench".to_string(),
        cost: 1,
        source: StoredAddress {
            ton: 5,
            npi: 0,
            addr: "Bench".to_string(),
        },
        destination: StoredAddress {
            ton: 1,
            npi: 1,
            addr: format!("4915{:09}", id % 1_000_000_000),
        },
        esm_class: 0,
        data_coding: 0,
        protocol_id: 0,
        priority: 0,
        registered_delivery: 1,
        schedule_at: None,
        expires_at: None,
        payload: b"Your code is 123456. It expires in 10 minutes.".to_vec(),
        part: None,
        segments: 1,
        origin: Origin {
            protocol: "smpp".to_string(),
            remote_addr: Some("192.0.2.10:40000".parse().unwrap()),
            tls: false,
            session_id: Some(id % SUBMITTERS),
        },
        accepted_at: SystemTime::now(),
        trace_detail: "bench".to_string(),
        claimed_by: None,
    }
}

fn accepts(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("smsgate.db")).unwrap());
    runtime
        .block_on(store.create_account(NewAccount {
            system_id: "bench".to_string(),
            password_hash: String::new(),
            credits: i64::MAX / 2,
            max_binds: 4,
            tps: None,
            window: 10,
            deliver_window: 10,
            bind_types: BindType::ALL.to_vec(),
            allowed_ips: Vec::new(),
            allowed_senders: Vec::new(),
            default_sender: None,
            address_ranges: Vec::new(),
            group: None,
        }))
        .unwrap();
    let next_id = Arc::new(AtomicU64::new(0));

    let mut group = c.benchmark_group("sqlite_store");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("accept_{SUBMITTERS}_concurrent"), |b| {
        b.iter_custom(|iterations| {
            let per_submitter = iterations.div_ceil(SUBMITTERS);
            let start = Instant::now();
            runtime.block_on(async {
                let submitters: Vec<_> = (0..SUBMITTERS)
                    .map(|_| {
                        let (store, next_id) = (Arc::clone(&store), Arc::clone(&next_id));
                        tokio::spawn(async move {
                            for _ in 0..per_submitter {
                                let id = next_id.fetch_add(1, Ordering::Relaxed);
                                let outcome = store.accept(message(id)).await.unwrap();
                                assert!(matches!(outcome, AcceptOutcome::Accepted { .. }));
                            }
                        })
                    })
                    .collect();
                for submitter in submitters {
                    submitter.await.unwrap();
                }
            });
            // Report the time per message actually stored (a multiple of SUBMITTERS).
            start
                .elapsed()
                .mul_f64(iterations as f64 / (per_submitter * SUBMITTERS) as f64)
        });
    });
    group.finish();
    runtime.block_on(store.close()).unwrap();
}

criterion_group!(benches, accepts);
criterion_main!(benches);
