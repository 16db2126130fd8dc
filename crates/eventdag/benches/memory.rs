//! Criterion benchmarks of `MemoryDag`: append, read by id, an ancestors
//! walk of depth 1,000 and a correlation chain of 1,000 events.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{HashMap, HashSet};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eventdag::{
    DagPosition, EventDag, EventDagExt, EventFlags, EventHeader, EventKind, MemoryDag,
    DEFAULT_TENANT,
};
use serde_json::{json, Value};
use uuid::Uuid;

const DEPTH: usize = 1000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

async fn line(dag: &MemoryDag<Value>, length: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(length);
    let mut last = dag
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!({"i": 0}))
        .await
        .ok()
        .unwrap();
    ids.push(last.id());
    for i in 1..length {
        last = dag
            .append_child(last.id(), EventKind::DATA, json!({ "i": i }))
            .await
            .ok()
            .unwrap();
        ids.push(last.id());
    }
    ids
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let payload = json!({ "data": "x".repeat(200) });

    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Elements(1));
    let dag = MemoryDag::<Value>::new();
    let mut sequence = 0u32;
    group.bench_function("append_root", |b| {
        b.iter(|| {
            let header = EventHeader::new(
                Uuid::now_v7(),
                Uuid::nil(),
                0,
                DagPosition::new(0, 0, sequence),
                0,
                EventKind::DATA,
                EventFlags::empty(),
            );
            sequence += 1;
            rt.block_on(dag.append(eventdag::Event::new(header, payload.clone())))
                .ok()
                .unwrap()
        });
    });

    let dag = MemoryDag::<Value>::new();
    let ids = rt.block_on(line(&dag, DEPTH));
    let tip = *ids.last().unwrap();
    let mut next = 0usize;
    group.bench_function("read_by_id", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            rt.block_on(dag.read(ids[next])).ok().unwrap()
        });
    });
    group.throughput(Throughput::Elements(DEPTH as u64));
    group.bench_function("walk_ancestors_depth_1000", |b| {
        b.iter(|| {
            let walked = rt.block_on(dag.walk_ancestors(tip, DEPTH)).ok().unwrap();
            assert_eq!(walked.len(), DEPTH);
        });
    });
    group.bench_function("correlation_chain_1000", |b| {
        b.iter(|| {
            let chain = rt
                .block_on(dag.find_correlation_chain(DEFAULT_TENANT, ids[0]))
                .ok()
                .unwrap();
            assert_eq!(chain.len(), DEPTH);
        });
    });
    // Baselines in the same run: the least work a read or a walk must do,
    // on a plain HashMap of the same events (clone on read, naive
    // breadth-first walk then sort).
    let plain: HashMap<Uuid, eventdag::Event<Value>> = rt
        .block_on(dag.walk_ancestors(tip, DEPTH))
        .ok()
        .unwrap()
        .into_iter()
        .map(|event| (event.id(), event))
        .collect();
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_hashmap_read", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            plain.get(&ids[next]).cloned().unwrap()
        });
    });
    group.throughput(Throughput::Elements(DEPTH as u64));
    group.bench_function("baseline_hashmap_bfs_ancestors_1000", |b| {
        b.iter(|| {
            let mut seen = HashSet::from([tip]);
            let mut queue = vec![tip];
            let mut out = Vec::new();
            while let Some(id) = queue.pop() {
                let event = plain.get(&id).unwrap();
                out.push(event.clone());
                for parent in &event.parents {
                    if seen.insert(*parent) {
                        queue.push(*parent);
                    }
                }
            }
            out.sort_by_key(|e| std::cmp::Reverse(e.header.position));
            assert_eq!(out.len(), DEPTH);
            out
        });
    });
    group.bench_function("build_line_1000", |b| {
        b.iter_batched(
            MemoryDag::<Value>::new,
            |fresh| rt.block_on(line(&fresh, DEPTH)),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(memory, benches);
criterion_main!(memory);
