//! Embeds every `scenarios/*.toml` into the binary (see `src/scenario/catalogue.rs`) and
//! every `products/*.toml` (see `src/product/mod.rs`).

use std::fmt::Write;

fn main() {
    embed("scenarios", "catalogue.rs");
    embed("products", "products.rs");
    embed("products/scenarios", "product_scenarios.rs");
    // A position-dependent executable on Linux: as a PIE, the 200 MB binary (polars) made
    // the loader apply 208,000 relocations and copy 3.9 MB of `.data.rel.ro` before `main`,
    // about 7 ms of every command's start (a B0 leaf table is read and localised in ~25).
    // The objects are still compiled position-independent; only the final link differs,
    // at the cost of address-space randomisation of the executable image.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}

fn embed(folder: &str, out_name: &str) {
    println!("cargo::rerun-if-changed={folder}");
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .expect("the embedded folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("[\n");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // Resolved against the crate that compiles this file, so several checkouts sharing
        // one target directory each embed their own scenarios.
        writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{folder}/{name}.toml\"))),"
        )
        .unwrap();
    }
    out.push(']');
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join(out_name);
    std::fs::write(dest, out).unwrap();
}
