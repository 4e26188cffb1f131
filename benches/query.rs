//! Criterion benches of the investigation queries on a generated drill (app_release_bug,
//! seed 7, 1M sessions — the default drill size): `compare` from the rollup and from raw
//! sessions, `funnel`, and a percentile trend (raw only). Whole-process figures are in
//! BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};

use dropcase::dataset::Dataset;
use dropcase::query::{
    CompareSpec, Filter, FunnelSpec, Grain, Metric, TrendSpec, compare_segments, engine, funnel, trend,
};

fn drill() -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("drill");
    let scenario = dropcase::scenario::catalogue::find("app_release_bug").expect("catalogue scenario");
    let options = dropcase::generate::Options { sessions: Some(1_000_000), ..Default::default() };
    dropcase::generate::generate(&scenario, 7, &out, &options, &|_, _| {}).expect("generated drill");
    let ds = Dataset::open(Some(&out), None).expect("drill opens");
    (dir, ds)
}

fn bench_queries(c: &mut Criterion) {
    let (_dir, ds) = drill();
    let (baseline, current) = ds.windows(None, None).unwrap();
    let compare = |by: &[&str]| CompareSpec {
        metric: Metric::find("conversion").unwrap(),
        by: by.iter().map(|s| s.to_string()).collect(),
        filter: Filter::default(),
        baseline,
        current,
        top: None,
    };
    let by_platform = compare(&["platform"]);
    let by_version = compare(&["platform", "app_version"]);
    c.bench_function("compare by platform (rollup)", |b| {
        b.iter(|| compare_segments(&ds, &by_platform).unwrap())
    });
    c.bench_function("compare by platform,app_version (rollup)", |b| {
        b.iter(|| compare_segments(&ds, &by_version).unwrap())
    });
    let funnel_spec =
        FunnelSpec { by: vec!["platform".into()], filter: Filter::default(), baseline, current };
    c.bench_function("funnel by platform (rollup)", |b| b.iter(|| funnel(&ds, &funnel_spec).unwrap()));
    let p75 = TrendSpec {
        metric: Metric::find("page_load_p75").unwrap(),
        by: vec!["platform".into()],
        filter: Filter::default(),
        grain: Grain::Day,
        window: None,
    };
    c.bench_function("trend page_load_p75 by platform (raw)", |b| b.iter(|| trend(&ds, &p75).unwrap()));
    // SAFETY: the benches run on one thread; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var(engine::NO_ROLLUP_ENV, "1") };
    c.bench_function("compare by platform (raw sessions)", |b| {
        b.iter(|| compare_segments(&ds, &by_platform).unwrap())
    });
    c.bench_function("compare by platform,app_version (raw sessions)", |b| {
        b.iter(|| compare_segments(&ds, &by_version).unwrap())
    });
    unsafe { std::env::remove_var(engine::NO_ROLLUP_ENV) };
}

criterion_group! {
    name = benches;
    // Plots off: criterion's plotters backend needs system fonts this machine lacks.
    config = Criterion::default().sample_size(20).without_plots();
    targets = bench_queries
}
criterion_main!(benches);
