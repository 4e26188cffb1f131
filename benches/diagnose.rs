//! Criterion benches of root-cause localisation (issue 8: a leaf table of ~20k rows and 4
//! dimensions diagnosed in well under 50 ms), on the synthetic tables of the accuracy tests.
//! Run: `cargo bench --profile dev --bench diagnose` (the project's one profile).

use criterion::{Criterion, criterion_group, criterion_main};

use dropcase::diagnose::localise::{self, Algorithm, Settings};
use dropcase::diagnose::synthetic::{planted, planted_ratio};

fn localise_tables(c: &mut Criterion) {
    let mut group = c.benchmark_group("diagnose");
    // 20 × 20 × 10 × 5 = 20,000 leaves, two causes (two terms and one term deep).
    let additive = planted(7, &[20, 20, 10, 5], 2, &[2, 1]);
    group.bench_function("scan_20k_leaves_additive", |b| {
        b.iter(|| localise::localise(&additive.table, Algorithm::Scan, &Settings::default()))
    });
    let ratio = planted_ratio(7, &[20, 20, 10, 5], 2, &[2, 1]);
    let table = ratio.leaves.to_rate_table();
    group.bench_function("scan_20k_leaves_ratio", |b| {
        b.iter(|| localise::localise(&table, Algorithm::Scan, &Settings::default()))
    });
    group.bench_function("rate_forecast_20k_leaves", |b| b.iter(|| ratio.leaves.to_rate_table()));
    // The accuracy benchmark's size: 10 × 8 × 6 × 5 = 2,400 leaves, three causes.
    let small = planted(11, &[10, 8, 6, 5], 3, &[1, 2, 3]);
    group.bench_function("scan_2400_leaves_additive", |b| {
        b.iter(|| localise::localise(&small.table, Algorithm::Scan, &Settings::default()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots off: criterion's plotters backend needs system fonts this machine lacks.
    config = Criterion::default().without_plots();
    targets = localise_tables
}
criterion_main!(benches);
