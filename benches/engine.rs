//! Criterion benches of the generator: the per-chunk simulation (the hot loop) and a whole
//! drill written to disk. Seeded, so every run measures the same work.
//! Run: `cargo bench --profile dev --bench engine` (the project's one profile).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use dropcase::generate::product_engine::Engine;
use dropcase::generate::{self, Model, Options};
use dropcase::product::scenario::ProductScenario;
use dropcase::scenario::Scenario;

fn simulate(c: &mut Criterion) {
    let scenario = Scenario::load("app_release_bug").expect("catalogue scenario");
    let case = scenario.draw(&mut ChaCha8Rng::seed_from_u64(1), 1);
    let model = Model::new(&case);
    let day = model.days - 3;
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(model.day_sessions[day as usize]));
    group.bench_function("one_day", |b| b.iter(|| model.simulate(day, 0, 1)));
    group.finish();
}

/// One day of the generic generator: the engagement app's user-days at the 10M-row drill's
/// volume (each live user's come-back draw, each active user's row), tallied as `write` does.
fn simulate_product_day(c: &mut Criterion) {
    let scenario = ProductScenario::find("wau_push_outage").expect("catalogue scenario").expect("loads");
    let mut case = scenario.draw(&mut ChaCha8Rng::seed_from_u64(1), 1);
    case.rows_per_day = 10_000_000.0 / f64::from(case.days);
    let engine = Engine::new(case).expect("engine");
    let day = engine.days() - 3;
    let rows = engine.day_tally(day).rows;
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function("one_engagement_day", |b| b.iter(|| engine.day_tally(day)));
    group.finish();
}

fn generate_drill(c: &mut Criterion) {
    let scenario = Scenario::load("app_release_bug").expect("catalogue scenario");
    let tmp = tempfile::tempdir().expect("temporary folder");
    let out = tmp.path().join("drill");
    let options = Options { sessions: Some(200_000), force: true, ..Options::default() };
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(200_000));
    group.bench_function("drill_200k_sessions", |b| {
        b.iter(|| generate::generate(&scenario, 7, &out, &options, &|_, _| {}).expect("generates"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots off: criterion's plotters backend needs system fonts this machine lacks.
    config = Criterion::default().without_plots();
    targets = simulate, simulate_product_day, generate_drill
}
criterion_main!(benches);
